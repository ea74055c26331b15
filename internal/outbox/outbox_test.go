package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leakwatch/leakwatch/alerts"
	"github.com/leakwatch/leakwatch/internal/store"
)

// clock is a settable time source shared by the store and the dispatcher.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func openStore(t testing.TB, c *clock) *store.Store {
	t.Helper()
	var opts []store.Option
	if c != nil {
		opts = append(opts, store.WithClock(c.Now))
	}
	s, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "lw.db"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// fakeNotifier answers each Notify with the next scripted error (nil once
// the script is exhausted) and records the event IDs it saw.
type fakeNotifier struct {
	mu     sync.Mutex
	script []error
	seen   []string
}

func (f *fakeNotifier) Notify(_ context.Context, ev alerts.Event) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seen = append(f.seen, ev.ID)
	if len(f.script) == 0 {
		return nil
	}
	err := f.script[0]
	f.script = f.script[1:]
	return err
}

func (f *fakeNotifier) Name() string { return "fake" }

func (f *fakeNotifier) calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.seen...)
}

func record(t testing.TB, s *store.Store, source string, endpoints ...string) string {
	t.Helper()
	out, err := s.RecordMatches(context.Background(), source, []store.Evidence{{
		CaptureID: "c1", Kind: "face", URL: source + "/a.jpg", SHA256: "s1", Algorithm: "pdq", Distance: 3, Quality: 90,
	}}, endpoints)
	if err != nil || out.Event == "" {
		t.Fatalf("record matches: %+v, %v", out, err)
	}
	return out.Event
}

func deliveryStatus(t *testing.T, s *store.Store, event, endpoint string) store.Delivery {
	t.Helper()
	ds, err := s.Deliveries(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if d.EventID == event && d.Endpoint == endpoint {
			return d
		}
	}
	t.Fatalf("no delivery %s -> %s", event, endpoint)
	return store.Delivery{}
}

