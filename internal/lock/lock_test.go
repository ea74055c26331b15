package lock

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLockExcludesAndReleases(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "lw.lock")
	l1, err := Acquire(ctx, path, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Acquire(ctx, path, 300*time.Millisecond)
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second acquire: %v", err)
	}
	if !strings.Contains(err.Error(), "pid ") {
		t.Errorf("error does not name the holder: %v", err)
	}
	if err := l1.Release(); err != nil {
		t.Fatal(err)
	}
	l2, err := Acquire(ctx, path, 0)
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	l2.Release()
}

// A holder killed with SIGKILL leaves its record behind but not its lock.
func TestLockSurvivesKilledHolder(t *testing.T) {
	if os.Getenv("LEAKWATCH_LOCK_CHILD") != "" {
		l, err := Acquire(context.Background(), os.Getenv("LEAKWATCH_LOCK_CHILD"), 0)
		if err != nil {
			os.Exit(3)
		}
		_ = l
		os.Stdout.WriteString("locked\n")
		time.Sleep(time.Minute)
		return
	}
	path := filepath.Join(t.TempDir(), "lw.lock")
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockSurvivesKilledHolder$")
	cmd.Env = append(os.Environ(), "LEAKWATCH_LOCK_CHILD="+path)
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 7)
	if _, err := out.Read(buf); err != nil || string(buf[:6]) != "locked" {
		t.Fatalf("child did not lock: %q %v", buf, err)
	}
	if _, err := Acquire(context.Background(), path, 0); !errors.Is(err, ErrLocked) {
		t.Fatalf("lock not held by child: %v", err)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	l, err := Acquire(context.Background(), path, 2*time.Second)
	if err != nil {
		t.Fatalf("lock stale after SIGKILL: %v", err)
	}
	l.Release()
	if h := ReadHolder(path); h.PID != os.Getpid() {
		t.Errorf("record %+v not rewritten by the new holder", h)
	}
}
