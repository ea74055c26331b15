package outbox

import (
	"context"
	"sync"
	"time"
)

// Worker runs a Dispatcher continuously: it flushes as soon as it is kicked
// (a new event was recorded), and otherwise every Poll interval so retries
// come due. Alert latency from match to first attempt is therefore one
// store round trip, not a polling period. A Flusher with Lanes (a
// Dispatcher) gets one loop per endpoint, so an endpoint that hangs holds
// up only its own loop.
type Worker struct {
	D     Flusher
	Poll  time.Duration
	mu    sync.Mutex
	kicks []chan struct{}

	stopOnce sync.Once
	stop     chan struct{}
}

// Laned is a Flusher that can be split into independent per-endpoint
// flushers.
type Laned interface {
	Flusher
	Lanes() []Flusher
}

// NewWorker returns a worker for d polling every poll (default 1 s).
func NewWorker(d Flusher, poll time.Duration) *Worker {
	if poll <= 0 {
		poll = time.Second
	}
	return &Worker{D: d, Poll: poll, stop: make(chan struct{})}
}

// Stop ends Run after the flush in progress, if any, has finished: unlike
// cancelling Run's context it never cuts a delivery short (which would be
// reported as a failure and sent again).
func (w *Worker) Stop() { w.stopOnce.Do(func() { close(w.stop) }) }

// Kick asks for a flush now. It never blocks.
func (w *Worker) Kick() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, k := range w.kicks {
		select {
		case k <- struct{}{}:
		default:
		}
	}
}

// Run flushes until ctx ends or Stop is called, passing each flush's
// result to report (if not nil); report is never called concurrently.
func (w *Worker) Run(ctx context.Context, report func(Result, error)) {
	lanes := []Flusher{w.D}
	if l, ok := w.D.(Laned); ok {
		lanes = l.Lanes()
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, f := range lanes {
		kick := make(chan struct{}, 1)
		w.mu.Lock()
		w.kicks = append(w.kicks, kick)
		w.mu.Unlock()
		// A kick that came before Run is not lost: each loop starts with a
		// flush.
		kick <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.loop(ctx, f, kick, func(r Result, err error) {
				if report == nil {
					return
				}
				mu.Lock()
				defer mu.Unlock()
				report(r, err)
			})
		}()
	}
	wg.Wait()
}

func (w *Worker) loop(ctx context.Context, f Flusher, kick <-chan struct{}, report func(Result, error)) {
	t := time.NewTicker(w.Poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.stop:
			// A kick that came while the lane was busy is flushed once
			// more before the lane stops (select picks at random among
			// ready cases): the run's last alerts must not be left to the
			// final delivery pass, for which a hanging endpoint's lane
			// may have left no time.
			select {
			case <-kick:
				if r, err := f.Flush(ctx); r != (Result{}) || err != nil {
					report(r, err)
				}
			default:
			}
			return
		case <-kick:
		case <-t.C:
		}
		r, err := f.Flush(ctx)
		if r != (Result{}) || err != nil {
			report(r, err)
		}
	}
}
