package freeport

import (
	"fmt"
	"net"
	"testing"
)

// TestPickAvoidsEphemeralRange: a server restarted on its port must find
// it free, so the port must not come from the range every outgoing
// connection on the host draws its local port from.
func TestPickAvoidsEphemeralRange(t *testing.T) {
	low, ok := EphemeralLow()
	if !ok {
		t.Skip("no /proc/sys/net/ipv4/ip_local_port_range on this system")
	}
	if low-Min < 64*10 {
		t.Skipf("the ephemeral range starts at %d: no room below it", low)
	}
	ports, err := Pick(10)
	if err != nil {
		t.Fatal(err)
	}
	if len(ports) != 10 {
		t.Fatalf("got %d ports, want %d", len(ports), 10)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if p < Min || p >= low {
			t.Errorf("port %d outside [%d, %d)", p, Min, low)
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

// TestInSkipsTakenPorts: a port already bound in the range is
// drawn around, not returned, and a full range is an error.
func TestInSkipsTakenPorts(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	hp := held.Addr().(*net.TCPAddr).Port
	if _, err := In(1, hp, hp+1); err == nil {
		t.Errorf("a range holding only a bound port gave a port")
	}
	ports, err := In(3, hp, hp+64)
	if err != nil {
		t.Skipf("the ports after %d are busy on this host: %v", hp, err)
	}
	for _, p := range ports {
		if p == hp {
			t.Errorf("the bound port %d was returned", hp)
		}
	}
}
