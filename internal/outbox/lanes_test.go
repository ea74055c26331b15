package outbox

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leakwatch/leakwatch/alerts"
)

// hangingNotifier accepts every attempt and never answers: it returns only
// when the attempt's context ends.
type hangingNotifier struct{ started atomic.Int64 }

func (h *hangingNotifier) Notify(ctx context.Context, _ alerts.Event) error {
	h.started.Add(1)
	<-ctx.Done()
	return &alerts.RetryableError{Err: ctx.Err()}
}

func (h *hangingNotifier) Name() string { return "hanging" }

// TestHangingEndpointDoesNotDelayOthers: while one endpoint holds its
// attempt open (for an hour, as far as the dispatcher knows), the other
// endpoint receives every event as it is recorded.
func TestHangingEndpointDoesNotDelayOthers(t *testing.T) {
	s := openStore(t, nil)
	hang, ok := &hangingNotifier{}, &fakeNotifier{}
	d := &Dispatcher{Store: s, Notifiers: map[string]alerts.Notifier{"webhook:a-hang": hang, "webhook:b-ok": ok}, Timeout: time.Hour, Initial: time.Hour}
	w := NewWorker(d, 10*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		w.Run(ctx, nil)
	}()
	defer func() { cancel(); wg.Wait() }()
	sources := []string{"http://one.test", "http://two.test", "http://three.test", "http://four.test"}
	for i, src := range sources {
		record(t, s, src, "webhook:a-hang", "webhook:b-ok")
		w.Kick()
		// Generous: the healthy endpoint needs one store round trip.
		for deadline := time.Now().Add(20 * time.Second); len(ok.calls()) < i+1; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("healthy endpoint received %d of %d events while the other hangs (%d attempts there)", len(ok.calls()), i+1, hang.started.Load())
			}
		}
	}
}

// TestBackoffCountsFromEndOfAttempt: a retry waits its backoff after the
// failed attempt ended, however long the attempt took.
func TestBackoffCountsFromEndOfAttempt(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	s := openStore(t, c)
	slow := notifyFunc(func(context.Context, alerts.Event) error {
		c.Advance(10 * time.Minute) // the attempt takes ten minutes
		return &alerts.RetryableError{Err: errors.New("HTTP 503")}
	})
	d := &Dispatcher{Store: s, Notifiers: map[string]alerts.Notifier{"webhook:x": slow}, Now: c.Now, Initial: time.Minute, Max: time.Minute}
	record(t, s, "http://dump.test", "webhook:x")
	if res, err := d.Flush(ctx); err != nil || res.Retrying != 1 {
		t.Fatalf("flush: %+v %v", res, err)
	}
	if due, err := d.HasDue(ctx); err != nil || due {
		t.Fatalf("due right after a ten-minute failed attempt (%v): the backoff was counted from its start", err)
	}
	c.Advance(2 * time.Minute)
	if due, err := d.HasDue(ctx); err != nil || !due {
		t.Fatalf("not due after the backoff: %v", err)
	}
}

type notifyFunc func(context.Context, alerts.Event) error

func (f notifyFunc) Notify(ctx context.Context, ev alerts.Event) error { return f(ctx, ev) }
func (f notifyFunc) Name() string                                      { return "func" }
