package store

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestFrontierLeasesAndCompletion(t *testing.T) {
	forEachBackend(t, func(t *testing.T, loc string) {
		ctx := context.Background()
		var now atomic.Int64
		now.Store(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC).UnixMilli())
		clock := WithClock(func() time.Time { return time.UnixMilli(now.Load()) })
		a, err := Open(ctx, loc, clock)
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		b, err := Open(ctx, loc, clock)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		run, err := a.CreateRun(ctx, "http://dump.test/", []byte(`{"max_depth":3}`), []Item{{URL: "http://dump.test/", Kind: "page", Depth: 1}})
		if err != nil {
			t.Fatal(err)
		}
		if cfg, err := b.RunConfig(ctx, run); err != nil || string(cfg) != `{"max_depth":3}` {
			t.Fatalf("config %s %v", cfg, err)
		}
		got, err := a.Claim(ctx, "wa", 0, 10, time.Minute)
		if err != nil || len(got) != 1 || got[0].Attempts != 1 {
			t.Fatalf("claim %+v %v", got, err)
		}
		seed := got[0]
		if other, err := b.Claim(ctx, "wb", 0, 10, time.Minute); err != nil || len(other) != 0 {
			t.Fatalf("second worker claimed a leased item: %+v %v", other, err)
		}
		// wa stops renewing: after the lease wb takes the item over, and
		// wa's late result is refused.
		now.Add((2 * time.Minute).Milliseconds())
		if err := a.Heartbeat(ctx, "wa", seed.ID, time.Minute); err != nil {
			t.Fatalf("a renewal before anyone took over is still fine: %v", err)
		}
		now.Add((2 * time.Minute).Milliseconds())
		taken, err := b.Claim(ctx, "wb", run, 10, time.Minute)
		if err != nil || len(taken) != 1 || taken[0].ID != seed.ID || taken[0].Attempts != 2 {
			t.Fatalf("takeover %+v %v", taken, err)
		}
		if err := a.Heartbeat(ctx, "wa", seed.ID, time.Minute); !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("heartbeat after takeover: %v", err)
		}
		if _, err := a.Complete(ctx, "wa", seed, Result{}, 10, 100); !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("complete after takeover: %v", err)
		}
		kids := []Item{
			{URL: "http://dump.test/p2", Kind: "page", Depth: 2, Page: seed.URL},
			{URL: "http://dump.test/p3", Kind: "page", Depth: 2, Page: seed.URL},
			{URL: "http://dump.test/a.jpg", Kind: "image", Depth: 2, Page: seed.URL},
			{URL: "http://dump.test/a.jpg", Kind: "image", Depth: 2, Page: seed.URL},
			{URL: "http://dump.test/", Kind: "page", Depth: 2, Page: seed.URL},
		}
		c, err := b.Complete(ctx, "wb", taken[0], Result{Children: kids}, 2, 100)
		if err != nil || c.RunDone || c.Dropped != 1 {
			t.Fatalf("complete %+v %v (want one page over the limit of 2 dropped)", c, err)
		}
		rest, err := a.Claim(ctx, "wa", 0, 10, time.Minute)
		if err != nil || len(rest) != 2 {
			t.Fatalf("children claimed %+v %v", rest, err)
		}
		var done int
		for _, it := range rest {
			r := Result{Matches: 1}
			if it.Kind == "image" {
				r = Result{Err: "corrupt_image"}
			}
			c, err := a.Complete(ctx, "wa", it, r, 2, 100)
			if err != nil {
				t.Fatal(err)
			}
			if c.RunDone {
				done++
			}
		}
		if done != 1 {
			t.Fatalf("run finished %d times", done)
		}
		ri, err := b.Run(ctx, run)
		if err != nil {
			t.Fatal(err)
		}
		if ri.Status != RunDone || !ri.Shared || ri.Done != 2 || ri.Failed != 1 || ri.Pending+ri.Running != 0 || ri.Findings != 1 || len(ri.Workers) != 2 {
			t.Fatalf("run info %+v", ri)
		}
		if more, err := b.Claim(ctx, "wb", 0, 10, time.Minute); err != nil || len(more) != 0 {
			t.Fatalf("claimed from a finished run: %+v %v", more, err)
		}
	})
}

