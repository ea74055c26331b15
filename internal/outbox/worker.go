package outbox

import (
	"context"
	"time"
)

// Worker runs a Dispatcher continuously: it flushes as soon as it is kicked
// (a new event was recorded), and otherwise every Poll interval so retries
// come due. Alert latency from match to first attempt is therefore one
// store round trip, not a polling period.
type Worker struct {
	D    Flusher
	Poll time.Duration
	kick chan struct{}
}

// NewWorker returns a worker for d polling every poll (default 1 s).
func NewWorker(d Flusher, poll time.Duration) *Worker {
	if poll <= 0 {
		poll = time.Second
	}
	return &Worker{D: d, Poll: poll, kick: make(chan struct{}, 1)}
}

// Kick asks for a flush now. It never blocks.
func (w *Worker) Kick() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// Run flushes until ctx ends, accumulating results into total (if not nil)
// after each flush via the report callback.
func (w *Worker) Run(ctx context.Context, report func(Result, error)) {
	t := time.NewTicker(w.Poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.kick:
		case <-t.C:
		}
		r, err := w.D.Flush(ctx)
		if report != nil && (r != (Result{}) || err != nil) {
			report(r, err)
		}
	}
}
