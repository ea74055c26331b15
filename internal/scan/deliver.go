package scan

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/leakwatch/leakwatch/alerts"
	"github.com/leakwatch/leakwatch/fingerprint"
	"github.com/leakwatch/leakwatch/internal/evidence"
	"github.com/leakwatch/leakwatch/internal/lock"
	"github.com/leakwatch/leakwatch/internal/outbox"
	"github.com/leakwatch/leakwatch/internal/report"
	"github.com/leakwatch/leakwatch/internal/store"
	"github.com/leakwatch/leakwatch/internal/tor"
)

// Session is what one scan run holds open: the bank, the store under its
// run lock, and the Tor client.
type Session struct {
	Bank  *fingerprint.Bank
	Store *store.Store
	Tor   *tor.Client
	// Evidence is the evidence locker, nil when it is off.
	Evidence *evidence.Locker
	// Baseline is the baseline file's pairs (nil without one).
	Baseline Baseline
	lock     *lock.Lock
}

// Open loads the bank, takes the store's run lock (waiting up to
// o.WaitLock; an error matching lock.ErrLocked when another run holds
// it), opens the store and starts Tor, reporting its bootstrap on
// progress. Close releases what Open took.
func Open(ctx context.Context, o Options, progress io.Writer, log *slog.Logger) (s *Session, err error) {
	s = &Session{}
	defer func() {
		if err != nil {
			s.Close()
			s = nil
		}
	}()
	if s.Bank, err = fingerprint.LoadBank(o.Bank); err != nil {
		return s, err
	}
	if s.Baseline, err = o.LoadBaseline(); err != nil {
		return s, &UsageError{err}
	}
	if n := s.Bank.Len(); n > 0 && s.Bank.Features() == 0 && n > s.Bank.Imported() {
		log.Warn("bank has no local features: copies that were rotated, cropped to half, covered or put in perspective are found only where a hash route lines up; enroll the captures into a new bank to add them",
			"bank", o.Bank, "captures", n)
	}
	if store.IsPostgres(o.Store) {
		// Workers share a PostgreSQL store by design: items, deliveries
		// and host slots are leased in the database, so there is no run
		// lock, and never a local lock file.
		if s.Store, err = store.Open(ctx, o.Store, store.WithAlertHold(o.Alerts.Hold)); err != nil {
			return s, err
		}
	} else {
		if err := os.MkdirAll(filepath.Dir(store.LockPath(o.Store)), 0o700); err != nil {
			return s, err
		}
		if s.lock, err = lock.Acquire(ctx, store.LockPath(o.Store), o.WaitLock); err != nil {
			return s, err
		}
		if s.Store, err = store.Open(ctx, o.Store, store.WithAlertHold(o.Alerts.Hold)); err != nil {
			return s, err
		}
	}
	if s.Evidence, err = o.Locker(); err != nil {
		return s, err
	}
	s.Tor, err = o.StartTor(ctx, progress, log)
	return s, err
}

// RunLock takes the run lock of the SQLite store at loc (the flock on
// loc.lock), waiting up to wait. A PostgreSQL store has none (nil lock):
// its workers coordinate through leases in the database.
func RunLock(ctx context.Context, loc string, wait time.Duration) (*lock.Lock, error) {
	if store.IsPostgres(loc) {
		return nil, nil
	}
	return lock.Acquire(ctx, store.LockPath(loc), wait)
}

// Close stops Tor, releases the lock and closes the store.
func (s *Session) Close() {
	if s.Tor != nil {
		_ = s.Tor.Close()
	}
	if s.lock != nil {
		_ = s.lock.Release()
	}
	if s.Store != nil {
		_ = s.Store.Close()
	}
}

// Delivery says where a scan's alerts go and how long to keep trying.
type Delivery struct {
	Notifiers map[string]alerts.Notifier
	// Wait bounds the retries after the scan; events still pending then
	// stay in the outbox for the next run.
	Wait   time.Duration
	Logger *slog.Logger
	// OnError receives a delivery failure after the scan, which does not
	// fail the run.
	OnError func(error)
}

func (d Delivery) dispatcher(st *store.Store) *outbox.Dispatcher {
	return &outbox.Dispatcher{Store: st, Notifiers: d.Notifiers, Logger: d.Logger, Initial: time.Second, Max: 10 * time.Second}
}

