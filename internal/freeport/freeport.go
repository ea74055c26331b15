package freeport

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
)

// Min is the lowest port Pick returns: above the usual service ports.
const Min = 10000

// Pick returns n distinct loopback ports that were free a moment ago, below
// the kernel's ephemeral range when it leaves room there, otherwise from the
// kernel's own choice.
func Pick(n int) ([]int, error) {
	if low, ok := EphemeralLow(); ok && low-Min >= 64*n {
		if ports, err := In(n, Min, low); err == nil {
			return ports, nil
		}
	}
	return In(n, 0, 0)
}

// In picks n distinct free loopback ports at random in [lo, hi), or from the
// kernel's choice (port 0) when hi is 0. All n are held until every one is
// picked, then released.
func In(n, lo, hi int) ([]int, error) {
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	ports := make([]int, 0, n)
	for tries := 0; len(ports) < n; tries++ {
		if tries == 64*n {
			return nil, fmt.Errorf("freeport: no free port in [%d, %d) after %d tries", lo, hi, tries)
		}
		p := 0
		if hi > 0 {
			p = lo + rand.IntN(hi-lo)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			if hi > 0 {
				continue // taken: draw another
			}
			return nil, fmt.Errorf("freeport: %w", err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// EphemeralLow returns the first port of Linux's ephemeral range, or false
// where the system does not say.
func EphemeralLow() (int, bool) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 0, false
	}
	low, err := strconv.Atoi(f[0])
	return low, err == nil
}
