package privnet

import (
	"fmt"
	"net"
	"testing"
)

// TestFreePortsAvoidEphemeralRange: the authorities' ports are saved for a
// warm restart, so they must not come from the range every outgoing
// connection on the host draws its local port from.
func TestFreePortsAvoidEphemeralRange(t *testing.T) {
	low, ok := ephemeralLow()
	if !ok {
		t.Skip("no /proc/sys/net/ipv4/ip_local_port_range on this system")
	}
	if low-minPort < 64*2*numAuthorities {
		t.Skipf("the ephemeral range starts at %d: no room below it", low)
	}
	ports, err := freePorts(2 * numAuthorities)
	if err != nil {
		t.Fatal(err)
	}
	if len(ports) != 2*numAuthorities {
		t.Fatalf("got %d ports, want %d", len(ports), 2*numAuthorities)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if p < minPort || p >= low {
			t.Errorf("port %d outside [%d, %d)", p, minPort, low)
		}
		if seen[p] {
			t.Errorf("port %d picked twice", p)
		}
		seen[p] = true
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			t.Errorf("port %d was released but cannot be bound: %v", p, err)
			continue
		}
		ln.Close()
	}
}

// TestFreePortsInSkipsTakenPorts: a port already bound in the range is
// drawn around, not returned, and a full range is an error.
func TestFreePortsInSkipsTakenPorts(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	hp := held.Addr().(*net.TCPAddr).Port
	if _, err := freePortsIn(1, hp, hp+1); err == nil {
		t.Errorf("a range holding only a bound port gave a port")
	}
	ports, err := freePortsIn(3, hp, hp+64)
	if err != nil {
		t.Skipf("the ports after %d are busy on this host: %v", hp, err)
	}
	for _, p := range ports {
		if p == hp {
			t.Errorf("the bound port %d was returned", hp)
		}
	}
}