// RunAndDeliver runs a scan while a delivery worker sends each alert as
// soon as its event is committed, then keeps retrying for up to d.Wait.
func RunAndDeliver(ctx context.Context, cfg Config, d Delivery) (report.Summary, outbox.Result, error) {
	var sum report.Summary
	res, err := d.during(ctx, cfg.Store, func(kick func(string)) error {
		if kick != nil {
			cfg.OnEvent = kick
		}
		var err error
		sum, err = Run(ctx, cfg)
		return err
	})
	return sum, res, err
}

// WorkAndDeliver runs a shared-run worker with alert delivery, as
// RunAndDeliver runs a scan.
func WorkAndDeliver(ctx context.Context, w *Worker, d Delivery) ([]report.Summary, outbox.Result, error) {
	var sums []report.Summary
	res, err := d.during(ctx, w.Store, func(kick func(string)) error {
		if kick != nil {
			configFor := w.ConfigFor
			w.ConfigFor = func(sp RunSpec, b *fingerprint.Bank) Config {
				cfg := configFor(sp, b)
				cfg.OnEvent = kick
				return cfg
			}
		}
		var err error
		sums, err = w.Work(ctx)
		if ctx.Err() != nil {
			return nil // interrupted: the summaries say so
		}
		return err
	})
	return sums, res, err
}

// during runs work while a delivery worker flushes the outbox, kicked by
// each committed event, then delivers what is left for up to d.Wait.
// Without notifiers, work runs alone (kick is nil).
func (d Delivery) during(ctx context.Context, st *store.Store, work func(kick func(string)) error) (outbox.Result, error) {
	var total outbox.Result
	if len(d.Notifiers) == 0 {
		return total, work(nil)
	}
	w := outbox.NewWorker(d.dispatcher(st), time.Second)
	wctx, cancelWorker := context.WithCancel(ctx)
	defer cancelWorker()
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.Run(wctx, func(r outbox.Result, err error) {
			total.Delivered += r.Delivered
			total.GaveUp += r.GaveUp
			if err != nil && ctx.Err() == nil && d.Logger != nil {
				d.Logger.Warn("alert delivery", "err", err)
			}
		})
	}()
	err := work(func(string) { w.Kick() })
	deadline := time.Now().Add(d.Wait)
	stopWorker(w, done, cancelWorker, d.Wait)
	if err != nil && !errors.Is(err, ErrStorage) {
		return total, err
	}
	// Matches that were recorded are still announced when others could
	// not be.
	rest, derr := d.deliver(ctx, st, deadline)
	total.Delivered += rest.Delivered
	total.GaveUp += rest.GaveUp
	total.Retrying = rest.Retrying
	if derr != nil && ctx.Err() == nil && d.OnError != nil {
		d.OnError(derr)
	}
	return total, err
}

// stopWorker lets a delivery in flight finish (cutting it short would
// count as a failure and send it again), but not for longer than wait: an
// endpoint that never answers must not hold the scan past --alert-wait.
func stopWorker(w *outbox.Worker, done <-chan struct{}, cancel context.CancelFunc, wait time.Duration) {
	w.Stop()
	t := time.AfterFunc(wait, cancel)
	defer t.Stop()
	<-done
}

// deliver flushes the outbox until nothing is due or the deadline has
// passed; no attempt runs past it.
func (d Delivery) deliver(ctx context.Context, st *store.Store, deadline time.Time) (outbox.Result, error) {
	var total outbox.Result
	disp := d.dispatcher(st)
	wctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	for {
		r, err := disp.Flush(wctx)
		total.Delivered += r.Delivered
		total.GaveUp += r.GaveUp
		if err != nil && (ctx.Err() != nil || wctx.Err() == nil) {
			return total, err
		}
		// Disabled endpoints (410 Gone) are not waited for.
		pending, err := disp.Pending(ctx)
		total.Retrying = pending
		if err != nil || pending == 0 || wctx.Err() != nil {
			return total, err
		}
		select {
		case <-ctx.Done():
			return total, ctx.Err()
		case <-wctx.Done():
		case <-time.After(time.Second):
		}
	}
}
