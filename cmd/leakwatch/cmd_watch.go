package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/robfig/cron/v3"
	"github.com/spf13/cobra"

	"github.com/leakwatch/leakwatch/fingerprint"
	"github.com/leakwatch/leakwatch/internal/config"
	"github.com/leakwatch/leakwatch/internal/lock"
	"github.com/leakwatch/leakwatch/internal/metrics"
	"github.com/leakwatch/leakwatch/internal/outbox"
	"github.com/leakwatch/leakwatch/internal/scan"
	"github.com/leakwatch/leakwatch/internal/store"
	"github.com/leakwatch/leakwatch/internal/tor"
)

// defaultListen is where watch serves /metrics and /healthz.
const defaultListen = "127.0.0.1:9477"

// shutdownGrace bounds how long the HTTP server may take to close.
const shutdownGrace = 5 * time.Second

type watchFlags struct {
	scanFlags
	schedule       string
	listen         string
	listenAny      bool
	unhealthyAfter int
	initialRun     bool
	ticks          int
}

func (a *app) watchCmd() *cobra.Command {
	var f watchFlags
	cmd := &cobra.Command{
		Use:   "watch --schedule SPEC --bank PATH [scan flags] [SEED...]",
		Short: "Scan on a schedule, deliver alerts continuously, serve /metrics and /healthz",
		Long: `watch runs the same scan as "leakwatch scan" on a schedule: "@every 6h", a
descriptor (@hourly, @daily, @weekly) or five cron fields ("30 3 * * *",
optionally prefixed "CRON_TZ=Europe/Paris "). Between runs an alert worker
keeps delivering queued events, so retries go out without waiting for the
next scan; a new incident is sent as soon as it is recorded.

Each run takes the store's lock. If another run holds it (a scan started by
cron, say), the run is skipped, logged and counted in
leakwatch_runs_skipped_locked_total; --wait-lock waits for it first. The
bank file is reloaded when it changes on disk ("leakwatch enroll" replaces
it atomically).

/metrics (Prometheus) and /healthz (JSON; 503 after --unhealthy-after
failed runs in a row) are served on --listen, 127.0.0.1 only unless
--listen-any: both are unauthenticated and tell whoever asks what is being
scanned and found.

SIGTERM or SIGINT cancels the current run (incidents already recorded stay;
alert events not delivered yet stay in the outbox for the next start),
stops the alert worker and the HTTP server, and exits 0.

` + exitCodesHelp,
		Args:        cobra.ArbitraryArgs,
		Annotations: map[string]string{configAnnotation: configAll},
		RunE: func(cmd *cobra.Command, args []string) error {
			seeds, err := a.seeds(args)
			if err != nil {
				return err
			}
			return a.runWatch(cmd.Context(), f, seeds)
		},
	}
	fl := cmd.Flags()
	f.scanFlags.register(fl)
	// Per-run exit codes mean nothing to a long-running process.
	for _, n := range []string{"fail-on-findings", "fail-on-errors"} {
		_ = fl.MarkHidden(n)
	}
	fl.StringVar(&f.schedule, "schedule", "", `when to scan: "@every 6h", "@daily" or cron fields such as "30 3 * * *" (required)`)
	fl.StringVar(&f.listen, "listen", defaultListen, "address for /metrics and /healthz, or off")
	fl.BoolVar(&f.listenAny, "listen-any", false, "allow --listen on a non-loopback address (the endpoints are unauthenticated)")
	fl.IntVar(&f.unhealthyAfter, "unhealthy-after", 3, "failed runs in a row before /healthz answers 503")
	fl.BoolVar(&f.initialRun, "initial-run", true, "scan once at start instead of waiting for the first scheduled time")
	fl.IntVar(&f.ticks, "ticks", 0, "stop after this many scheduled runs, skipped ones included, once alerts are delivered or --alert-wait passed (0: run until SIGTERM)")
	return cmd
}

// watcher is one "leakwatch watch" process.
type watcher struct {
	a       *app
	f       watchFlags
	seeds   []string
	sched   cron.Schedule
	st      *store.Store
	tc      *tor.Client
	bank    *bankFile
	lock    *sharedLock
	keys    []string
	flusher *lockedFlusher   // nil without alert endpoints
	worker  *outbox.Worker   // nil without alert endpoints
	metrics *metrics.Metrics // never nil
	health  *metrics.Health
	log     *slog.Logger
}

