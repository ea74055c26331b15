package scan

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/leakwatch/leakwatch/crawler"
	"github.com/leakwatch/leakwatch/fingerprint"
	"github.com/leakwatch/leakwatch/internal/config"
	"github.com/leakwatch/leakwatch/internal/report"
	"github.com/leakwatch/leakwatch/internal/store"
	"github.com/leakwatch/leakwatch/internal/tor"
)

// RunSpec is what a shared run fixes for every worker that takes part in
// it: the seeds, the scope and the limits. Workers bring their own bank,
// Tor and alert endpoints.
type RunSpec struct {
	Seeds          []string      `json:"seeds"`
	Scope          config.Scope  `json:"scope"`
	Limits         config.Limits `json:"limits"`
	Recrawl        bool          `json:"recrawl,omitempty"`
	WholeImageOnly bool          `json:"whole_image_only,omitempty"`
	// Baseline is the (capture ID, SHA-256) pairs of the run's baseline
	// (--baseline at enqueue), so every worker leaves them out.
	Baseline [][2]string `json:"baseline,omitempty"`
	// Tor marks a run started in Tor mode: only workers in Tor mode take
	// its items, so none is fetched outside Tor.
	Tor bool `json:"tor,omitempty"`
}

// WithBaseline returns sp carrying b's pairs.
func (sp RunSpec) WithBaseline(b Baseline) RunSpec {
	sp.Baseline = b.pairs()
	return sp
}

// Spec is the shared-run specification of a scan of seeds with o.
func (o Options) Spec(seeds []string) RunSpec {
	m, err := tor.ParseMode(o.Tor.Mode)
	return RunSpec{Seeds: seeds, Scope: o.Scope, Limits: o.Limits, Recrawl: o.Recrawl, WholeImageOnly: o.WholeImageOnly,
		Tor: err == nil && m.Mode.IsTor()}
}

// ForRun returns o with the scope and limits of a shared run.
func (o Options) ForRun(sp RunSpec) Options {
	o.Scope, o.Limits, o.Recrawl, o.WholeImageOnly = sp.Scope, sp.Limits, sp.Recrawl, sp.WholeImageOnly
	return o
}

// maxItemsPerRun bounds a shared run's queue, as maxAssetsPerRun bounds
// one process's.
const maxItemsPerRun = 200_000

// Enqueue starts a shared run in the store: its spec and one work item
// per seed. A seed that is not an http(s) URL with a host is refused.
func Enqueue(ctx context.Context, st *store.Store, sp RunSpec) (int64, error) {
	var items []store.Item
	for _, s := range sp.Seeds {
		u, err := url.Parse(strings.TrimSpace(s))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return 0, fmt.Errorf("%w: %q (want http:// or https:// with a host)", crawler.ErrBadSeed, s)
		}
		u.Fragment = ""
		items = append(items, store.Item{URL: u.String(), Kind: crawler.Classify(u).String(), Depth: 1})
	}
	if len(items) == 0 {
		return 0, fmt.Errorf("%w: no seed", crawler.ErrBadSeed)
	}
	js, err := json.Marshal(sp)
	if err != nil {
		return 0, err
	}
	return st.CreateRun(ctx, strings.Join(sp.Seeds, " "), js, items)
}

