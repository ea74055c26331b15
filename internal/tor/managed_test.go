package tor

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Without a torrc nothing may be started: a tor without our torrc would join
// whatever network its defaults say.
func TestManagedRequiresTorrc(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "started")
	fakeTor := filepath.Join(dir, "tor")
	if err := os.WriteFile(fakeTor, []byte("#!/bin/sh\ntouch '"+marker+"'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		torrc   string
		wantErr string
	}{
		{"empty", "", "needs a torrc"},
		{"missing file", filepath.Join(dir, "nope.torrc"), "no such file"},
		{"directory", dir, "not a regular file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Start(t.Context(), Config{Mode: ModeManaged, TorPath: fakeTor, TorrcFile: tt.torrc, DataDir: filepath.Join(dir, "data")})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want containing %q", err, tt.wantErr)
			}
			if _, err := os.Stat(marker); err == nil {
				t.Fatal("tor was started without a usable torrc")
			}
		})
	}
}

func TestManagedTorNotFound(t *testing.T) {
	dir := t.TempDir()
	torrc := filepath.Join(dir, "torrc")
	os.WriteFile(torrc, []byte("DisableNetwork 1\n"), 0o600)
	_, err := Start(t.Context(), Config{Mode: ModeManaged, TorPath: filepath.Join(dir, "no-tor"), TorrcFile: torrc, DataDir: dir})
	if !errors.Is(err, ErrTorUnavailable) || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("err = %v, want ErrTorUnavailable / not found", err)
	}
}

// A real tor whose only authority is a placeholder on 127.0.0.1:1 can never
// bootstrap (and can only ever try 127.0.0.1:1): Start must time out with
// the reason tor reports, and stop the process.
func TestManagedBootstrapTimeout(t *testing.T) {
	torPath := requireTor(t)
	dir := t.TempDir()
	torrc := filepath.Join(dir, "torrc")
	conf := "TestingTorNetwork 1\nUseDefaultFallbackDirs 0\n" +
		"DirAuthority placeholder orport=1 no-v2 v3ident=0000000000000000000000000000000000000000 127.0.0.1:1 0000000000000000000000000000000000000000\n" +
		"GeoIPFile /dev/null\nGeoIPv6File /dev/null\nClientUseIPv6 0\n"
	if err := os.WriteFile(torrc, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	dataDir := filepath.Join(dir, "data")
	_, err := Start(t.Context(), Config{Mode: ModeManaged, TorPath: torPath, TorrcFile: torrc, DataDir: dataDir, BootstrapTimeout: 3 * time.Second})
	t.Logf("error: %v", err)
	if !errors.Is(err, ErrTorUnavailable) || !strings.Contains(err.Error(), "did not finish bootstrapping") {
		t.Fatalf("err = %v, want a bootstrap timeout", err)
	}
	if fi, err := os.Stat(dataDir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("data dir: %v, mode %v; want 0700", err, fi.Mode().Perm())
	}
	// The process must be gone: a second tor can take the data directory.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && torRunningIn(dataDir) {
		time.Sleep(100 * time.Millisecond)
	}
	if torRunningIn(dataDir) {
		t.Fatal("managed tor still running after a failed Start")
	}
}

func requireTor(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("starts tor; skipped with -short")
	}
	p, err := exec.LookPath("tor")
	if err != nil {
		t.Skip("tor not installed")
	}
	return p
}

// torRunningIn reports whether a process has dir on its command line. It
// only reads /proc; it never signals anything.
func torRunningIn(dir string) bool {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(b), dir) {
			return true
		}
	}
	return false
}