func (a *app) runWatch(parent context.Context, f watchFlags, seeds []string) error {
	// watch owns its shutdown: SIGTERM (systemd, docker) and SIGINT end it
	// cleanly with exit 0.
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	defer stop()

	if err := requireFlag("bank", f.bank); err != nil {
		return err
	}
	if err := f.validateLimits(); err != nil {
		return err
	}
	if f.groupBy != string(scan.GroupSite) && f.groupBy != string(scan.GroupPage) {
		return usagef("--group-by must be site or page")
	}
	if f.schedule == "" {
		return usagef(`--schedule is required, e.g. --schedule "@every 6h" or --schedule "30 3 * * *"`)
	}
	sched, err := config.ParseSchedule(f.schedule)
	if err != nil {
		return usagef("--schedule: %v", err)
	}
	if err := checkListenAddr(f.listen, f.listenAny); err != nil {
		return err
	}
	if f.storePath == "" {
		f.storePath = a.defaultStorePath()
	}
	ns, keys, err := a.notifiers(f.alertTargets())
	if err != nil {
		return err
	}
	defer closeNotifiers(ns)
	bf, err := loadBankFile(f.bank)
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, f.storePath)
	if err != nil {
		return err
	}
	defer st.Close()
	tc, err := a.startTor(ctx, f.scanFlags)
	if err != nil {
		return err
	}
	defer tc.Close()

	w := &watcher{a: a, f: f, seeds: seeds, sched: sched, st: st, tc: tc, bank: bf, keys: keys,
		lock: &sharedLock{path: f.storePath + ".lock"}, log: a.logger(),
		health: metrics.NewHealth(time.Now(), f.unhealthyAfter)}
	var d *outbox.Dispatcher
	if len(ns) > 0 {
		d = &outbox.Dispatcher{Store: st, Notifiers: ns, Logger: a.logger(), Initial: 2 * time.Second, Max: time.Hour}
		w.flusher = &lockedFlusher{d: d, lock: w.lock}
		w.worker = outbox.NewWorker(w.flusher, time.Second)
	}
	w.metrics = metrics.New(metrics.Options{Runtime: true, Pending: func() float64 {
		if d == nil {
			return 0
		}
		pctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n, _ := d.Pending(pctx)
		return float64(n)
	}})

	stopServer, err := w.serve()
	if err != nil {
		return err
	}
	defer stopServer()

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

	a.msg("watching %d seeds on schedule %q with %d alert endpoints", len(seeds), f.schedule, len(keys))
	w.loop(ctx)
	if ctx.Err() == nil {
		w.drain(ctx) // --ticks reached: send what is queued, within --alert-wait
	}
	stopWorker()
	<-workerDone
	if ctx.Err() != nil {
		a.msg("signal received: stopped; pending alerts stay queued in the store")
	}
	a.msg("shutdown complete")
	return nil
}

