package crawler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"
)

// watchdog cancels a download that receives nothing for idle, or fewer
// than minRate bytes per second over each window, so a site that trickles
// an archive cannot hold a worker for the whole archive time limit. Only
// time spent waiting in Read counts: a consumer busy with what it already
// got (hashing an archive's entries) is not the server's slowness.
type watchdog struct {
	r   io.Reader
	ctx context.Context
	n   atomic.Int64
	// waiting is when the Read in progress started (UnixNano, 0 if none);
	// waited sums the time spent in finished Reads.
	waiting, waited atomic.Int64
	stop            chan struct{}
}

// watch wraps r, whose reads are governed by ctx; cancel must cancel ctx.
func watch(ctx context.Context, cancel context.CancelCauseFunc, r io.Reader, idle time.Duration, minRate int64, window time.Duration) *watchdog {
	w := &watchdog{r: r, ctx: ctx, stop: make(chan struct{})}
	tick := max(min(idle, window)/4, 10*time.Millisecond)
	go func() {
		t := time.NewTicker(tick)
		defer t.Stop()
		var baseWait time.Duration
		var baseN int64
		for {
			select {
			case <-w.stop:
				return
			case <-ctx.Done():
				return
			case now := <-t.C:
				waited := time.Duration(w.waited.Load())
				if s := w.waiting.Load(); s != 0 {
					cur := now.Sub(time.Unix(0, s))
					if cur >= idle {
						cancel(fmt.Errorf("%w: nothing received for %s", ErrStalled, cur.Round(time.Millisecond)))
						return
					}
					waited += cur
				}
				if el := waited - baseWait; el >= window {
					got := w.n.Load() - baseN
					if want := int64(float64(minRate) * el.Seconds()); got < want {
						cancel(fmt.Errorf("%w: %d bytes in %s of waiting, minimum %d bytes/s", ErrTooSlow, got, el.Round(time.Millisecond), minRate))
						return
					}
					baseWait, baseN = waited, w.n.Load()
				}
			}
		}
	}()
	return w
}

func (w *watchdog) Read(p []byte) (int, error) {
	start := time.Now()
	w.waiting.Store(start.UnixNano())
	n, err := w.r.Read(p)
	w.waiting.Store(0)
	w.waited.Add(int64(time.Since(start)))
	w.n.Add(int64(n))
	if err != nil && !errors.Is(err, io.EOF) {
		if cause := context.Cause(w.ctx); errors.Is(cause, ErrStalled) || errors.Is(cause, ErrTooSlow) {
			err = cause
		}
	}
	return n, err
}

// Close stops the watchdog.
func (w *watchdog) Close() { close(w.stop) }
