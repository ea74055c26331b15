package watch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/leakwatch/leakwatch/alerts"
	"github.com/leakwatch/leakwatch/internal/config"
	"github.com/leakwatch/leakwatch/internal/evidence"
	"github.com/leakwatch/leakwatch/internal/lock"
	"github.com/leakwatch/leakwatch/internal/metrics"
	"github.com/leakwatch/leakwatch/internal/outbox"
	"github.com/leakwatch/leakwatch/internal/report"
	"github.com/leakwatch/leakwatch/internal/scan"
	"github.com/leakwatch/leakwatch/internal/store"
	"github.com/leakwatch/leakwatch/internal/tor"
)

// shutdownGrace bounds how long the HTTP server may take to close.
const shutdownGrace = 5 * time.Second

// Options are the scan options, whose Watch section holds the schedule
// and the endpoint address, plus how the watcher starts and stops.
type Options struct {
	scan.Options
	// InitialRun scans at once instead of at the first scheduled time.
	InitialRun bool
	// Ticks stops the watcher after that many runs (0: never).
	Ticks int
}

// Validate checks the scan options, that a schedule is given and that
// the endpoints stay on loopback unless allowed.
func (o Options) Validate() error {
	if err := o.Options.Validate(); err != nil {
		return err
	}
	if o.Watch.Schedule == "" {
		return errors.New(`--schedule is required, e.g. --schedule "@every 6h" or --schedule "30 3 * * *"`)
	}
	if err := CheckListen(o.Watch.Listen, o.Watch.ListenAny); err != nil {
		return fmt.Errorf("--listen %w", err)
	}
	return nil
}

// CheckListen refuses non-loopback addresses unless allowed (the error
// is to follow the flag's name): the
// endpoints have no authentication and reveal what is scanned and found.
func CheckListen(addr string, anyOK bool) error {
	if addr == "off" {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q: want HOST:PORT or off", addr)
	}
	if anyOK || host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%s is not a loopback address: /metrics and /healthz are unauthenticated and show what leakwatch scans and finds; keep 127.0.0.1 and put an authenticating proxy in front, or pass --listen-any on a trusted network", addr)
}

// Output is where a watcher reports.
type Output interface {
	// Printf writes a message for the operator.
	Printf(format string, args ...any)
	// Skipped reports a run skipped because another run held the store.
	Skipped(report.Skipped)
	// Finished reports a run with its status (one of metrics.Status*)
	// and, if it failed, its error.
	Finished(report.Finished)
}

// Env is what a watcher gets from its caller besides the options.
type Env struct {
	Seeds  []string
	Alerts alerts.Endpoints
	// AlertTransport, when set, is the transport Alerts were opened with
	// (Tor mode): Run binds it to its Tor client once tor is up.
	AlertTransport *tor.Pending
	Out            Output
	// Decorate sets the output callbacks of each run's configuration.
	Decorate func(*scan.Config)
	// Progress receives Tor's bootstrap progress.
	Progress io.Writer
	Logger   *slog.Logger
	// Version names the build in leakwatch_build_info.
	Version string
}

// watcher is one running watch.
type watcher struct {
	o       Options
	env     Env
	sched   cron.Schedule
	st      *store.Store
	tc      *tor.Client
	bank    *bankFile
	lock    *sharedLock
	flusher *lockedFlusher   // nil without alert endpoints
	worker  *outbox.Worker   // nil without alert endpoints
	metrics *metrics.Metrics // never nil
	health  *metrics.Health

	evidence *evidence.Locker // nil when the locker is off
	// baseline is read once at start.
	baseline scan.Baseline
}

// Run watches until ctx ends, or until o.Ticks runs happened and the
// queued alerts went out (within o.Alerts.Wait). Events not delivered stay
// in the store's outbox for the next start.
func Run(ctx context.Context, o Options, env Env) error {
	if env.Logger == nil {
		env.Logger = slog.New(slog.DiscardHandler)
	}
	sched, err := config.ParseSchedule(o.Watch.Schedule)
	if err != nil {
		return fmt.Errorf("--schedule: %w", err)
	}
	bf, err := loadBankFile(o.Bank)
	if err != nil {
		return err
	}
	baseline, err := o.LoadBaseline()
	if err != nil {
		return &scan.UsageError{Err: err}
	}
	st, err := store.Open(ctx, o.Store, store.WithAlertHold(o.Alerts.Hold))
	if err != nil {
		return err
	}
	defer st.Close()
	locker, err := o.Locker()
	if err != nil {
		return err
	}
	tc, err := o.StartTor(ctx, env.Progress, env.Logger)
	if err != nil {
		return err
	}
	defer tc.Close()
	if env.AlertTransport != nil {
		env.AlertTransport.Bind(tc)
	}
	w := &watcher{o: o, env: env, sched: sched, st: st, tc: tc, bank: bf, evidence: locker, baseline: baseline,
		lock: &sharedLock{take: func(ctx context.Context, wait time.Duration) (*lock.Lock, error) {
			return scan.RunLock(ctx, o.Store, wait)
		}}, health: metrics.NewHealth(time.Now(), o.Watch.UnhealthyAfter)}
	w.setupAlerts()
	stopServer, err := w.serve()
	if err != nil {
		return err
	}
	defer stopServer()
	return w.run(ctx)
}

