package main

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// socksRecorder is a SOCKS5 proxy on loopback that notes the destination
// of every CONNECT and refuses it (connection refused), as tor would for a
// destination no exit can reach.
type socksRecorder struct {
	ln   net.Listener
	mu   sync.Mutex
	dest []string
}

func newSOCKSRecorder(t *testing.T) *socksRecorder {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &socksRecorder{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.handle(c)
		}
	}()
	return s
}

func (s *socksRecorder) targets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.dest)
}

func (s *socksRecorder) handle(c net.Conn) {
	defer c.Close()
	var hdr [2]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil || hdr[0] != 5 {
		return
	}
	methods := make([]byte, hdr[1])
	if _, err := io.ReadFull(c, methods); err != nil {
		return
	}
	if slices.Contains(methods, 2) { // username and password: tor's stream isolation
		c.Write([]byte{5, 2})
		var v [2]byte
		if _, err := io.ReadFull(c, v[:]); err != nil || v[0] != 1 {
			return
		}
		user := make([]byte, v[1])
		var pl [1]byte
		if _, err := io.ReadFull(c, user); err != nil {
			return
		}
		if _, err := io.ReadFull(c, pl[:]); err != nil {
			return
		}
		if _, err := io.ReadFull(c, make([]byte, pl[0])); err != nil {
			return
		}
		c.Write([]byte{1, 0})
	} else {
		c.Write([]byte{5, 0})
	}
	var req [4]byte
	if _, err := io.ReadFull(c, req[:]); err != nil { // a probe ends here
		return
	}
	var host string
	switch req[3] {
	case 1, 4:
		b := make([]byte, map[byte]int{1: 4, 4: 16}[req[3]])
		if _, err := io.ReadFull(c, b); err != nil {
			return
		}
		a, _ := netip.AddrFromSlice(b)
		host = a.String()
	case 3:
		var l [1]byte
		if _, err := io.ReadFull(c, l[:]); err != nil {
			return
		}
		b := make([]byte, l[0])
		if _, err := io.ReadFull(c, b); err != nil {
			return
		}
		host = string(b)
	default:
		return
	}
	var pb [2]byte
	if _, err := io.ReadFull(c, pb[:]); err != nil {
		return
	}
	s.mu.Lock()
	s.dest = append(s.dest, net.JoinHostPort(host, strconv.Itoa(int(binary.BigEndian.Uint16(pb[:])))))
	s.mu.Unlock()
	c.Write([]byte{5, 5, 0, 1, 0, 0, 0, 0, 0, 0}) // connection refused
}

// TestTorModeAlertsGoThroughTor: alerts that a clearnet run could not
// deliver go out with the next run, which is in Tor mode: through Tor's
// SOCKS port, never straight to the receiver, which is reachable directly.
func TestTorModeAlertsGoThroughTor(t *testing.T) {
	fx := newOpsFixture(t, 0)
	var hits atomic.Int64
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer recv.Close()
	storePath := filepath.Join(fx.dir, "lw.db")
	ctx := context.Background()
	if code, _, stderr := fx.run(t, ctx, "scan", "--bank", fx.bank, "--store", storePath,
		"--webhook", recv.URL, "--alert-wait", "1s", fx.site); code != exitOK {
		t.Fatalf("clearnet scan: exit %d: %s", code, stderr)
	}
	before := hits.Load()
	if before == 0 {
		t.Fatal("the clearnet run sent no alert: nothing is left to deliver")
	}

	socks := newSOCKSRecorder(t)
	_, _, stderr := fx.run(t, ctx, "scan", "--bank", fx.bank, "--store", storePath, "--tor", "socks5://"+socks.ln.Addr().String(),
		"--webhook", recv.URL, "--alert-wait", "12s", fx.site)
	if n := hits.Load() - before; n != 0 {
		t.Errorf("%d alert requests reached the receiver outside Tor; stderr: %s", n, stderr)
	}
	host := strings.TrimPrefix(recv.URL, "http://")
	if !slices.Contains(socks.targets(), host) {
		t.Errorf("Tor was asked for %v, never for the receiver %s; stderr: %s", socks.targets(), host, stderr)
	}
}

func TestTorAlertsPerMode(t *testing.T) {
	for _, tc := range []struct {
		mode    string
		pending bool
	}{
		{"off", false},
		{"OFF", false},
		{"socks5://127.0.0.1:9050", true},
		{"managed", true},
		{"socks4://127.0.0.1:9050", true}, // does not parse: refuse until the run fails
		{"", true},
	} {
		if got := torAlerts(tc.mode) != nil; got != tc.pending {
			t.Errorf("torAlerts(%q) pending = %v, want %v", tc.mode, got, tc.pending)
		}
	}
}
