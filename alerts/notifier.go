package alerts

import (
	"context"
	"errors"
	"strings"
	"sync"
)

// Notifier delivers one event to one destination. Notify makes a single
// attempt; a failure is classified as described in the package docs so the
// caller can decide whether and when to try again.
type Notifier interface {
	Notify(ctx context.Context, ev Event) error
	// Name identifies the destination in logs and errors without
	// revealing credentials (for HTTP notifiers: kind and host only).
	Name() string
}

// Multi fans an event out to several notifiers at once. Its error joins the
// members' errors (each names its notifier), so errors.Is/As find any member's class. Retrying a Multi
// as a whole would repeat successful deliveries; DeliverWithRetry therefore
// retries each member on its own.
type Multi []Notifier

// Notify delivers to every member concurrently and waits for all of them.
func (m Multi) Notify(ctx context.Context, ev Event) error {
	errs := make([]error, len(m))
	var wg sync.WaitGroup
	for i, n := range m {
		wg.Go(func() {
			errs[i] = n.Notify(ctx, ev)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Name lists the members' names.
func (m Multi) Name() string {
	names := make([]string, len(m))
	for i, n := range m {
		names[i] = n.Name()
	}
	return "multi[" + strings.Join(names, ",") + "]"
}
