package privnet

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gofrs/flock"
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
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
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
			t0 := time.Now()
			if err := n.Stop(); err != nil {
				t.Errorf("Stop: %v", err)
			}
			t.Logf("warm=%v: Stop took %.2fs", wantWarm, time.Since(t0).Seconds())
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
		assertLoopbackSockets(t, n)
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

// Start must refuse, before starting any tor, a directory another network
// holds and a path torrcs could not hold unquoted.
func TestStartRefusesUnusableDir(t *testing.T) {
	if err := Available(); err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	held := flock.New(filepath.Join(dir, ".lock"))
	if ok, err := held.TryLock(); !ok || err != nil {
		t.Fatalf("lock: %v %v", ok, err)
	}
	defer held.Unlock()
	if n, err := Start(t.Context(), dir); err == nil || !strings.Contains(err.Error(), "in use") {
		if n != nil {
			n.Stop()
		}
		t.Fatalf("busy dir: err = %v, want 'in use'", err)
	}
	if n, err := Start(t.Context(), filepath.Join(t.TempDir(), "bad dir")); err == nil {
		n.Stop()
		t.Fatal("a directory with a space was accepted")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("refused Start wrote into the directory: %v", entries)
	}
}

// assertLoopbackSockets checks, from /proc, that every TCP and UDP socket
// held by the network's tor processes has loopback (or unbound) addresses
// at both ends: the network rule, observed rather than configured.
func assertLoopbackSockets(t *testing.T, n *Network) {
	t.Helper()
	n.mu.Lock()
	procs := append([]*proc(nil), n.procs...)
	for _, o := range n.onions {
		procs = append(procs, o.proc)
	}
	n.mu.Unlock()
	owner := map[string]string{} // socket inode -> nick
	for _, p := range procs {
		fds := fmt.Sprintf("/proc/%d/fd", p.cmd.Process.Pid)
		entries, err := os.ReadDir(fds)
		if err != nil {
			t.Fatalf("%s: %v", p.nick, err)
		}
		for _, e := range entries {
			link, err := os.Readlink(filepath.Join(fds, e.Name()))
			if inode, ok := strings.CutPrefix(link, "socket:["); err == nil && ok {
				owner[strings.TrimSuffix(inode, "]")] = p.nick
			}
		}
	}
	seen := 0
	for _, table := range []string{"tcp", "tcp6", "udp", "udp6"} {
		b, err := os.ReadFile("/proc/net/" + table)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 10 {
				continue
			}
			nick, ours := owner[f[9]]
			if !ours {
				continue
			}
			seen++
			for _, end := range f[1:3] {
				if ip := procNetIP(t, end); !ip.IsLoopback() && !ip.IsUnspecified() {
					t.Errorf("%s: %s socket %s -> %s leaves 127.0.0.0/8", nick, table, procNetIP(t, f[1]), procNetIP(t, f[2]))
				}
			}
			if strings.HasPrefix(table, "udp") {
				t.Errorf("%s: unexpected UDP socket %s", nick, procNetIP(t, f[1]))
			}
		}
	}
	if seen == 0 {
		t.Error("found no sockets at all: the check is not looking at the right processes")
	}
}

// procNetIP decodes an address from /proc/net/{tcp,udp}[6]: hex, each
// 32-bit word in host (little-endian) byte order, then ":port".
func procNetIP(t *testing.T, s string) netip.Addr {
	t.Helper()
	h, _, _ := strings.Cut(s, ":")
	raw, err := hex.DecodeString(h)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		t.Fatalf("bad /proc/net address %q", s)
	}
	for i := 0; i < len(raw); i += 4 {
		raw[i], raw[i+1], raw[i+2], raw[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
	}
	ip, _ := netip.AddrFromSlice(raw)
	return ip.Unmap()
}

// TestStartRetriesTakenPort: when tor cannot bind a port it was given
// (another process took it after it was picked), Start picks new ports and
// tries again. The first tor started here is a stand-in that fails the way
// tor does; every later one is the real tor.
func TestStartRetriesTakenPort(t *testing.T) {
	requireTor(t)
	realTor, err := exec.LookPath("tor")
	if err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	marker := filepath.Join(dir, "failed-once")
	fake := filepath.Join(dir, "tor")
	script := "#!/bin/sh\nif [ ! -e " + marker + " ]; then\n  touch " + marker + "\n" +
		"  echo '[warn] Could not bind to 127.0.0.1:5000: Address already in use. Is Tor already running?'\n" +
		"  echo '[err] Failed to bind one of the listener ports.'\n  exit 1\nfi\nexec " + realTor + " \"$@\"\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	n, err := Start(ctx, filepath.Join(dir, "net"), WithBinaries(fake, "tor-gencert"))
	if err != nil {
		t.Fatalf("Start after a taken port: %v", err)
	}
	defer n.Stop()
	if _, err := os.Stat(marker); err != nil {
		t.Fatal("the failing stand-in was never started: the retry was not exercised")
	}
	if n.SOCKSAddr == "" {
		t.Error("no SOCKS address after the retry")
	}
}
