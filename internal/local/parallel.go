package local

import (
	"context"
	"runtime"
	"sync"
)

// inOrder runs work for items 0..n-1 on up to workers goroutines (0:
// GOMAXPROCS) and hands the results to emit in item order, on the calling
// goroutine. At most 2*workers items are between starting and being
// emitted, so memory stays bounded by what one item holds (a decoded
// image while it is worked on, a small result afterwards), however many
// items there are. It returns ctx's error if ctx ends first.
func inOrder[T any](ctx context.Context, n, workers int, work func(ctx context.Context, i int) T, emit func(i int, r T)) error {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = max(1, min(workers, n))
	window := 2 * workers
	slots := make([]chan T, window)
	for i := range slots {
		slots[i] = make(chan T, 1)
	}
	tokens := make(chan struct{}, window)
	jobs := make(chan int)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // dispatch
		defer wg.Done()
		defer close(jobs)
		for i := range n {
			select {
			case tokens <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				// Slot i%window is free: item i-window was emitted
				// before item i could take a token.
				slots[i%window] <- work(ctx, i)
			}
		}()
	}
	defer wg.Wait()
	for i := range n {
		select {
		case r := <-slots[i%window]:
			emit(i, r)
			<-tokens
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}