// Workers claiming concurrently never get the same item, and every item is
// handed out once when nobody dies.
func TestFrontierConcurrentClaims(t *testing.T) {
	forEachBackend(t, func(t *testing.T, loc string) {
		ctx := context.Background()
		var items []Item
		for i := range 60 {
			items = append(items, Item{URL: "http://dump.test/" + string(rune('A'+i)), Kind: "image", Depth: 1})
		}
		setup := openTest(t, loc)
		if _, err := setup.CreateRun(ctx, "x", []byte("{}"), items); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		seen := map[int64]int{}
		var wg sync.WaitGroup
		for w := range 4 {
			st := openTest(t, loc)
			wg.Add(1)
			go func() {
				defer wg.Done()
				owner := string(rune('a' + w))
				for {
					got, err := st.Claim(ctx, owner, 0, 3, time.Minute)
					if err != nil {
						t.Error(err)
						return
					}
					if len(got) == 0 {
						return
					}
					for _, it := range got {
						mu.Lock()
						seen[it.ID]++
						mu.Unlock()
						if _, err := st.Complete(ctx, owner, it, Result{}, 10, 100); err != nil {
							t.Error(err)
							return
						}
					}
				}
			}()
		}
		wg.Wait()
		if len(seen) != len(items) {
			t.Fatalf("%d items handed out, want %d", len(seen), len(items))
		}
		for id, n := range seen {
			if n != 1 {
				t.Fatalf("item %d handed out %d times", id, n)
			}
		}
	})
}

func TestHostSlotsShared(t *testing.T) {
	forEachBackend(t, func(t *testing.T, loc string) {
		ctx := context.Background()
		a, b := openTest(t, loc), openTest(t, loc)
		s1, ok1, err1 := a.AcquireHost(ctx, "dump.test:80", "wa", 1, time.Minute)
		_, ok2, err2 := b.AcquireHost(ctx, "dump.test:80", "wb", 1, time.Minute)
		if err1 != nil || err2 != nil || !ok1 || ok2 {
			t.Fatalf("parallelism 1: %v %v %v %v", ok1, err1, ok2, err2)
		}
		if err := a.ReleaseHost(ctx, "dump.test:80", s1, "wa", time.Hour); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := b.AcquireHost(ctx, "dump.test:80", "wb", 1, time.Minute); err != nil || ok {
			t.Fatalf("slot taken within the delay: %v %v", ok, err)
		}
		if _, ok, err := b.AcquireHost(ctx, "other.test:80", "wb", 1, time.Minute); err != nil || !ok {
			t.Fatalf("another host: %v %v", ok, err)
		}
	})
}

// A released item is claimable again at once, its attempt not counted; a
// worker that no longer holds an item cannot release it.
func TestFrontierRelease(t *testing.T) {
	forEachBackend(t, func(t *testing.T, loc string) {
		ctx := context.Background()
		s, err := Open(ctx, loc)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if _, err := s.CreateRun(ctx, "http://dump.test/", []byte(`{}`), []Item{{URL: "http://dump.test/", Kind: "page", Depth: 1}}); err != nil {
			t.Fatal(err)
		}
		got, err := s.Claim(ctx, "wa", 0, 1, time.Hour)
		if err != nil || len(got) != 1 {
			t.Fatalf("claim %+v %v", got, err)
		}
		if err := s.Release(ctx, "wb", got[0].ID); !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("release by a worker that does not hold the item: %v", err)
		}
		if err := s.Release(ctx, "wa", got[0].ID); err != nil {
			t.Fatal(err)
		}
		again, err := s.Claim(ctx, "wb", 0, 1, time.Hour)
		if err != nil || len(again) != 1 || again[0].ID != got[0].ID || again[0].Attempts != 1 {
			t.Fatalf("claim after release %+v %v (want the item, attempt 1)", again, err)
		}
		if err := s.Release(ctx, "wa", got[0].ID); !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("release after another worker took the item: %v", err)
		}
	})
}

