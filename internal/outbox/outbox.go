package outbox

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/leakwatch/leakwatch/alerts"
	"github.com/leakwatch/leakwatch/internal/store"
)

// Dispatcher delivers due events to their endpoints.
type Dispatcher struct {
	Store     *store.Store
	Notifiers map[string]alerts.Notifier // endpoint key -> notifier
	Logger    *slog.Logger
	// MaxAge gives up on events older than this (default 72 h, the span of
	// the Standard Webhooks retry schedule).
	MaxAge time.Duration
	// Initial and Max bound the exponential backoff between attempts.
	Initial, Max time.Duration
	// Timeout bounds one delivery attempt (default 30 s).
	Timeout time.Duration
	Now     func() time.Time
	// OnAttempt, if set, is told the outcome of every attempt with the
	// endpoint's key (for per-endpoint metrics; the key names no host).
	OnAttempt func(key string, err error)

	once sync.Once
	mu   sync.Mutex
	// pausedUntil holds endpoints backing off after a retryable failure.
	pausedUntil map[string]time.Time
	// adopted is when each endpoint last adopted events recorded without
	// it (store.AdoptEndpoints).
	adopted map[string]time.Time
}

// adoptEvery is how often a dispatcher looks for events recorded by
// processes without its endpoints.
const adoptEvery = time.Minute

// Result counts one Flush.
type Result struct {
	Delivered int `json:"delivered"`
	Retrying  int `json:"retrying"`
	GaveUp    int `json:"gave_up"`
	// Disabled counts endpoints disabled because they answered 410.
	Disabled int `json:"disabled,omitempty"`
}

// Flusher is what a Worker runs; *Dispatcher is one.
type Flusher interface {
	Flush(ctx context.Context) (Result, error)
}

func (d *Dispatcher) defaults() { d.once.Do(d.setDefaults) }