// Worker takes work items of shared runs from a PostgreSQL (or SQLite)
// store until its context ends or, with ExitWhenIdle, no shared run is
// open any more. Every item is held under a lease renewed by heartbeats;
// an item whose lease is lost is abandoned and its result dropped.
type Worker struct {
	Store *store.Store
	// ConfigFor builds the scan configuration of a run from its spec and
	// the current bank (the worker's transport, endpoints and output).
	ConfigFor func(RunSpec, *fingerprint.Bank) Config
	// Bank is the bank loaded at start; BankPath, if set, is watched and
	// reloaded when it changes.
	Bank     *fingerprint.Bank
	BankPath string
	// Endpoints are the alert endpoint keys (for announcing growth).
	Endpoints []string
	// ID names the worker in leases and in "runs show" (default
	// host:pid:random).
	ID string
	// Lease is how long a claimed item stays ours without a heartbeat
	// (default 30 s); heartbeats come every third of it.
	Lease time.Duration
	// Poll is the wait between empty claims (default 1 s).
	Poll time.Duration
	// Slots is the number of items in flight (default GOMAXPROCS, at
	// least 2: a page waits on the network, an image on the CPU).
	Slots int
	// Run restricts the worker to one run (scan on a PostgreSQL store).
	Run int64
	// Tor says the worker fetches through Tor; without it the items of
	// a run started in Tor mode are given back, never fetched.
	Tor bool
	// ExitWhenIdle ends Work when no claimable item is left and no shared
	// run is open (or, with Run, when that run is done).
	ExitWhenIdle bool
	// OnRunDone is called by the worker that finished a run (the one
	// whose completion emptied its queue).
	OnRunDone func(store.RunInfo)
	Logger    *slog.Logger
	// Metrics, if set, is told what the worker does (metrics.Worker).
	Metrics WorkerMetrics

	storeErrors atomic.Int64
	leaseLosses atomic.Int64
	// recordFailures counts items in a row whose matches the store
	// refused (storeBackoff).
	recordFailures atomic.Int64
}

// WorkerMetrics receives what a worker does, for its metrics.
type WorkerMetrics interface {
	Claimed(items int, took time.Duration)
	Finished(failed bool)
	Released()
	LeaseRenewed()
	LeaseLost()
	// StoreRetry counts a failed store round trip; op is one of
	// metrics.StoreOps.
	StoreRetry(op string)
}

type noMetrics struct{}

func (noMetrics) Claimed(int, time.Duration) {}
func (noMetrics) Finished(bool)              {}
func (noMetrics) Released()                  {}
func (noMetrics) LeaseRenewed()              {}
func (noMetrics) LeaseLost()                 {}
func (noMetrics) StoreRetry(string)          {}

// NewWorkerID returns a worker ID for this process: host:pid:random.
func NewWorkerID() string {
	host, _ := os.Hostname()
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s:%d:%s", host, os.Getpid(), hex.EncodeToString(b))
}

// sharedRun is a worker's state for one run: its config and scanner.
type sharedRun struct {
	id   int64
	spec RunSpec
	cfg  Config
	cr   *crawler.Crawler
	sc   *scanner
}