// serve starts the /metrics and /healthz server unless --listen is off.
func (w *watcher) serve() (stop func(), err error) {
	if w.f.listen == "off" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", w.f.listen)
	if err != nil {
		return nil, fmt.Errorf("--listen: %w", err)
	}
	srv := &http.Server{Handler: metrics.Mux(w.metrics, w.health), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	w.a.msg("metrics on http://%s/metrics, health on http://%s/healthz", ln.Addr(), ln.Addr())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

// checkListenAddr refuses non-loopback addresses unless allowed: the
// endpoints have no authentication and reveal what is scanned and found.
func checkListenAddr(addr string, anyOK bool) error {
	if addr == "off" {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return usagef("--listen %q: want HOST:PORT or off", addr)
	}
	if anyOK || host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return usagef("--listen %s is not a loopback address: /metrics and /healthz are unauthenticated and show what leakwatch scans and finds; keep 127.0.0.1 and put an authenticating proxy in front, or pass --listen-any on a trusted network", addr)
}

// loop runs the schedule until ctx ends or --ticks runs have happened.
func (w *watcher) loop(ctx context.Context) {
	next := time.Now()
	if !w.f.initialRun {
		next = w.sched.Next(next)
	}
	for n := 0; w.f.ticks == 0 || n < w.f.ticks; n++ {
		w.log.Info("next run", "at", next.Format(time.RFC3339))
		t := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		w.tick(ctx)
		if ctx.Err() != nil {
			return
		}
		// Runs that overran the next slot skip it rather than pile up.
		next = w.sched.Next(time.Now())
	}
}

// tick runs one scheduled scan.
func (w *watcher) tick(ctx context.Context) {
	release, err := w.lock.acquire(ctx, w.f.waitLock)
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, lock.ErrLocked) {
			w.a.msg("run skipped: %v", err)
			w.metrics.SkippedLocked()
			w.health.Skipped()
			if w.f.asJSON {
				_ = w.a.jsonLine(struct {
					Type   string    `json:"type"`
					Reason string    `json:"reason"`
					At     time.Time `json:"at"`
				}{"skipped", "locked", time.Now().UTC()})
			}
			return
		}
		w.finish(scan.Summary{}, metrics.StatusFailed, err)
		return
	}
	defer release()

	bank, changed, berr := w.bank.current()
	switch {
	case berr != nil:
		w.a.msg("bank %s could not be reloaded, scanning with the previous one: %v", w.f.bank, berr)
	case changed:
		w.a.msg("bank %s changed on disk: reloaded (%d captures)", w.f.bank, bank.Len())
	}
	cfg := w.a.scanConfig(w.f.scanFlags, w.tc, w.seeds, bank, w.st, w.keys)
	if w.worker != nil {
		cfg.OnEvent = func(string) { w.worker.Kick() }
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
func runStatus(ctx context.Context, sum scan.Summary, err error) string {
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

func (w *watcher) finish(sum scan.Summary, status string, err error) {
	end := time.Now()
	w.metrics.ObserveRun(metrics.Run{Status: status, Pages: sum.Pages, ImagesHashed: sum.Hashed, Matches: sum.Matches,
		IncidentsChanged: sum.Changed(), ErrorsBy: sum.ErrorsBy}, end)
	w.health.Observe(status, end)
	if err != nil && status == metrics.StatusFailed {
		w.a.msg("run failed: %v", err)
	} else {
		w.a.printSummary(sum, outbox.Result{})
	}
	if w.f.asJSON {
		line := struct {
			Type   string `json:"type"`
			Status string `json:"status"`
			Error  string `json:"error,omitempty"`
			scan.Summary
		}{Type: "summary", Status: status, Summary: sum}
		if err != nil {
			line.Error = err.Error()
		}
		_ = w.a.jsonLine(line)
	}
	w.log.Info("run finished", "status", status, "pages", sum.Pages, "matches", sum.Matches, "changed", sum.Changed(), "errors", sum.Errors)
}

func (w *watcher) reportDelivery(r outbox.Result, err error) {
	w.metrics.ObserveAlerts(r.Delivered, r.Retrying+r.GaveUp)
	if err != nil {
		w.log.Warn("alert delivery", "err", err)
	}
}

// drain delivers queued alerts until none is pending or --alert-wait has
// passed, for a watcher that stops on its own (--ticks).
func (w *watcher) drain(ctx context.Context) {
	if w.worker == nil {
		return
	}
	deadline := time.Now().Add(w.f.alertWait)
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

// sharedLock lets the scheduled scan and the alert worker of one watcher
// share the store's flock: the first user takes it, the last one drops it.
// A second flock from the same process would conflict with the first, and
// the worker must be able to deliver while a scan runs.
type sharedLock struct {
	path string

	mu sync.Mutex
	n  int
	lk *lock.Lock
}

func (s *sharedLock) acquire(ctx context.Context, wait time.Duration) (release func(), err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n == 0 {
		lk, err := lock.Acquire(ctx, s.path, wait)
		if err != nil {
			return nil, err
		}
		s.lk = lk
	}
	s.n++
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.n--
			if s.n == 0 {
				_ = s.lk.Release()
				s.lk = nil
			}
		})
	}, nil
}

// lockedFlusher flushes the outbox only while holding the store lock, so
// the watcher never delivers at the same time as a separately started
// scan (which would send the same events twice). When the other run holds
// the lock, the flush is skipped: that run delivers, or the next poll does.
type lockedFlusher struct {
	d    *outbox.Dispatcher
	lock *sharedLock
}

func (l *lockedFlusher) Flush(ctx context.Context) (outbox.Result, error) {
	due, err := l.d.HasDue(ctx)
	if err != nil || !due {
		return outbox.Result{}, err
	}
	release, err := l.lock.acquire(ctx, 0)
	if errors.Is(err, lock.ErrLocked) {
		return outbox.Result{}, nil
	}
	if err != nil {
		return outbox.Result{}, err
	}
	defer release()
	return l.d.Flush(ctx)
}

// bankFile is the bank, reloaded when its file changes.
type bankFile struct {
	path string
	bank *fingerprint.Bank
	info os.FileInfo
}

func loadBankFile(path string) (*bankFile, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	b, err := fingerprint.LoadBank(path)
	if err != nil {
		return nil, err
	}
	return &bankFile{path: path, bank: b, info: info}, nil
}

// current returns the bank, reloading it if the file was replaced or
// rewritten since the last load. On failure the previous bank is returned
// with the error, so a bad file never stops the watcher.
func (b *bankFile) current() (bank *fingerprint.Bank, changed bool, err error) {
	info, err := os.Stat(b.path)
	if err != nil {
		return b.bank, false, err
	}
	if os.SameFile(info, b.info) && info.Size() == b.info.Size() && info.ModTime().Equal(b.info.ModTime()) {
		return b.bank, false, nil
	}
	nb, err := fingerprint.LoadBank(b.path)
	if err != nil {
		return b.bank, false, err
	}
	b.bank, b.info = nb, info
	return nb, true, nil
}

var _ outbox.Flusher = (*lockedFlusher)(nil)
