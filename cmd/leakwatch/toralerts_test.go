package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/leakwatch/leakwatch/internal/tor/sockstest"
)

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

	// Tor as a proxy that refuses every destination, as an exit would a
	// receiver on loopback.
	socks := sockstest.New(t, "", 0x05)
	_, _, stderr := fx.run(t, ctx, "scan", "--bank", fx.bank, "--store", storePath, "--tor", "socks5://"+socks.Addr(),
		"--webhook", recv.URL, "--alert-wait", "12s", fx.site)
	if n := hits.Load() - before; n != 0 {
		t.Errorf("%d alert requests reached the receiver outside Tor; stderr: %s", n, stderr)
	}
	host := strings.TrimPrefix(recv.URL, "http://")
	var asked []string
	for _, r := range socks.Requests() {
		asked = append(asked, net.JoinHostPort(r.Host, strconv.Itoa(int(r.Port))))
	}
	if !slices.Contains(asked, host) {
		t.Errorf("Tor was asked for %v, never for the receiver %s; stderr: %s", asked, host, stderr)
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