// setupAlerts creates the delivery worker and the metrics, which report
// the worker's backlog.
func (w *watcher) setupAlerts() {
	var d *outbox.Dispatcher
	if len(w.env.Alerts.Notifiers) > 0 {
		d = &outbox.Dispatcher{Store: w.st, Notifiers: w.env.Alerts.Notifiers, Logger: w.env.Logger, Initial: 2 * time.Second, Max: time.Hour}
		w.flusher = &lockedFlusher{d: d, lock: w.lock}
		w.worker = outbox.NewWorker(w.flusher, time.Second)
	}
	w.metrics = metrics.New(metrics.Options{Runtime: true, Version: w.env.Version, Pending: func() float64 {
		if d == nil {
			return 0
		}
		pctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n, _ := d.Pending(pctx)
		return float64(n)
	}})
	if d != nil {
		d.OnAttempt = w.metrics.EndpointAttempt
	}
	w.metrics.BankCaptures(w.bank.bank.Len())
}

// run starts the alert worker, runs the schedule and stops the worker.
func (w *watcher) run(ctx context.Context) error {
	workerDone := make(chan struct{})
	wctx, stopWorker := context.WithCancel(ctx)
	defer stopWorker()
	if w.worker != nil {
		go func() {
			defer close(workerDone)
			w.worker.Run(wctx, w.reportDelivery)
		}()
		w.worker.Kick() // events left over from before the start
	} else {
		close(workerDone)
	}
	w.env.Out.Printf("watching %d seeds on schedule %q with %d alert endpoints", len(w.env.Seeds), w.o.Watch.Schedule, len(w.env.Alerts.Keys))
	w.loop(ctx)
	if ctx.Err() == nil {
		w.drain(ctx) // Ticks reached: send what is queued, within Alerts.Wait
	}
	if w.worker != nil {
		w.worker.Stop()
	}
	stopWorker()
	<-workerDone
	if ctx.Err() != nil {
		w.env.Out.Printf("signal received: stopped; pending alerts stay queued in the store")
	}
	w.env.Out.Printf("shutdown complete")
	return nil
}