// Work runs the worker. The summaries are those of the runs it took part
// in, counting what this worker did.
func (w *Worker) Work(ctx context.Context) ([]report.Summary, error) {
	w.defaults()
	runs := map[int64]*sharedRun{}
	var order []int64
	// declined are the runs this worker takes no part in (started in Tor
	// mode, for a worker without Tor): its claims leave them out.
	declined := map[int64]bool{}
	bank := w.Bank
	var bankStat os.FileInfo
	if w.BankPath != "" {
		bankStat, _ = os.Stat(w.BankPath)
	}
	if len(w.Endpoints) == 0 {
		w.Logger.Warn("no alert endpoints: the incidents this worker records are sent by the processes that have endpoints", "worker", w.ID)
	}
	// Growth that a killed worker recorded but never announced goes out.
	if _, err := w.Store.Announce(ctx, w.Endpoints); err != nil {
		w.Logger.Warn("announce", "err", err)
	}
	free := make(chan struct{}, w.Slots)
	for range w.Slots {
		free <- struct{}{}
	}
	var wg sync.WaitGroup
	var inflight atomic.Int64
	fail := 0
	for ctx.Err() == nil {
		if bank2, st2, ok := w.reloadBank(bankStat); ok {
			bank, bankStat = bank2, st2
			runs = map[int64]*sharedRun{} // new scanners use the new bank
		}
		n := len(free)
		if n == 0 {
			select {
			case <-ctx.Done():
			case <-free:
				free <- struct{}{}
			}
			continue
		}
		t0 := time.Now()
		// Bounded, so that a store that stops answering is reported and
		// retried rather than waited on for as long as TCP takes to notice.
		cctx, cancel := context.WithTimeout(ctx, w.Lease)
		items, err := w.Store.Claim(cctx, w.ID, w.Run, n, w.Lease, slices.Collect(maps.Keys(declined))...)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			fail++
			d := min(time.Duration(1<<min(fail, 5))*time.Second, 30*time.Second)
			w.storeRetry("claim", err, "attempt", fail, "retry_in", d)
			sleep(ctx, d)
			continue
		}
		fail = 0
		w.Metrics.Claimed(len(items), time.Since(t0))
		if len(items) == 0 {
			w.finishStranded(ctx, runs)
			if w.ExitWhenIdle && inflight.Load() == 0 {
				idle, err := w.idle(ctx)
				if err != nil {
					w.storeRetry("idle_check", err)
				} else if idle {
					break
				}
			}
			sleep(ctx, w.Poll)
			continue
		}
		for _, it := range items {
			<-free
			sr := runs[it.RunID]
			if sr == nil {
				if sr, err = w.newRun(ctx, it.RunID, bank); err != nil {
					if errors.Is(err, errNeedsTor) {
						// A worker in Tor mode takes it; this one claims
						// no more of the run.
						if !declined[it.RunID] {
							declined[it.RunID] = true
							w.Logger.Warn("shared run started in Tor mode: its items are left to workers in Tor mode", "run", it.RunID, "worker", w.ID)
						}
						w.release(ctx, it)
						free <- struct{}{}
						continue
					}
					if errors.Is(err, errStoreUnreachable) {
						// Not the run's fault: the item goes back to the
						// queue and the claim loop backs off.
						w.storeRetry("run_config", err, "run", it.RunID, "item", it.ID)
						w.release(ctx, it)
					} else {
						// A run that cannot be set up fails its items, so
						// the run still ends.
						w.Logger.Warn("shared run unusable", "run", it.RunID, "err", err)
						if _, err := w.Store.Complete(ctx, w.ID, it, store.Result{Err: err.Error()}, 0, 0); err == nil {
							w.Metrics.Finished(true)
						}
					}
					free <- struct{}{}
					continue
				}
				runs[it.RunID] = sr
				order = append(order, it.RunID)
			}
			inflight.Add(1)
			wg.Add(1)
			go func() {
				defer func() { inflight.Add(-1); wg.Done(); free <- struct{}{} }()
				w.process(ctx, sr, it)
			}()
		}
	}
	wg.Wait()
	var out []report.Summary
	for _, id := range order {
		if sr := runs[id]; sr != nil {
			sr.sc.mu.Lock()
			sum := sr.sc.sum
			sr.sc.mu.Unlock()
			sum.RunID = id
			sum.Interrupted = ctx.Err() != nil
			out = append(out, sum)
		}
	}
	return out, ctx.Err()
}

// StoreErrors counts failed store round trips the worker retried.
func (w *Worker) StoreErrors() int64 { return w.storeErrors.Load() }

// LeaseLosses counts items the worker abandoned because it lost their
// lease (taken over, or not renewable in time).
func (w *Worker) LeaseLosses() int64 { return w.leaseLosses.Load() }

// storeRetry counts and reports a failed store round trip that will be
// retried (or whose item returns to the queue).
func (w *Worker) storeRetry(op string, err error, fields ...any) {
	w.storeErrors.Add(1)
	w.Metrics.StoreRetry(op)
	w.Logger.Warn("store unreachable, retrying", append([]any{"op", op, "worker", w.ID, "err", err}, fields...)...)
}

// release returns an item this worker gives up without a result (a
// store error, not the item's fault) to the queue at once, not counting
// the attempt. If the store cannot be reached the item comes back when
// its lease ends.
func (w *Worker) release(ctx context.Context, it store.Item) {
	w.Metrics.Released()
	if err := w.Store.Release(context.WithoutCancel(ctx), w.ID, it.ID); err != nil && !errors.Is(err, store.ErrLeaseLost) {
		w.storeRetry("release", err, "item", it.ID)
	}
}

func (w *Worker) defaults() {
	if w.ID == "" {
		w.ID = NewWorkerID()
	}
	if w.Metrics == nil {
		w.Metrics = noMetrics{}
	}
	if w.Lease <= 0 {
		w.Lease = 30 * time.Second
	}
	if w.Poll <= 0 {
		w.Poll = time.Second
	}
	if w.Slots <= 0 {
		w.Slots = max(runtime.GOMAXPROCS(0), 2)
	}
	if w.Logger == nil {
		w.Logger = slog.New(slog.DiscardHandler)
	}
}