func (d *Dispatcher) setDefaults() {
	if d.MaxAge == 0 {
		d.MaxAge = 72 * time.Hour
	}
	if d.Initial == 0 {
		d.Initial = 5 * time.Second
	}
	if d.Max == 0 {
		d.Max = 2 * time.Hour
	}
	if d.Timeout == 0 {
		d.Timeout = 30 * time.Second
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
}

// Flush attempts every due delivery once, except those of endpoints that
// are disabled or pausing after a failure. Each endpoint is served by its
// own goroutine, so a slow or hanging endpoint delays only itself; an
// attempt never outlives ctx's deadline.
func (d *Dispatcher) Flush(ctx context.Context) (Result, error) {
	return d.flush(ctx, d.keys())
}

// Lanes returns one Flusher per endpoint, each flushing only its own
// deliveries, so a Worker can serve endpoints independently.
func (d *Dispatcher) Lanes() []Flusher {
	keys := d.keys()
	out := make([]Flusher, len(keys))
	for i, k := range keys {
		out[i] = lane{d: d, key: k}
	}
	return out
}

type lane struct {
	d   *Dispatcher
	key string
}

func (l lane) Flush(ctx context.Context) (Result, error) { return l.d.flush(ctx, []string{l.key}) }

func (d *Dispatcher) flush(ctx context.Context, keys []string) (Result, error) {
	d.defaults()
	d.adopt(ctx, keys)
	if d.Store.Postgres() {
		return d.flushClaimed(ctx, keys)
	}
	due, err := d.Store.DueFor(ctx, keys, 1000)
	if err != nil {
		return Result{}, err
	}
	byEndpoint := map[string][]store.Pending{}
	for _, p := range due {
		byEndpoint[p.Endpoint] = append(byEndpoint[p.Endpoint], p)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		total Result
		errs  []error
	)
	for key, ps := range byEndpoint {
		n, ok := d.Notifiers[key]
		if !ok {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := d.flushEndpoint(ctx, n, ps)
			mu.Lock()
			defer mu.Unlock()
			total.Delivered += r.Delivered
			total.Retrying += r.Retrying
			total.GaveUp += r.GaveUp
			total.Disabled += r.Disabled
			if err != nil {
				errs = append(errs, err)
			}
		}()
	}
	wg.Wait()
	return total, errors.Join(errs...)
}

// flushEndpoint attempts one endpoint's due deliveries in order until one
// fails with a retryable error (the endpoint then pauses) or it is
// disabled.
func (d *Dispatcher) flushEndpoint(ctx context.Context, n alerts.Notifier, due []store.Pending) (Result, error) {
	var res Result
	for _, p := range due {
		now := d.Now()
		if d.paused(p.Endpoint, now) {
			continue
		}
		if now.Sub(p.CreatedAt) > d.MaxAge {
			_ = d.Store.MarkAttempt(ctx, p.EventID, p.Endpoint, errors.New("gave up: event older than max age"), time.Time{})
			res.GaveUp++
			continue
		}
		ev := Event(p)
		actx, cancel := context.WithTimeout(ctx, d.Timeout)
		err := n.Notify(actx, ev)
		cancel()
		// Outcomes are recorded even when ctx ends right after the
		// attempt, so a delivered event is not sent again needlessly.
		wctx := context.WithoutCancel(ctx)
		if err == nil {
			if err := d.Store.MarkDelivered(wctx, p.EventID, p.Endpoint); err != nil {
				return res, err
			}
			d.record(wctx, p.Endpoint, n, nil)
			res.Delivered++
			d.Logger.Info("alert delivered", "event", p.EventID, "endpoint", n.Name(), "attempt", p.Attempts+1)
			continue
		}
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		d.record(wctx, p.Endpoint, n, err)
		switch {
		case errors.Is(err, alerts.ErrGone):
			// Keep the delivery pending: if the endpoint is re-enabled it
			// goes out then (unless too old by that time).
			_ = d.Store.MarkAttempt(wctx, p.EventID, p.Endpoint, err, now)
			if derr := d.Store.DisableEndpoint(wctx, p.Endpoint, n.Name(), err.Error()); derr != nil {
				return res, derr
			}
			res.Disabled++
			d.Logger.Error("alert endpoint answered 410 Gone: disabled until re-enabled", "endpoint", n.Name(), "key", p.Endpoint, "event", p.EventID)
			return res, nil
		case errors.Is(err, alerts.ErrPermanent):
			_ = d.Store.MarkAttempt(wctx, p.EventID, p.Endpoint, err, time.Time{})
			res.GaveUp++
			d.Logger.Error("alert rejected permanently", "event", p.EventID, "endpoint", n.Name(), "err", err)
		default:
			// The backoff counts from the end of the failed attempt, which
			// may have taken up to Timeout.
			next := d.Now().Add(d.backoff(p.Attempts, err))
			_ = d.Store.MarkAttempt(wctx, p.EventID, p.Endpoint, err, next)
			d.pause(p.Endpoint, next)
			res.Retrying++
			d.Logger.Warn("alert delivery failed, will retry", "event", p.EventID, "endpoint", n.Name(), "attempt", p.Attempts+1, "next", next, "err", err)
		}
	}
	return res, nil
}

// Pending counts deliveries still to be made to this dispatcher's
// endpoints, leaving out disabled ones.
func (d *Dispatcher) Pending(ctx context.Context) (int, error) {
	return d.Store.PendingFor(ctx, d.keys())
}

// HasDue reports whether a Flush now would attempt something: a delivery
// is due for an endpoint that is neither disabled nor pausing. It lets a
// caller skip taking locks when there is nothing to do.
func (d *Dispatcher) HasDue(ctx context.Context) (bool, error) {
	d.defaults()
	due, err := d.Store.DueFor(ctx, d.keys(), 100)
	if err != nil {
		return false, err
	}
	now := d.Now()
	for _, p := range due {
		if !d.paused(p.Endpoint, now) {
			return true, nil
		}
	}
	return false, nil
}

func (d *Dispatcher) keys() []string {
	ks := make([]string, 0, len(d.Notifiers))
	for k := range d.Notifiers {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// record keeps the endpoint's last outcome; it is informational, so a
// failure to write it is only logged.
func (d *Dispatcher) record(ctx context.Context, key string, n alerts.Notifier, err error) {
	if d.OnAttempt != nil {
		d.OnAttempt(key, err)
	}
	if rerr := d.Store.RecordEndpointResult(ctx, key, n.Name(), err); rerr != nil {
		d.Logger.Warn("record endpoint state", "endpoint", n.Name(), "err", rerr)
	}
}

func (d *Dispatcher) paused(key string, now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	until, ok := d.pausedUntil[key]
	if ok && !now.Before(until) {
		delete(d.pausedUntil, key)
		return false
	}
	return ok
}

func (d *Dispatcher) pause(key string, until time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.pausedUntil == nil {
		d.pausedUntil = map[string]time.Time{}
	}
	d.pausedUntil[key] = until
}

// backoff is exponential with full jitter, at least any Retry-After.
func (d *Dispatcher) backoff(attempts int, err error) time.Duration {
	b := d.Initial
	for i := 0; i < attempts && b < d.Max; i++ {
		b *= 2
	}
	if b > d.Max {
		b = d.Max
	}
	wait := b/2 + rand.N(b/2+1)
	var re *alerts.RetryableError
	if errors.As(err, &re) && re.RetryAfter > wait {
		wait = re.RetryAfter
	}
	return wait
}

// flushClaimed is flush on a PostgreSQL store, which several workers
// flush at once: each claims one delivery at a time under a lease that
// covers one attempt, so an event is being sent by one worker at a time
// and a worker that dies holds up at most one delivery, for one lease.
func (d *Dispatcher) flushClaimed(ctx context.Context, keys []string) (Result, error) {
	var total Result
	for ctx.Err() == nil {
		due, err := d.Store.ClaimDue(ctx, keys, 1, d.Timeout+15*time.Second)
		if err != nil || len(due) == 0 {
			return total, err
		}
		n, ok := d.Notifiers[due[0].Endpoint]
		if !ok {
			return total, nil
		}
		r, err := d.flushEndpoint(ctx, n, due)
		total.Delivered += r.Delivered
		total.Retrying += r.Retrying
		total.GaveUp += r.GaveUp
		total.Disabled += r.Disabled
		if err != nil || r == (Result{}) {
			// An error, or a delivery skipped (its endpoint pauses): the
			// next flush goes on.
			return total, err
		}
	}
	return total, ctx.Err()
}

// adopt gives the endpoints keys the events recorded since they were
// first configured by a process that did not have them (a worker started
// without the alert configuration, a scan with other endpoints), at most
// once per adoptEvery.
func (d *Dispatcher) adopt(ctx context.Context, keys []string) {
	now := d.Now()
	var due []string
	d.mu.Lock()
	if d.adopted == nil {
		d.adopted = map[string]time.Time{}
	}
	for _, k := range keys {
		if last, ok := d.adopted[k]; !ok || now.Sub(last) >= adoptEvery {
			d.adopted[k] = now
			due = append(due, k)
		}
	}
	d.mu.Unlock()
	if len(due) == 0 {
		return
	}
	n, err := d.Store.AdoptEndpoints(ctx, due, now.Add(-d.MaxAge))
	if err != nil {
		d.Logger.Warn("alerts: events recorded without these endpoints not looked for", "err", err)
	}
	if n > 0 {
		d.Logger.Info("alerts: events recorded by a process without these endpoints are sent to them too", "deliveries", n)
	}
}
