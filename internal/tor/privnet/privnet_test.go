package privnet

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/proxy"
)

func requireTor(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a private Tor network; skipped with -short")
	}
	if err := Available(); err != nil {
		t.Skip(err)
	}
}

// fetchOnion GETs http://host/ through the network's SOCKS port.
func fetchOnion(ctx context.Context, socksAddr, host string) (string, error) {
	d, err := proxy.SOCKS5("tcp", socksAddr, nil, proxy.Direct)
	if err != nil {
		return "", err
	}
	hc := &http.Client{Transport: &http.Transport{Proxy: nil, DialContext: d.(proxy.ContextDialer).DialContext}}
	defer hc.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+host+"/", nil)
	if err != nil {
		return "", err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// TestNetworkColdAndWarm starts a network from nothing, serves and fetches an
// onion, checks every torrc it wrote, then restarts it warm from the same
// directory and expects the same onion address.
func TestNetworkColdAndWarm(t *testing.T) {
	requireTor(t)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	dir := t.TempDir()
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello from the private onion")
	})

	run := func(wantWarm bool) (host string) {
		t0 := time.Now()
		n, err := Start(ctx, dir, WithLogger(logger))
		if err != nil {
			t.Fatalf("Start: %v", err)
		}
		defer func() {
			if err := n.Stop(); err != nil {
				t.Errorf("Stop: %v", err)
			}
		}()
		started := time.Since(t0)
		if n.Warm != wantWarm {
			t.Errorf("Warm = %v, want %v", n.Warm, wantWarm)
		}
		if !strings.HasPrefix(n.SOCKSAddr, "127.0.0.1:") || !strings.HasPrefix(n.ControlAddr, "127.0.0.1:") {
			t.Errorf("SOCKSAddr %q / ControlAddr %q not on loopback", n.SOCKSAddr, n.ControlAddr)
		}
		if len(n.DirAuthorities) != numAuthorities {
			t.Errorf("%d DirAuthority lines", len(n.DirAuthorities))
		}
		host, _, err = n.ServeOnion(ctx, handler)
		if err != nil {
			t.Fatalf("ServeOnion: %v", err)
		}
		published := time.Since(t0)
		if !strings.HasSuffix(host, ".onion") || len(host) != 56+len(".onion") {
			t.Errorf("onion host %q is not a v3 address", host)
		}
		t1 := time.Now()
		body, err := fetchOnion(ctx, n.SOCKSAddr, host)
		if err != nil || body != "hello from the private onion" {
			t.Fatalf("fetch %s: %q, %v", host, body, err)
		}
		if err := n.ClientTorrc(filepath.Join(dir, "bine-client.torrc")); err != nil {
			t.Fatal(err)
		}
		files, _ := filepath.Glob(filepath.Join(dir, "*.torrc"))
		if len(files) < numAuthorities+3 {
			t.Errorf("only %d torrcs in %s", len(files), dir)
		}
		for _, f := range files {
			assertPrivateTorrc(t, f)
		}
		t.Logf("warm=%v: network up %.1fs, onion reachable %.1fs, first fetch %.2fs",
			wantWarm, started.Seconds(), published.Seconds(), time.Since(t1).Seconds())
		return host
	}

	cold := run(false)
	warm := run(true)
	if cold != warm {
		t.Errorf("onion address changed across a warm restart: %s -> %s", cold, warm)
	}
}

func TestStartRefusesBusyDir(t *testing.T) {
	requireTor(t)
	dir := t.TempDir()
	// Hold the lock as a running network would.
	n := &Network{}
	_ = n
	other, err := Start(t.Context(), filepath.Join(dir, "bad dir"))
	if err == nil {
		other.Stop()
		t.Fatal("a directory with a space was accepted")
	}
}
