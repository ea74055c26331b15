package alerts

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// RetryPolicy bounds DeliverWithRetry. Zero fields take the values of
// DefaultRetryPolicy, so RetryPolicy{} is usable.
type RetryPolicy struct {
	// MaxAttempts counts the first attempt too.
	MaxAttempts int
	// Initial is the backoff ceiling after the first failure; it doubles
	// per failure up to Max. The actual wait is uniform in [0, ceiling)
	// ("full jitter"), which spreads retries from many senders.
	Initial, Max time.Duration
	// MaxElapsed stops retrying once the next wait would end later than
	// this long after the first attempt.
	MaxElapsed time.Duration
}

// DefaultRetryPolicy suits one-shot delivery from the CLI: a few attempts
// within a couple of minutes. Long schedules (hours, days) belong to the
// durable outbox, not to a process that waits.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxAttempts: 5, Initial: 500 * time.Millisecond, Max: 30 * time.Second, MaxElapsed: 2 * time.Minute}
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	d := DefaultRetryPolicy()
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = d.MaxAttempts
	}
	if p.Initial <= 0 {
		p.Initial = d.Initial
	}
	if p.Max <= 0 {
		p.Max = d.Max
	}
	if p.Max < p.Initial {
		p.Max = p.Initial
	}
	if p.MaxElapsed <= 0 {
		p.MaxElapsed = d.MaxElapsed
	}
	return p
}

// ceiling returns the backoff ceiling after the given number of failures.
func (p RetryPolicy) ceiling(failures int) time.Duration {
	c := p.Initial
	for i := 1; i < failures && c < p.Max; i++ {
		c *= 2
	}
	return min(c, p.Max)
}

// DeliverWithRetry delivers ev through n, retrying failures that are not
// ErrPermanent (ErrGone and ErrInvalidEvent included) with exponential
// backoff and full jitter. A *RetryableError's RetryAfter is honoured as a
// minimum wait; if that wait does not fit in MaxElapsed it gives up at once.
// Each member of a Multi is retried on its own, so a member that succeeded
// is not sent the event again. The returned error wraps the last failure.
func DeliverWithRetry(ctx context.Context, n Notifier, ev Event, policy RetryPolicy) error {
	r := retrier{
		sleep:  sleepCtx,
		jitter: func(d time.Duration) time.Duration { return rand.N(d) },
		now:    time.Now,
	}
	return r.deliver(ctx, n, ev, policy.withDefaults())
}

// retrier holds the side effects of retrying so tests can observe the waits
// without sleeping.
type retrier struct {
	sleep  func(context.Context, time.Duration) error
	jitter func(time.Duration) time.Duration // uniform in [0, d), d > 0
	now    func() time.Time
}

func (r retrier) deliver(ctx context.Context, n Notifier, ev Event, p RetryPolicy) error {
	if m, ok := n.(Multi); ok {
		errs := make([]error, len(m))
		var wg sync.WaitGroup
		for i, member := range m {
			wg.Go(func() { errs[i] = r.deliver(ctx, member, ev, p) })
		}
		wg.Wait()
		return errors.Join(errs...)
	}

	start := r.now()
	for attempt := 1; ; attempt++ {
		err := n.Notify(ctx, ev)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, ErrPermanent):
			return err
		case ctx.Err() != nil:
			return fmt.Errorf("alerts: %s: %w (last error: %w)", n.Name(), ctx.Err(), err)
		case attempt >= p.MaxAttempts:
			return fmt.Errorf("alerts: %s: giving up after %d attempts: %w", n.Name(), attempt, err)
		}

		wait := time.Duration(0)
		if c := p.ceiling(attempt); c > 0 {
			wait = r.jitter(c)
		}
		var re *RetryableError
		if errors.As(err, &re) && re.RetryAfter > wait {
			wait = re.RetryAfter
		}
		if r.now().Add(wait).Sub(start) > p.MaxElapsed {
			return fmt.Errorf("alerts: %s: giving up after %d attempts, next wait %s exceeds the %s budget: %w",
				n.Name(), attempt, wait, p.MaxElapsed, err)
		}
		if serr := r.sleep(ctx, wait); serr != nil {
			return fmt.Errorf("alerts: %s: %w (last error: %w)", n.Name(), serr, err)
		}
	}
}

// sleepCtx waits for d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