func TestFlushClassifiesFailures(t *testing.T) {
	retry := &alerts.RetryableError{Err: errors.New("HTTP 503")}
	perm := fmt.Errorf("%w: HTTP 400", alerts.ErrPermanent)
	gone := fmt.Errorf("%w: HTTP 410", alerts.ErrGone)
	cases := []struct {
		name         string
		err          error
		wantStatus   string
		wantRes      Result
		wantDisabled bool
		wantDueAgain bool // due again after the maximum backoff
	}{
		{"success", nil, store.DeliveryDelivered, Result{Delivered: 1}, false, false},
		{"retryable", retry, store.DeliveryPending, Result{Retrying: 1}, false, true},
		{"permanent 4xx", perm, store.DeliveryFailed, Result{GaveUp: 1}, false, false},
		{"410 gone", gone, store.DeliveryPending, Result{Disabled: 1}, true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			c := newClock()
			s := openStore(t, c)
			n := &fakeNotifier{script: []error{tc.err}}
			d := &Dispatcher{Store: s, Notifiers: map[string]alerts.Notifier{"webhook:x": n}, Now: c.Now, Initial: time.Second, Max: time.Minute}
			ev := record(t, s, "http://dump.test", "webhook:x")
			res, err := d.Flush(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if res != tc.wantRes {
				t.Errorf("result = %+v, want %+v", res, tc.wantRes)
			}
			if got := deliveryStatus(t, s, ev, "webhook:x"); got.Status != tc.wantStatus || got.Attempts != 1 {
				t.Errorf("delivery = %+v, want status %s after 1 attempt", got, tc.wantStatus)
			}
			dis, err := s.DisabledEndpoints(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if dis["webhook:x"] != tc.wantDisabled {
				t.Errorf("disabled = %v, want %v", dis["webhook:x"], tc.wantDisabled)
			}
			// Nothing is retried before its backoff, and only retryable
			// failures are retried after it.
			if res, _ := d.Flush(ctx); res != (Result{}) {
				t.Errorf("immediate second flush = %+v, want nothing", res)
			}
			c.Advance(2 * time.Minute)
			res, _ = d.Flush(ctx)
			if got := res.Delivered == 1; got != tc.wantDueAgain {
				t.Errorf("after backoff: %+v, want a redelivery: %v", res, tc.wantDueAgain)
			}
		})
	}
}

func TestGoneEndpointSkippedUntilEnabled(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	s := openStore(t, c)
	gone := &fakeNotifier{script: []error{fmt.Errorf("%w: HTTP 410", alerts.ErrGone)}}
	ok := &fakeNotifier{}
	d := &Dispatcher{Store: s, Notifiers: map[string]alerts.Notifier{"webhook:gone": gone, "webhook:ok": ok}, Now: c.Now}
	e1 := record(t, s, "http://one.test", "webhook:gone", "webhook:ok")
	e2 := record(t, s, "http://two.test", "webhook:gone", "webhook:ok")
	if _, err := d.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// The gone endpoint saw one request; its second event was skipped in
	// the same batch. The healthy endpoint got both.
	if got := gone.calls(); len(got) != 1 {
		t.Fatalf("gone endpoint calls = %v, want 1", got)
	}
	if got := ok.calls(); len(got) != 2 {
		t.Fatalf("ok endpoint calls = %v, want 2", got)
	}
	if n, _ := d.Pending(ctx); n != 0 {
		t.Fatalf("pending on enabled endpoints = %d, want 0", n)
	}
	c.Advance(time.Hour)
	if _, err := d.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := gone.calls(); len(got) != 1 {
		t.Fatalf("disabled endpoint was called again: %v", got)
	}
	if _, err := s.EnableEndpoint(ctx, "webhook:gone"); err != nil {
		t.Fatal(err)
	}
	res, err := d.Flush(ctx)
	if err != nil || res.Delivered != 2 {
		t.Fatalf("after re-enabling: %+v %v, want both pending events delivered", res, err)
	}
	for _, ev := range []string{e1, e2} {
		if st := deliveryStatus(t, s, ev, "webhook:gone").Status; st != store.DeliveryDelivered {
			t.Errorf("%s to re-enabled endpoint: %s", ev, st)
		}
	}
}

func TestRetryablePausesEndpoint(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	s := openStore(t, c)
	down := &fakeNotifier{script: []error{&alerts.RetryableError{Err: errors.New("connection refused")}}}
	d := &Dispatcher{Store: s, Notifiers: map[string]alerts.Notifier{"webhook:down": down}, Now: c.Now, Initial: time.Minute, Max: time.Minute}
	for i := range 5 {
		record(t, s, fmt.Sprintf("http://dump%d.test", i), "webhook:down")
	}
	if _, err := d.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := down.calls(); len(got) != 1 {
		t.Fatalf("a failing endpoint got %d requests in one flush, want 1", len(got))
	}
	c.Advance(2 * time.Minute)
	res, err := d.Flush(ctx)
	if err != nil || res.Delivered != 5 {
		t.Fatalf("after the pause: %+v %v, want all 5 delivered", res, err)
	}
}

func TestMaxAgeGivesUp(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	s := openStore(t, c)
	n := &fakeNotifier{}
	ev := record(t, s, "http://dump.test", "webhook:x")
	c.Advance(73 * time.Hour)
	d := &Dispatcher{Store: s, Notifiers: map[string]alerts.Notifier{"webhook:x": n}, Now: c.Now}
	res, err := d.Flush(ctx)
	if err != nil || res.GaveUp != 1 || len(n.calls()) != 0 {
		t.Fatalf("flush = %+v %v, calls %v; want given up without a request", res, err, n.calls())
	}
	if st := deliveryStatus(t, s, ev, "webhook:x").Status; st != store.DeliveryFailed {
		t.Fatalf("status = %s", st)
	}
}

// TestReceiverDownThenRecovers sends signed webhooks to a real receiver
// that fails its first deliveries: every event arrives exactly once (by
// webhook-id) and carries the outbox's ID.
func TestReceiverDownThenRecovers(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	s := openStore(t, c)
	sec, err := alerts.NewSecret(nil)
	if err != nil {
		t.Fatal(err)
	}
	const failFirst = 4
	recv := alerts.NewReceiver(sec, alerts.WithFailFirst(failFirst, http.StatusServiceUnavailable))
	srv := httptest.NewServer(recv)
	defer srv.Close()
	wh, err := alerts.NewWebhook(srv.URL, sec)
	if err != nil {
		t.Fatal(err)
	}
	key := alerts.EndpointKey("webhook", srv.URL)
	d := &Dispatcher{Store: s, Notifiers: map[string]alerts.Notifier{key: wh}, Now: c.Now, Initial: time.Second, Max: 10 * time.Second}
	want := map[string]bool{}
	for i := range 3 {
		want[record(t, s, fmt.Sprintf("http://dump%d.test", i), key)] = true
	}
	for range 20 {
		if _, err := d.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if n, _ := d.Pending(ctx); n == 0 {
			break
		}
		c.Advance(11 * time.Second)
	}
	got := recv.Received()
	if len(got) != len(want) {
		t.Fatalf("received %d events, want %d", len(got), len(want))
	}
	attempts := 0
	for _, ev := range got {
		if !want[ev.ID] {
			t.Errorf("unexpected webhook-id %s", ev.ID)
		}
		var body struct {
			Data store.EventData `json:"data"`
		}
		if err := json.Unmarshal(ev.Body, &body); err != nil || body.Data.Incident.ID == "" {
			t.Errorf("body of %s: %v", ev.ID, err)
		}
		attempts += ev.Attempts
	}
	if attempts != len(want)+failFirst {
		t.Errorf("receiver counted %d attempts, want %d (one per event plus the failed ones)", attempts, len(want)+failFirst)
	}
}

func TestWorkerKickFlushesWithoutPolling(t *testing.T) {
	s := openStore(t, nil)
	n := &fakeNotifier{}
	d := &Dispatcher{Store: s, Notifiers: map[string]alerts.Notifier{"webhook:x": n}}
	w := NewWorker(d, time.Hour) // polling alone would not deliver during the test
	ctx, cancel := context.WithCancel(context.Background())
	delivered := make(chan Result, 1)
	go w.Run(ctx, func(r Result, _ error) {
		if r.Delivered > 0 {
			delivered <- r
		}
	})
	defer cancel()
	record(t, s, "http://dump.test", "webhook:x")
	w.Kick()
	select {
	case r := <-delivered:
		if r.Delivered != 1 {
			t.Fatalf("result %+v", r)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("kick did not trigger a flush")
	}
}

// blockingFlusher holds each flush until released and records whether its
// context was cancelled meanwhile.
type blockingFlusher struct {
	started, release chan struct{}
	cancelled        atomic.Bool
}

func (b *blockingFlusher) Flush(ctx context.Context) (Result, error) {
	b.started <- struct{}{}
	<-b.release
	b.cancelled.Store(ctx.Err() != nil)
	return Result{Delivered: 1}, nil
}

// TestWorkerStopLetsFlushFinish stops a worker while it delivers: the
// delivery finishes with a live context instead of being cut short.
func TestWorkerStopLetsFlushFinish(t *testing.T) {
	f := &blockingFlusher{started: make(chan struct{}), release: make(chan struct{})}
	w := NewWorker(f, time.Hour)
	done := make(chan struct{})
	var got Result
	go func() {
		defer close(done)
		w.Run(t.Context(), func(r Result, _ error) { got = r })
	}()
	w.Kick()
	<-f.started
	w.Stop()
	close(f.release)
	<-done
	if f.cancelled.Load() || got.Delivered != 1 {
		t.Fatalf("flush cancelled %v, result %+v: Stop cut the delivery short", f.cancelled.Load(), got)
	}
}

// A worker started without the alert configuration records an incident
// with no delivery; a dispatcher that has an endpoint sends it anyway.
func TestDispatcherSendsEventsRecordedWithoutItsEndpoint(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	s := openStore(t, c)
	hook := &fakeNotifier{}
	d := &Dispatcher{Store: s, Notifiers: map[string]alerts.Notifier{"webhook:a": hook}, Now: c.Now}
	if _, err := d.Flush(ctx); err != nil { // the endpoint is configured from now on
		t.Fatal(err)
	}
	c.Advance(time.Second)
	out, err := s.RecordMatches(ctx, "http://dump.test", []store.Evidence{{CaptureID: "c1", Kind: "face", URL: "http://dump.test/a.jpg", SHA256: "s1", Algorithm: "pdq"}}, nil)
	if err != nil || out.Event == "" {
		t.Fatalf("record: %+v, %v", out, err)
	}
	c.Advance(2 * adoptEvery)
	if _, err := d.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := hook.calls(); len(got) != 1 || got[0] != out.Event {
		t.Fatalf("the endpoint received %v, want [%s]", got, out.Event)
	}
}