// A shared run's stored-link budget is spent by every worker through the
// store: what does not fit is refused, and the first refusal is reported
// once.
func TestChargeLinks(t *testing.T) {
	forEachBackend(t, func(t *testing.T, loc string) {
		ctx := context.Background()
		s, err := Open(ctx, loc)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		run, err := s.CreateRun(ctx, "http://dump.test/", []byte(`{}`), []Item{{URL: "http://dump.test/", Kind: "page", Depth: 1}})
		if err != nil {
			t.Fatal(err)
		}
		steps := []struct {
			n         int64
			ok, first bool
		}{{60, true, false}, {50, false, true}, {30, true, false}, {20, false, false}, {10, true, false}, {1, false, false}}
		for i, st := range steps {
			ok, first, err := s.ChargeLinks(ctx, run, st.n, 100)
			if err != nil || ok != st.ok || first != st.first {
				t.Errorf("charge %d: %d bytes: ok %v first %v err %v, want ok %v first %v", i, st.n, ok, first, err, st.ok, st.first)
			}
		}
	})
}

// A run whose last item is failed by the reaper (its workers kept dying
// on it) has no completion to end it: FinishStranded ends it, once.
func TestFinishStranded(t *testing.T) {
	forEachBackend(t, func(t *testing.T, loc string) {
		ctx := context.Background()
		var now atomic.Int64
		now.Store(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC).UnixMilli())
		s, err := Open(ctx, loc, WithClock(func() time.Time { return time.UnixMilli(now.Load()) }))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		poison, err := s.CreateRun(ctx, "http://dump.test/", []byte(`{}`), []Item{{URL: "http://dump.test/bomb.zip", Kind: "image", Depth: 1}})
		if err != nil {
			t.Fatal(err)
		}
		open, err := s.CreateRun(ctx, "http://other.test/", []byte(`{}`), []Item{{URL: "http://other.test/", Kind: "page", Depth: 1}})
		if err != nil {
			t.Fatal(err)
		}
		// Every worker that claims the poison item dies with it.
		for range MaxItemAttempts {
			if got, err := s.Claim(ctx, "w", poison, 1, time.Minute); err != nil || len(got) != 1 {
				t.Fatalf("claim: %+v, %v", got, err)
			}
			now.Add((2 * time.Minute).Milliseconds())
		}
		if ids, err := s.FinishStranded(ctx); err != nil || len(ids) != 0 {
			t.Fatalf("before the reaper: %v, %v; want none", ids, err)
		}
		now.Add((2 * time.Second).Milliseconds())
		if got, err := s.Claim(ctx, "w", poison, 1, time.Minute); err != nil || len(got) != 0 {
			t.Fatalf("the reaper should fail the item, not hand it out: %+v, %v", got, err)
		}
		ids, err := s.FinishStranded(ctx)
		if err != nil || len(ids) != 1 || ids[0] != poison {
			t.Fatalf("stranded: %v, %v; want [%d]", ids, err, poison)
		}
		if again, err := s.FinishStranded(ctx); err != nil || len(again) != 0 {
			t.Fatalf("finished twice: %v, %v", again, err)
		}
		for id, want := range map[int64]string{poison: RunDone, open: RunRunning} {
			if ri, err := s.Run(ctx, id); err != nil || ri.Status != want || (id == poison && ri.Failed != 1) {
				t.Errorf("run %d: %+v, %v; want %s", id, ri, err, want)
			}
		}
	})
}