// reloadBank loads the bank again when its file changed since last.
func (w *Worker) reloadBank(last os.FileInfo) (*fingerprint.Bank, os.FileInfo, bool) {
	if w.BankPath == "" {
		return nil, nil, false
	}
	fi, err := os.Stat(w.BankPath)
	if err != nil || (last != nil && fi.ModTime().Equal(last.ModTime()) && fi.Size() == last.Size()) {
		return nil, nil, false
	}
	b, err := fingerprint.LoadBank(w.BankPath)
	if err != nil {
		w.Logger.Warn("bank changed but cannot be loaded; keeping the loaded one", "bank", w.BankPath, "err", err)
		return nil, nil, false
	}
	w.Logger.Info("bank reloaded", "bank", w.BankPath, "captures", b.Len())
	return b, fi, true
}

// idle reports whether there is nothing left to wait for.
func (w *Worker) idle(ctx context.Context) (bool, error) {
	if w.Run != 0 {
		ri, err := w.Store.Run(ctx, w.Run)
		return err == nil && ri.Status != store.RunRunning, err
	}
	n, err := w.Store.OpenSharedRuns(ctx)
	return n == 0, err
}

// errStoreUnreachable marks a run set-up that failed on the store, not
// on the run.
var errStoreUnreachable = errors.New("store unreachable")

// errNeedsTor means a run started in Tor mode reached a worker that is
// not in Tor mode.
var errNeedsTor = errors.New("shared run needs Tor")

func (w *Worker) newRun(ctx context.Context, id int64, bank *fingerprint.Bank) (*sharedRun, error) {
	js, err := w.Store.RunConfig(ctx, id)
	if err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrNotShared) {
		return nil, fmt.Errorf("%w: %w", errStoreUnreachable, err)
	}
	if err != nil {
		return nil, err
	}
	var sp RunSpec
	if err := json.Unmarshal(js, &sp); err != nil {
		return nil, fmt.Errorf("run %d spec: %w", id, err)
	}
	if sp.Tor && !w.Tor {
		return nil, errNeedsTor
	}
	c := w.ConfigFor(sp, bank)
	if len(sp.Baseline) > 0 {
		c.Baseline = baselineOf(sp.Baseline)
	}
	cfg, sc := newScanner(c)
	sc.runID = id
	sc.sum.RunID = id
	if !cfg.Recrawl {
		cfg.Crawler.Revisit = &revisit{ctx: context.WithoutCancel(ctx), st: cfg.Store, runID: id, log: sc.log.Warn, usable: sc.cacheUsable,
			charge: w.linkBudget(ctx, id, sc, cfg.Crawler.MaxStoredLinkBytes)}
	}
	cr, err := crawler.New(cfg.Crawler)
	if err != nil {
		return nil, err
	}
	sc.cfg, sc.cr = cfg, cr
	return &sharedRun{id: id, spec: sp, cfg: cfg, cr: cr, sc: sc}, nil
}

// linkBudget returns the charge function of a shared run's budget of
// stored page links (max bytes; the crawler's default when 0): each
// process's crawler only sees one page at a time, so the run's total is
// kept in the store, spent by every worker.
func (w *Worker) linkBudget(ctx context.Context, run int64, sc *scanner, max int64) func(string, int64) bool {
	if max <= 0 {
		max = 32 << 20
	}
	return func(page string, n int64) bool {
		ok, first, err := w.Store.ChargeLinks(context.WithoutCancel(ctx), run, n, max)
		if err != nil {
			// Not remembered: the page is fetched in full next time.
			w.storeRetry("charge_links", err, "url", page)
			return false
		}
		if first {
			sc.problem(page, fmt.Errorf("%w (%d bytes): this and later pages are not remembered", crawler.ErrLinkBudget, max))
		}
		return ok
	}
}

// itemTallyKey is the context key of an item's tally.
type itemTallyKey struct{}

// itemTally is what the scanner reports about the item being processed:
// the matches it recorded, and whether matches could not be recorded
// (then the item is not complete: it is released and done again).
type itemTally struct {
	matches     atomic.Int64
	storeFailed atomic.Bool
}