// serve starts the /metrics and /healthz server unless Watch.Listen is
// off.
func (w *watcher) serve() (stop func(), err error) {
	if w.o.Watch.Listen == "off" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", w.o.Watch.Listen)
	if err != nil {
		return nil, fmt.Errorf("--listen: %w", err)
	}
	srv := &http.Server{Handler: metrics.Mux(w.metrics, w.health), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	w.env.Out.Printf("metrics on http://%s/metrics, health on http://%s/healthz", ln.Addr(), ln.Addr())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

// loop runs the schedule until ctx ends or Ticks runs have happened.
func (w *watcher) loop(ctx context.Context) {
	next := time.Now()
	if !w.o.InitialRun {
		next = w.sched.Next(next)
	}
	for n := 0; w.o.Ticks == 0 || n < w.o.Ticks; n++ {
		w.env.Logger.Info("next run", "at", next.Format(time.RFC3339))
		if !sleepUntil(ctx, next) {
			return
		}
		w.tick(ctx)
		if ctx.Err() != nil {
			return
		}
		next = nextSlot(w.sched, next, time.Now())
	}
}

// sleepUntil waits for the wall-clock time at, waking at least once a
// minute to look at the clock again: a timer counts elapsed time, which
// stops while the machine is suspended and ignores a clock set forward,
// and a slot must not fire hours late for that. It is false if ctx ended.
func sleepUntil(ctx context.Context, at time.Time) bool {
	at = at.Round(0) // the wall clock only
	for {
		d := time.Until(at)
		if d <= 0 {
			return true
		}
		t := time.NewTimer(min(d, time.Minute))
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
	}
}

// nextSlot is the first slot of sched after the one at prev that is still
// to come at now. Slots follow from slots, not from when a run ended, so
// "@every 6h" keeps its hours however long a run takes; runs that overran
// a slot skip it rather than pile up.
func nextSlot(sched cron.Schedule, prev, now time.Time) time.Time {
	next := sched.Next(prev)
	for !next.After(now) {
		next = sched.Next(next)
	}
	return next
}

// tick runs one scheduled scan.
func (w *watcher) tick(ctx context.Context) {
	release, err := w.lock.acquire(ctx, w.o.WaitLock)
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, lock.ErrLocked) {
			w.env.Out.Printf("run skipped: %v", err)
			w.metrics.SkippedLocked()
			w.health.Skipped()
			w.env.Out.Skipped(report.Skipped{Reason: "locked", At: time.Now().UTC()})
			return
		}
		w.finish(report.Summary{}, metrics.StatusFailed, err)
		return
	}
	defer release()

	bank, changed, berr := w.bank.current()
	switch {
	case berr != nil:
		w.env.Out.Printf("bank %s could not be reloaded, scanning with the previous one: %v", w.o.Bank, berr)
	case changed:
		w.env.Out.Printf("bank %s changed on disk: reloaded (%d captures)", w.o.Bank, bank.Len())
	}
	cfg := w.o.Config(w.tc, w.env.Seeds, bank, w.st, w.env.Alerts.Keys, w.env.Logger)
	cfg.Evidence = w.evidence
	cfg.Baseline = w.baseline
	if w.env.Decorate != nil {
		w.env.Decorate(&cfg)
	}
	if w.worker != nil {
		cfg.OnEvent = func(string) { w.worker.Kick() }
	}
	w.metrics.BankCaptures(bank.Len())
	// The counters move while the scan runs.
	prev := cfg.OnProgress
	cfg.OnProgress = func(p report.Summary) {
		w.metrics.Live(metrics.Run{Pages: p.Pages, ImagesHashed: p.Hashed, Matches: p.Matches, ErrorsBy: p.ErrorsBy})
		if prev != nil {
			prev(p)
		}
	}
	sum, err := scan.Run(ctx, cfg)
	status := runStatus(ctx, sum, err)
	if berr != nil {
		if sum.ErrorsBy == nil {
			sum.ErrorsBy = map[string]int64{}
		}
		sum.ErrorsBy["bank_reload"]++
	}
	w.finish(sum, status, err)
}

// runStatus classifies a finished scan for metrics and health.
func runStatus(ctx context.Context, sum report.Summary, err error) string {
	switch {
	case sum.Interrupted || ctx.Err() != nil:
		return metrics.StatusInterrupted
	case err != nil:
		return metrics.StatusFailed
	case sum.Errors > 0 && sum.Pages == 0 && sum.Assets == 0:
		return metrics.StatusFailed // nothing could be fetched at all
	case sum.Errors > 0:
		return metrics.StatusPartial
	}
	return metrics.StatusOK
}

func (w *watcher) finish(sum report.Summary, status string, err error) {
	end := time.Now()
	w.metrics.ObserveRun(metrics.Run{Status: status, Duration: sum.Duration, Pages: sum.Pages, ImagesHashed: sum.Hashed, Matches: sum.Matches,
		IncidentsChanged: sum.Changed(), ErrorsBy: sum.ErrorsBy}, end)
	w.health.Observe(status, end)
	fin := report.Finished{Status: status, Summary: sum}
	if err != nil {
		fin.Err = err.Error()
	}
	w.env.Out.Finished(fin)
	w.env.Logger.Info("run finished", "status", status, "pages", sum.Pages, "matches", sum.Matches, "changed", sum.Changed(), "errors", sum.Errors)
}

func (w *watcher) reportDelivery(r outbox.Result, err error) {
	w.metrics.ObserveAlerts(r.Delivered, r.Retrying+r.GaveUp)
	if err != nil {
		w.env.Logger.Warn("alert delivery", "err", err)
	}
}

// drain delivers queued alerts until none is pending or Alerts.Wait has
// passed, for a watcher that stops on its own (Ticks).
func (w *watcher) drain(ctx context.Context) {
	if w.worker == nil {
		return
	}
	deadline := time.Now().Add(w.o.Alerts.Wait)
	for time.Now().Before(deadline) {
		n, err := w.flusher.d.Pending(ctx)
		if err != nil || n == 0 {
			return
		}
		w.worker.Kick()
		select {
		case <-ctx.Done():
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}
