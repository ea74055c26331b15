package scan

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/leakwatch/leakwatch/internal/lock"
)

func TestSourceOf(t *testing.T) {
	tests := []struct {
		ref          string
		site, byPage string
	}{
		{"http://dump.example/thread/7/", "http://dump.example", "http://dump.example/thread/7/"},
		{"http://dump.example:80/thread/7/", "http://dump.example", "http://dump.example/thread/7/"},
		{"HTTPS://Dump.Example.:443/a", "https://dump.example", "https://dump.example/a"},
		{"https://dump.example:8443/a#top", "https://dump.example:8443", "https://dump.example:8443/a"},
		{"http://dump.example:443/", "http://dump.example:443", "http://dump.example:443/"},
		{"http://[::1]:80/x", "http://[::1]", "http://[::1]/x"},
		{"http://forum.example/viewtopic.php?t=2&sid=0123abcd#p9", "http://forum.example", "http://forum.example/viewtopic.php"},
		{"http://user:pw@xyz.onion/a%2Fb?q=%zz", "http://xyz.onion", "http://xyz.onion/a%2Fb"},
	}
	for _, tt := range tests {
		if got := sourceOf(tt.ref, false); got != tt.site {
			t.Errorf("site of %s = %s, want %s", tt.ref, got, tt.site)
		}
		if got := sourceOf(tt.ref, true); got != tt.byPage {
			t.Errorf("page of %s = %s, want %s", tt.ref, got, tt.byPage)
		}
	}
	// One page crawled twice with a new session ID is one source.
	a, b := "http://forum.example/viewtopic.php?t=1&sid=aaaa", "http://forum.example/viewtopic.php?t=1&sid=bbbb"
	if sourceOf(a, true) != sourceOf(b, true) {
		t.Errorf("one page, two session IDs: %s and %s", sourceOf(a, true), sourceOf(b, true))
	}
}

// One SQLite store written two ways (PATH and sqlite:PATH) has one run
// lock: a cron scan and a watcher must exclude each other either way.
func TestRunLockOneFileTwoSpellings(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "lw.db")
	held, err := RunLock(ctx, path, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()
	if l, err := RunLock(ctx, "sqlite:"+path, 0); !errors.Is(err, lock.ErrLocked) {
		if l != nil {
			l.Release()
		}
		t.Fatalf("sqlite:%s took the lock beside %s: %v", path, path, err)
	}
}

func TestStoreBackoff(t *testing.T) {
	for n, want := range map[int64]time.Duration{0: time.Second, 1: time.Second, 2: 2 * time.Second, 5: 16 * time.Second, 7: time.Minute, 60: time.Minute} {
		if got := storeBackoff(n); got != want {
			t.Errorf("storeBackoff(%d) = %v, want %v", n, got, want)
		}
	}
}
