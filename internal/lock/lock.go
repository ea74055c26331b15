package lock

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gofrs/flock"
)

// ErrLocked reports that another process holds the lock.
var ErrLocked = errors.New("another leakwatch run holds the lock")

// Lock is a held lock.
type Lock struct {
	fl *flock.Flock
}

// Holder describes the process recorded in a lock file.
type Holder struct {
	PID     int
	Host    string
	Started time.Time
	Alive   bool
}

func (h Holder) String() string {
	if h.PID == 0 {
		return "unknown process"
	}
	s := fmt.Sprintf("pid %d on %s since %s", h.PID, h.Host, h.Started.Format(time.RFC3339))
	if !h.Alive {
		s += " (not running: leftover record)"
	}
	return s
}

// Acquire takes the lock at path, waiting up to wait (0 = try once). On
// failure the error wraps ErrLocked and names the holder.
func Acquire(ctx context.Context, path string, wait time.Duration) (*Lock, error) {
	fl := flock.New(path)
	deadline := time.Now().Add(wait)
	for {
		ok, err := fl.TryLock()
		if err != nil {
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if ok {
			host, _ := os.Hostname()
			rec := fmt.Sprintf("%d\n%s\n%s\n", os.Getpid(), host, time.Now().UTC().Format(time.RFC3339))
			// The record is best effort: the flock is what excludes.
			if f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0o600); err == nil {
				_, _ = f.WriteString(rec)
				f.Close()
			}
			return &Lock{fl: fl}, nil
		}
		if wait <= 0 || time.Now().After(deadline) {
			return nil, fmt.Errorf("%w (%s; lock file %s)", ErrLocked, ReadHolder(path), path)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Release drops the lock.
func (l *Lock) Release() error {
	if l == nil || l.fl == nil {
		return nil
	}
	return l.fl.Unlock()
}

// ReadHolder reads the record in a lock file.
func ReadHolder(path string) Holder {
	b, err := os.ReadFile(path)
	if err != nil {
		return Holder{}
	}
	f := strings.Split(strings.TrimSpace(string(b)), "\n")
	var h Holder
	if len(f) >= 1 {
		h.PID, _ = strconv.Atoi(f[0])
	}
	if len(f) >= 2 {
		h.Host = f[1]
	}
	if len(f) >= 3 {
		h.Started, _ = time.Parse(time.RFC3339, f[2])
	}
	if h.PID > 0 {
		h.Alive = syscall.Kill(h.PID, 0) == nil || errors.Is(syscall.Kill(h.PID, 0), syscall.EPERM)
	}
	return h
}
