package scan

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/leakwatch/leakwatch/alerts"
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
	res, err := d.deliver(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if n.calls == 0 || res.Retrying != 1 {
		t.Fatalf("%d attempts, result %+v; want at least one attempt and the event left retrying", n.calls, res)
	}
	// The deadline is taken inside deliver, a moment after start.
	if limit := start.Add(d.Wait + 100*time.Millisecond); n.latest.After(limit) {
		t.Errorf("an attempt was allowed until %s, %s after the alert wait ended", n.latest.Format(time.RFC3339Nano), n.latest.Sub(limit))
	}
}
