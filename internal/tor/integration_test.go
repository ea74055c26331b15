package tor

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha3"
	"encoding/base32"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leakwatch/leakwatch/internal/tor/privnet"
)

const onionBody = "leakwatch private onion"

// shared is the one private Tor network of this package's test run, started
// by the first integration test that needs it and stopped by TestMain.
var shared struct {
	once  sync.Once
	dir   string
	net   *privnet.Network
	onion string
	err   error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.net != nil {
		shared.net.Stop()
	}
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// privateNetwork returns the shared network and its onion host.
func privateNetwork(t *testing.T) (*privnet.Network, string) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a private Tor network; skipped with -short")
	}
	if err := privnet.Available(); err != nil {
		t.Skip(err)
	}
	shared.once.Do(func() {
		if shared.dir, shared.err = os.MkdirTemp("", "leakwatch-privnet-"); shared.err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
		defer cancel()
		t0 := time.Now()
		if shared.net, shared.err = privnet.Start(ctx, shared.dir); shared.err != nil {
			return
		}
		up := time.Since(t0)
		shared.onion, _, shared.err = shared.net.ServeOnion(ctx, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, onionBody)
		}))
		t.Logf("private network: up in %.1fs (warm=%v), onion reachable after %.1fs", up.Seconds(), shared.net.Warm, time.Since(t0).Seconds())
	})
	if shared.err != nil {
		t.Fatalf("private network: %v", shared.err)
	}
	return shared.net, shared.onion
}

func fetchBody(t *testing.T, c *Client, url string) (string, error) {
	t.Helper()
	hc := &http.Client{Transport: c.Transport(), CheckRedirect: CheckRedirect(c.Mode(), nil), Timeout: 90 * time.Second}
	resp, err := hc.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func TestIntegrationSOCKSMode(t *testing.T) {
	n, onion := privateNetwork(t)
	var progress bytes.Buffer
	c, err := Start(t.Context(), Config{
		Mode: ModeSOCKS, SOCKSAddr: n.SOCKSAddr,
		ControlAddr: n.ControlAddr, ControlCookie: n.ControlCookie,
		Progress: &progress,
	})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer c.Close()
	if err := c.Check(t.Context()); err != nil {
		t.Fatalf("Check: %v", err)
	}
	if !strings.Contains(progress.String(), "bootstrapped 100%") {
		t.Errorf("progress %q", progress.String())
	}

	t0 := time.Now()
	body, err := fetchBody(t, c, "http://"+onion+"/")
	if err != nil || body != onionBody {
		t.Fatalf("GET onion = %q, %v", body, err)
	}
	t.Logf("socks5 mode: onion fetch %.2fs", time.Since(t0).Seconds())

	// A retry on a new circuit (new credentials, NEWNYM) still works.
	c.NewCircuit(t.Context(), onion)
	t0 = time.Now()
	if body, err := fetchBody(t, c, "http://"+onion+"/again"); err != nil || body != onionBody {
		t.Fatalf("GET after NewCircuit = %q, %v", body, err)
	}
	t.Logf("socks5 mode: fetch on a new circuit %.2fs", time.Since(t0).Seconds())

	// Clearnet through Tor: a loopback server reached via the loopback-only exits.
	clear := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "clearnet via exit") }))
	defer clear.Close()
	if body, err := fetchBody(t, c, clear.URL); err != nil || body != "clearnet via exit" {
		t.Errorf("GET clearnet through Tor = %q, %v", body, err)
	}

	// tor's extended SOCKS errors reach the caller as SOCKSError.
	t.Run("unknown onion", func(t *testing.T) {
		_, err := fetchBody(t, c, "http://"+unpublishedOnion(t)+"/")
		se, ok := errors.AsType[*SOCKSError](err)
		if !ok || se.Code != socksOnionDescNotFound || !RetryableError(err) {
			t.Fatalf("err = %v, want retryable SOCKSError 0xF0", err)
		}
	})
	t.Run("malformed onion", func(t *testing.T) {
		_, err := fetchBody(t, c, "http://"+strings.Repeat("a", 56)+".onion/")
		se, ok := errors.AsType[*SOCKSError](err)
		if !ok || se.Code != socksOnionBadAddress || RetryableError(err) {
			t.Fatalf("err = %v, want permanent SOCKSError 0xF6", err)
		}
	})
}

func TestIntegrationManagedMode(t *testing.T) {
	n, onion := privateNetwork(t)
	dir := t.TempDir()
	torrc := filepath.Join(dir, "client.torrc")
	if err := n.ClientTorrc(torrc); err != nil {
		t.Fatal(err)
	}
	var progress bytes.Buffer
	t0 := time.Now()
	c, err := Start(t.Context(), Config{
		Mode: ModeManaged, TorrcFile: torrc, DataDir: filepath.Join(dir, "data"),
		BootstrapTimeout: 2 * time.Minute, Progress: &progress,
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatalf("Start managed: %v", err)
	}
	started := time.Since(t0)
	defer c.Close()
	if !strings.Contains(progress.String(), "tor: bootstrapped 100% (done)") {
		t.Errorf("progress %q", progress.String())
	}
	if err := c.Check(t.Context()); err != nil {
		t.Fatalf("Check: %v", err)
	}
	t1 := time.Now()
	body, err := fetchBody(t, c, "http://"+onion+"/")
	if err != nil || body != onionBody {
		t.Fatalf("GET onion via managed tor = %q, %v", body, err)
	}
	t.Logf("managed mode: start+bootstrap %.1fs, onion fetch %.2fs", started.Seconds(), time.Since(t1).Seconds())

	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && torRunningIn(filepath.Join(dir, "data")) {
		time.Sleep(100 * time.Millisecond)
	}
	if torRunningIn(filepath.Join(dir, "data")) {
		t.Error("managed tor still running after Close")
	}
	if _, err := fetchBody(t, c, "http://"+onion+"/"); !errors.Is(err, ErrTorUnavailable) {
		t.Errorf("after Close: err = %v, want ErrTorUnavailable", err)
	}
}

// unpublishedOnion returns a well-formed v3 address nobody publishes:
// base32(pubkey | checksum | version), checksum = SHA3-256(".onion checksum"
// | pubkey | version)[:2], version 3.
func unpublishedOnion(t *testing.T) string {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	h := sha3.New256()
	h.Write([]byte(".onion checksum"))
	h.Write(pub)
	h.Write([]byte{3})
	raw := append(append([]byte(pub), h.Sum(nil)[:2]...), 3)
	return strings.ToLower(base32.StdEncoding.EncodeToString(raw)) + ".onion"
}
