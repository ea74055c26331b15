package scan

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/leakwatch/leakwatch/alerts"
	"github.com/leakwatch/leakwatch/fixtures/corpus"
	"github.com/leakwatch/leakwatch/internal/outbox"
	"github.com/leakwatch/leakwatch/internal/store"
)

// deadlineNotifier fails every attempt at once, noting the latest
// deadline an attempt was given.
type deadlineNotifier struct {
	mu     sync.Mutex
	latest time.Time
	calls  int
}

func (n *deadlineNotifier) Notify(ctx context.Context, _ alerts.Event) error {
	dl, ok := ctx.Deadline()
	n.mu.Lock()
	defer n.mu.Unlock()
	n.calls++
	if !ok {
		dl = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if dl.After(n.latest) {
		n.latest = dl
	}
	return &alerts.RetryableError{Err: context.DeadlineExceeded}
}

func (n *deadlineNotifier) Name() string { return "deadline" }

// TestDeliveryRespectsAlertWait: no attempt made after a scan may run past
// the --alert-wait deadline, however long one attempt may take.
func TestDeliveryRespectsAlertWait(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "lw.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.RecordMatches(ctx, "http://dump.test", []store.Evidence{{CaptureID: "c1", Kind: "face", URL: "http://dump.test/a.jpg", SHA256: "s1", Algorithm: "pdq"}}, []string{"webhook:x"}); err != nil {
		t.Fatal(err)
	}
	n := &deadlineNotifier{}
	d := Delivery{Notifiers: map[string]alerts.Notifier{"webhook:x": n}, Wait: 300 * time.Millisecond}
	start := time.Now()
	res, err := d.deliver(ctx, st, start.Add(d.Wait))
	if err != nil {
		t.Fatal(err)
	}
	if n.calls == 0 || res.Retrying != 1 {
		t.Fatalf("%d attempts, result %+v; want at least one attempt and the event left retrying", n.calls, res)
	}
	if limit := start.Add(d.Wait); n.latest.After(limit) {
		t.Errorf("an attempt was allowed until %s, %s after the alert wait ended", n.latest.Format(time.RFC3339Nano), n.latest.Sub(limit))
	}
}

// hangingNotifier never answers: an attempt ends only when its context
// does.
type hangingNotifier struct{ started chan struct{} }

func (h *hangingNotifier) Notify(ctx context.Context, _ alerts.Event) error {
	select {
	case h.started <- struct{}{}:
	default:
	}
	<-ctx.Done()
	return &alerts.RetryableError{Err: ctx.Err()}
}

func (h *hangingNotifier) Name() string { return "hanging" }

// TestStopWorkerBounded: an attempt still hanging when the scan ends is
// given --alert-wait to finish, not the attempt's own (here hour-long)
// time limit.
func TestStopWorkerBounded(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "lw.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.RecordMatches(ctx, "http://dump.test", []store.Evidence{{CaptureID: "c1", Kind: "face", URL: "http://dump.test/a.jpg", SHA256: "s1", Algorithm: "pdq"}}, []string{"webhook:x"}); err != nil {
		t.Fatal(err)
	}
	h := &hangingNotifier{started: make(chan struct{}, 1)}
	w := outbox.NewWorker(&outbox.Dispatcher{Store: st, Notifiers: map[string]alerts.Notifier{"webhook:x": h}, Timeout: time.Hour}, time.Second)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); w.Run(wctx, nil) }()
	<-h.started
	stopped := make(chan struct{})
	go func() { stopWorker(w, done, cancel, 200*time.Millisecond); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(20 * time.Second): // generous; the bound is 200 ms
		t.Fatal("the worker waited for a hanging attempt beyond the alert wait")
	}
}

type recordingNotifier struct {
	mu  sync.Mutex
	ids map[string]bool
}

func (r *recordingNotifier) Notify(_ context.Context, ev alerts.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ids[ev.ID] = true
	return nil
}

func (r *recordingNotifier) Name() string { return "healthy" }

// TestHangingEndpointBesideHealthy: a scan alerting a healthy endpoint and
// one that never answers delivers every event to the healthy one and ends
// within the alert wait of the scan's end.
func TestHangingEndpointBesideHealthy(t *testing.T) {
	if testing.Short() {
		t.Skip("scans the fixture site")
	}
	c := corpus.New(1)
	bank, st := setup(t, c.WriteCaptures)
	srv := httptest.NewServer(c.Handler())
	defer srv.Close()
	healthy := &recordingNotifier{ids: map[string]bool{}}
	hang := &hangingNotifier{started: make(chan struct{}, 1)}
	keys := []string{"webhook:hang", "webhook:ok"}
	d := Delivery{Notifiers: map[string]alerts.Notifier{"webhook:hang": hang, "webhook:ok": healthy}, Wait: 2 * time.Second}
	cfg := Config{Seeds: []string{srv.URL + "/"}, Bank: bank, Store: st, GroupBy: GroupPage, Endpoints: keys, WholeImageOnly: true}
	start := time.Now()
	sum, res, err := RunAndDeliver(context.Background(), cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	scanEnd := start.Add(sum.Duration)
	ids, err := st.EventIDs(context.Background())
	if err != nil || len(ids) == 0 {
		t.Fatalf("events %v, %v", ids, err)
	}
	healthy.mu.Lock()
	defer healthy.mu.Unlock()
	for _, id := range ids {
		if !healthy.ids[id] {
			t.Errorf("healthy endpoint did not receive %s", id)
		}
	}
	t.Logf("%d events; delivered %+v; %s after the scan ended (alert wait %s)", len(ids), res, time.Since(scanEnd).Round(time.Millisecond), d.Wait)
}
