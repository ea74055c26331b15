package local

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestInOrder(t *testing.T) {
	for _, tc := range []struct{ n, workers int }{{0, 2}, {1, 4}, {7, 1}, {100, 3}, {1000, 8}} {
		var running, peak atomic.Int64
		var got []int
		err := inOrder(context.Background(), tc.n, tc.workers, func(_ context.Context, i int) int {
			r := running.Add(1)
			for p := peak.Load(); r > p && !peak.CompareAndSwap(p, r); p = peak.Load() {
			}
			if i%7 == 0 {
				time.Sleep(time.Millisecond) // finish out of order
			}
			running.Add(-1)
			return i * i
		}, func(i, r int) {
			if r != i*i {
				t.Errorf("item %d: result %d", i, r)
			}
			got = append(got, i)
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != tc.n {
			t.Fatalf("n=%d: emitted %d", tc.n, len(got))
		}
		for i, v := range got {
			if v != i {
				t.Fatalf("n=%d: emitted %v, want item order", tc.n, got)
			}
		}
		if p := peak.Load(); p > int64(tc.workers) {
			t.Errorf("n=%d: %d items worked on at once, workers %d", tc.n, p, tc.workers)
		}
	}
}

func TestInOrderCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	emitted := 0
	err := inOrder(ctx, 1000, 4, func(ctx context.Context, i int) int {
		if i == 10 {
			cancel()
		}
		return i
	}, func(int, int) { emitted++ })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if emitted > 10+8 {
		t.Errorf("emitted %d items after cancelling at item 10 (window 8)", emitted)
	}
}