// itemLease is a worker's hold on one item, as its heartbeat sees it.
type itemLease struct {
	lost    atomic.Bool
	renewed atomic.Int64 // Unix ns of the last claim or renewal
	// recording is set while the result is being recorded: a renewal
	// refused then may only mean the result is in.
	recording atomic.Bool
}

var kindOf = map[string]crawler.LinkKind{"page": crawler.LinkPage, "image": crawler.LinkImage, "archive": crawler.LinkArchive}

// process does one item under its lease. From the moment the lease is
// lost (taken over, or not renewable before it ends) the item is
// abandoned: its work is cancelled and its result never recorded.
func (w *Worker) process(ctx context.Context, sr *sharedRun, it store.Item) {
	ictx, cancel := context.WithCancel(ctx)
	defer cancel()
	l := &itemLease{}
	l.renewed.Store(time.Now().UnixNano())
	stopBeat := w.heartbeat(ictx, it, l, cancel)
	// The lease is renewed until the result is recorded: a slow commit
	// must not let another worker take the item and fetch it again.
	defer stopBeat()
	u, _ := url.Parse(it.URL)
	host := ""
	if u != nil {
		host = strings.ToLower(u.Host)
	}
	slot, held := w.hostSlot(ictx, sr, host)
	tally := &itemTally{}
	next, err := sr.cr.Step(context.WithValue(ictx, itemTallyKey{}, tally), sr.spec.Seeds,
		crawler.Task{URL: it.URL, Page: it.Page, Kind: kindOf[it.Kind], Depth: it.Depth}, sr.sc.handle)
	if held {
		if rerr := w.Store.ReleaseHost(context.WithoutCancel(ctx), host, slot, w.ID, sr.cfg.Crawler.Delay); rerr != nil {
			w.storeRetry("release_host_slot", rerr, "host", host)
		}
	}
	if l.lost.Load() {
		w.Logger.Warn("lease lost: item abandoned, its result dropped", "worker", w.ID, "url", it.URL, "item", it.ID)
		return
	}
	if ctx.Err() != nil {
		w.release(ctx, it) // interrupted: another worker does it
		return
	}
	if tally.storeFailed.Load() {
		// A match found but not recorded must not be lost with a "done"
		// item: the item goes back to the queue to be done again. Not at
		// once: a store that answers but refuses every insert (a full
		// disk on the database server) would have the item fetched from
		// the dump site again and again. The lease is kept meanwhile.
		n := w.recordFailures.Add(1)
		d := storeBackoff(n)
		w.storeRetry("record_matches", ErrStorage, "url", it.URL, "item", it.ID, "failures_in_a_row", n, "retry_in", d)
		sleep(ictx, d)
		w.release(ctx, it)
		return
	}
	var res store.Result
	res.Matches = int(tally.matches.Load())
	if err != nil {
		sr.sc.problem(it.URL, err)
		res.Err = Reason(err) + ": " + err.Error()
	} else if it.Kind == "page" {
		sr.sc.count(func(x *report.Summary) { x.Pages++ })
	}
	for _, n := range next {
		res.Children = append(res.Children, store.Item{URL: n.URL, Page: n.Page, Kind: n.Kind.String(), Depth: n.Depth})
	}
	maxPages := sr.cfg.Crawler.MaxPages
	if maxPages <= 0 {
		maxPages = 1000
	}
	l.recording.Store(true)
	c, err := w.complete(ctx, it, l, res, maxPages)
	if errors.Is(err, store.ErrLeaseLost) {
		if l.lost.CompareAndSwap(false, true) { // else the heartbeat counted it
			w.leaseLosses.Add(1)
			w.Metrics.LeaseLost()
		}
		w.Logger.Warn("lease lost before completion: result dropped", "worker", w.ID, "url", it.URL, "item", it.ID)
		return
	}
	if err != nil {
		w.Logger.Warn("item not recorded; it returns to the queue after its lease", "worker", w.ID, "url", it.URL, "item", it.ID, "err", err)
		return
	}
	w.recordFailures.Store(0)
	w.Metrics.Finished(res.Err != "")
	if c.Dropped > 0 {
		sr.sc.problem(it.URL, fmt.Errorf("%w (%d): %d links not followed", crawler.ErrPageLimit, maxPages, c.Dropped))
	}
	if c.RunDone {
		w.finish(context.WithoutCancel(ctx), sr)
	}
}

