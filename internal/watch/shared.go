package watch

import (
	"context"
	"errors"
	"os"
	"sync"
	"time"

	"github.com/leakwatch/leakwatch/fingerprint"
	"github.com/leakwatch/leakwatch/internal/lock"
	"github.com/leakwatch/leakwatch/internal/outbox"
)

// sharedLock lets the scheduled scan and the alert worker of one watcher
// share the store's flock: the first user takes it, the last one drops it.
// A second flock from the same process would conflict with the first, and
// the worker must be able to deliver while a scan runs.
type sharedLock struct {
	take func(ctx context.Context, wait time.Duration) (*lock.Lock, error)

	mu sync.Mutex
	n  int
	lk *lock.Lock
}

func (s *sharedLock) acquire(ctx context.Context, wait time.Duration) (release func(), err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n == 0 {
		lk, err := s.take(ctx, wait)
		if err != nil {
			return nil, err
		}
		s.lk = lk
	}
	s.n++
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.n--
			if s.n == 0 {
				_ = s.lk.Release()
				s.lk = nil
			}
		})
	}, nil
}

// lockedFlusher flushes the outbox only while holding the store lock, so
// the watcher never delivers at the same time as a separately started
// scan (which would send the same events twice). When the other run holds
// the lock, the flush is skipped: that run delivers, or the next poll does.
type lockedFlusher struct {
	d    *outbox.Dispatcher
	lock *sharedLock
}

var _ outbox.Flusher = (*lockedFlusher)(nil)

func (l *lockedFlusher) Flush(ctx context.Context) (outbox.Result, error) {
	due, err := l.d.HasDue(ctx)
	if err != nil || !due {
		return outbox.Result{}, err
	}
	release, err := l.lock.acquire(ctx, 0)
	if errors.Is(err, lock.ErrLocked) {
		return outbox.Result{}, nil
	}
	if err != nil {
		return outbox.Result{}, err
	}
	defer release()
	return l.d.Flush(ctx)
}

// bankFile is the bank, reloaded when its file changes.
type bankFile struct {
	path string
	bank *fingerprint.Bank
	info os.FileInfo
}

func loadBankFile(path string) (*bankFile, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	b, err := fingerprint.LoadBank(path)
	if err != nil {
		return nil, err
	}
	return &bankFile{path: path, bank: b, info: info}, nil
}

// current returns the bank, reloading it if the file was replaced or
// rewritten since the last load. On failure the previous bank is returned
// with the error, so a bad file never stops the watcher.
func (b *bankFile) current() (bank *fingerprint.Bank, changed bool, err error) {
	info, err := os.Stat(b.path)
	if err != nil {
		return b.bank, false, err
	}
	if os.SameFile(info, b.info) && info.Size() == b.info.Size() && info.ModTime().Equal(b.info.ModTime()) {
		return b.bank, false, nil
	}
	nb, err := fingerprint.LoadBank(b.path)
	if err != nil {
		return b.bank, false, err
	}
	b.bank, b.info = nb, info
	return nb, true, nil
}
