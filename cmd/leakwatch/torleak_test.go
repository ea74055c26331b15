package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
)

// TestTorModeFailsClosed: with Tor's SOCKS port dead, a Tor-mode scan must
// fail and contact nothing: not the seed directly, not its DNS, not a proxy
// from the environment.
func TestTorModeFailsClosed(t *testing.T) {
	var direct, proxied atomic.Int64
	canary := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { direct.Add(1) }))
	defer canary.Close()
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { proxied.Add(1) }))
	defer proxy.Close()
	t.Setenv("HTTP_PROXY", proxy.URL)
	t.Setenv("HTTPS_PROXY", proxy.URL)
	t.Setenv("ALL_PROXY", proxy.URL)

	// A port that was just free: nothing listens there.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()

	dir := t.TempDir()
	bank := filepath.Join(dir, "bank.lwb")
	var out, errb bytes.Buffer
	e := env{stdout: &out, stderr: &errb, getenv: os.Getenv, readFile: os.ReadFile}
	// An empty but valid bank.
	if code := run(context.Background(), []string{"bank", "import", "--bank", bank, "--algo", "pdq", "-"}, e); code != 0 {
		t.Skipf("cannot build an empty bank (%d): %s", code, errb.String())
	}
	for _, seed := range []string{canary.URL + "/", "http://leakwatchtestxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.onion/"} {
		out.Reset()
		errb.Reset()
		code := run(context.Background(), []string{"scan", "--bank", bank, "--store", filepath.Join(dir, "lw.db"), "--tor", "socks5://" + dead, seed}, e)
		if code == 0 {
			t.Errorf("%s: Tor-mode scan with a dead SOCKS port exited 0; stderr: %s", seed, errb.String())
		}
		if !bytes.Contains(errb.Bytes(), []byte("SOCKS")) {
			t.Errorf("%s: error does not name the SOCKS port: %s", seed, errb.String())
		}
	}
	if direct.Load() != 0 || proxied.Load() != 0 {
		t.Fatalf("traffic left Tor: %d direct requests, %d via the environment proxy", direct.Load(), proxied.Load())
	}
}