// heartbeat renews the item's lease every third of it until stop. When
// the lease is taken over, or cannot be renewed before it runs out (the
// store is unreachable), l is marked lost and abandon is called: the
// item's work must stop.
func (w *Worker) heartbeat(ctx context.Context, it store.Item, l *itemLease, abandon func()) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	lose := func(why string) {
		if l.lost.CompareAndSwap(false, true) {
			w.leaseLosses.Add(1)
			w.Metrics.LeaseLost()
			w.Logger.Warn("lease lost", "worker", w.ID, "item", it.ID, "url", it.URL, "why", why)
		}
		abandon()
	}
	go func() {
		defer close(finished)
		t := time.NewTicker(w.Lease / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			// A renewal that hangs (a network cut drops packets rather than
			// refusing them) must not outlast the time left to give the
			// item up while the lease still holds.
			hctx, cancel := context.WithTimeout(ctx, max(min(w.Lease/3, w.leaseLeft(l)-w.Lease/3), time.Millisecond))
			err := w.Store.Heartbeat(hctx, w.ID, it.ID, w.Lease)
			cancel()
			switch {
			case err == nil:
				l.renewed.Store(time.Now().UnixNano())
				w.Metrics.LeaseRenewed()
			case errors.Is(err, store.ErrLeaseLost):
				if !l.recording.Load() {
					lose("taken over")
				} // else the completion itself tells
				return
			case ctx.Err() != nil:
				return
			default:
				left := w.leaseLeft(l)
				w.storeRetry("heartbeat", err, "item", it.ID, "lease_left", left.Round(time.Millisecond))
				// Stop a little before the lease can run out: another worker
				// may take the item from then on.
				if left < w.Lease/3 {
					lose("not renewable before it ends")
					return
				}
			}
		}
	}()
	return func() { close(done); <-finished }
}

// leaseLeft is how long the lease lasts from now, as last renewed.
func (w *Worker) leaseLeft(l *itemLease) time.Duration {
	return time.Until(time.Unix(0, l.renewed.Load()).Add(w.Lease))
}

// hostSlot waits for one of the host's request slots, shared by every
// worker through the store. If the store cannot be reached the item goes
// ahead without one (politeness is best effort; the lease is not).
func (w *Worker) hostSlot(ctx context.Context, sr *sharedRun, host string) (int, bool) {
	par := sr.cfg.Crawler.Parallelism
	if par <= 0 {
		par = 2
	}
	hold := sr.cfg.Crawler.RequestTimeout + 30*time.Second
	if hold < time.Minute {
		hold = time.Minute
	}
	for ctx.Err() == nil {
		slot, ok, err := w.Store.AcquireHost(ctx, host, w.ID, par, hold)
		if err != nil {
			w.storeRetry("host_slot", err, "host", host)
			return 0, false
		}
		if ok {
			return slot, true
		}
		sleep(ctx, 20*time.Millisecond)
	}
	return 0, false
}

// complete records an item's result, retrying a broken connection with
// backoff while the lease holds (the heartbeat keeps renewing it when the
// store answers it); once the lease is lost it gives up with ErrLeaseLost.
func (w *Worker) complete(ctx context.Context, it store.Item, l *itemLease, res store.Result, maxPages int) (store.Completion, error) {
	wctx := context.WithoutCancel(ctx)
	for attempt := 0; ; attempt++ {
		// Trying is safe at any time (the store refuses a result from a
		// worker that no longer holds the item); once the heartbeat has
		// given the lease up, the item is not ours to record.
		if l.lost.Load() {
			return store.Completion{}, fmt.Errorf("item %d: %w", it.ID, store.ErrLeaseLost)
		}
		c, err := w.Store.Complete(wctx, w.ID, it, res, maxPages, maxItemsPerRun)
		if err == nil || errors.Is(err, store.ErrLeaseLost) {
			return c, err
		}
		d := min(time.Duration(100<<min(attempt, 6))*time.Millisecond, 5*time.Second)
		w.storeRetry("complete", err, "item", it.ID, "attempt", attempt+1, "retry_in", d)
		sleep(wctx, d)
	}
}

