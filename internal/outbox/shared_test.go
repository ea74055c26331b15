package outbox

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/leakwatch/leakwatch/alerts"
	"github.com/leakwatch/leakwatch/internal/store"
	"github.com/leakwatch/leakwatch/internal/store/pgtest"
)

// slowNotifier takes a while per event, so concurrent flushes overlap.
type slowNotifier struct{ fakeNotifier }

func (s *slowNotifier) Notify(ctx context.Context, ev alerts.Event) error {
	time.Sleep(5 * time.Millisecond)
	return s.fakeNotifier.Notify(ctx, ev)
}

// Workers flushing one PostgreSQL outbox at once send each event once.
func TestSharedOutboxDeliversOnce(t *testing.T) {
	loc := pgtest.Start(t).CreateDB(t)
	ctx := context.Background()
	open := func() *store.Store {
		s, err := store.Open(ctx, loc)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	setup := open()
	want := map[string]bool{}
	for i := range 20 {
		want[record(t, setup, fmt.Sprintf("http://dump%d.test", i), "webhook:x")] = true
	}
	n := &slowNotifier{}
	var wg sync.WaitGroup
	for range 4 {
		d := &Dispatcher{Store: open(), Notifiers: map[string]alerts.Notifier{"webhook:x": n}}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				r, err := d.Flush(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				if r.Delivered == 0 {
					return
				}
			}
		}()
	}
	wg.Wait()
	seen := map[string]int{}
	for _, id := range n.calls() {
		seen[id]++
	}
	if len(seen) != len(want) {
		t.Fatalf("%d events delivered, want %d", len(seen), len(want))
	}
	for id, k := range seen {
		if k != 1 || !want[id] {
			t.Fatalf("event %s sent %d times", id, k)
		}
	}
}