// finish is done by the worker whose completion emptied the run's queue:
// it announces the run's growth and stores the run's summary.
func (w *Worker) finish(ctx context.Context, sr *sharedRun) {
	w.finishRun(ctx, sr.id, sr.sc.announce)
}

// finishStranded finishes the runs whose last items failed without a
// completion (their workers kept dying on them): otherwise such a run
// stays running for ever, its growth unannounced, and every waiting scan
// and --exit-when-idle worker with it.
func (w *Worker) finishStranded(ctx context.Context, runs map[int64]*sharedRun) {
	ids, err := w.Store.FinishStranded(ctx)
	if err != nil {
		w.storeRetry("finish_stranded", err)
	}
	for _, id := range ids {
		w.Logger.Warn("shared run ended by failed items: finishing it", "run", id, "worker", w.ID)
		announce := func(ctx context.Context) error {
			_, err := w.Store.Announce(ctx, w.Endpoints)
			return err
		}
		if sr := runs[id]; sr != nil {
			announce = sr.sc.announce
		}
		w.finishRun(context.WithoutCancel(ctx), id, announce)
	}
}

func (w *Worker) finishRun(ctx context.Context, id int64, announce func(context.Context) error) {
	if err := announce(ctx); err != nil {
		w.Logger.Warn("announce", "run", id, "err", err)
	}
	// Every event now carries the run's final state: send them.
	if err := w.Store.ReleaseHeld(ctx); err != nil {
		w.Logger.Warn("release held alerts", "run", id, "err", err)
	}
	ri, err := w.Store.Run(ctx, id)
	if err != nil {
		w.Logger.Warn("run summary", "run", id, "err", err)
		return
	}
	js, _ := json.Marshal(struct {
		Done     int `json:"done"`
		Failed   int `json:"failed"`
		Findings int `json:"findings"`
		Workers  int `json:"workers"`
	}{ri.Done, ri.Failed, ri.Findings, len(ri.Workers)})
	if err := w.Store.SetRunSummary(ctx, id, string(js)); err != nil {
		w.Logger.Warn("run summary", "run", id, "err", err)
	}
	w.Logger.Info("run done", "run", id, "items", ri.Done+ri.Failed, "failed", ri.Failed, "findings", ri.Findings, "workers", len(ri.Workers))
	if w.OnRunDone != nil {
		w.OnRunDone(ri)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// runShared is scan on a PostgreSQL store: enqueue the run, then work on
// it (alongside any other workers) until it is done.
func runShared(ctx context.Context, cfg Config) (report.Summary, error) {
	start := time.Now()
	if cfg.spec == nil {
		return report.Summary{}, errors.New("scan: a shared run needs its options (build the config with Options.Config)")
	}
	id, err := Enqueue(ctx, cfg.Store, cfg.spec.WithBaseline(cfg.Baseline))
	if err != nil {
		return report.Summary{}, err
	}
	// The spec was made from this process's options: in Tor mode, so is
	// this process.
	w := &Worker{Store: cfg.Store, Bank: cfg.Bank, Endpoints: cfg.Endpoints, Run: id, ExitWhenIdle: true, Logger: cfg.Logger,
		Tor: cfg.spec.Tor, ConfigFor: func(RunSpec, *fingerprint.Bank) Config { return cfg }}
	sums, err := w.Work(ctx)
	var sum report.Summary
	if len(sums) > 0 {
		sum = sums[0]
	}
	sum.RunID = id
	if sum.ErrorsBy == nil {
		sum.ErrorsBy = map[string]int64{}
	}
	sum.Duration = time.Since(start)
	if err != nil && ctx.Err() != nil {
		sum.Interrupted = true
		return sum, nil
	}
	return sum, err
}

// storeBackoff is how long an item whose matches the store refused is
// held before it goes back to the queue, after n such items in a row: 1 s,
// doubling, at most a minute.
func storeBackoff(n int64) time.Duration {
	return min(time.Second<<min(max(n-1, 0), 6), time.Minute)
}
