package scan

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leakwatch/leakwatch/fingerprint"
	"github.com/leakwatch/leakwatch/fixtures/corpus"
	"github.com/leakwatch/leakwatch/internal/store"
	"github.com/leakwatch/leakwatch/internal/store/pgtest"
)

// request is one request to a gated site: who asked (the worker's
// User-Agent), for what, and when it started and ended.
type request struct {
	worker, path string
	start, end   time.Time
}

// gatedSite serves a loggedSite and records every request; after the
// first holdAfter requests, filler images wait for the gate to open (or
// their client to give up), so that items are held by workers when the
// database goes away, whatever the machine's speed.
type gatedSite struct {
	*loggedSite
	mu        sync.Mutex
	reqs      []request
	started   int
	holdAfter int
	waiting   int
	gate      chan struct{}
}

func (g *gatedSite) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rq := request{worker: r.UserAgent(), path: r.URL.Path, start: time.Now()}
	g.mu.Lock()
	g.started++
	hold := g.holdAfter > 0 && g.started > g.holdAfter && strings.HasPrefix(r.URL.Path, "/f/img/")
	if hold {
		g.waiting++
	}
	g.mu.Unlock()
	if hold {
		select {
		case <-g.gate:
		case <-r.Context().Done():
		}
	}
	g.loggedSite.ServeHTTP(w, r)
	rq.end = time.Now()
	g.mu.Lock()
	g.reqs = append(g.reqs, rq)
	g.mu.Unlock()
}

func (g *gatedSite) state() (served, waiting int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.reqs), g.waiting
}

// recordLog keeps the records of a slog logger.
type recordLog struct {
	mu   sync.Mutex
	recs []map[string]any
}

func (l *recordLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *recordLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *recordLog) WithGroup(string) slog.Handler            { return l }
func (l *recordLog) Handle(_ context.Context, r slog.Record) error {
	m := map[string]any{"msg": r.Message, "level": r.Level, "time": r.Time}
	r.Attrs(func(a slog.Attr) bool { m[a.Key] = a.Value.Any(); return true })
	l.mu.Lock()
	l.recs = append(l.recs, m)
	l.mu.Unlock()
	return nil
}

func (l *recordLog) find(msg string) []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, m := range l.recs {
		if m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Two workers keep going through broken connections (every backend
// terminated, twice) and a database crash and restart on the same port:
// store errors are retried with backoff and reported, items whose lease
// ran out during the outage are abandoned (their request cancelled, never
// overlapping another worker's request for the same URL), no worker exits
// before the run is done, and the run ends with exactly the incidents of
// a single-process scan and no failed item.
func TestWorkersSurviveDatabaseOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("stops and restarts PostgreSQL")
	}
	c := corpus.New(3)
	site := &gatedSite{loggedSite: newLoggedSite(c, 20, 5), gate: make(chan struct{})}
	srv := httptest.NewServer(site)
	defer srv.Close()
	bank, lite := setup(t, c.WriteCaptures)
	seeds := []string{srv.URL + "/", srv.URL + "/f/"}
	if _, err := Run(context.Background(), configFor(lite)(sharedSpec(seeds), bank)); err != nil {
		t.Fatal(err)
	}
	want := incidentsOf(t, lite)
	if len(want) == 0 {
		t.Fatal("the single-process scan found nothing")
	}
	site.mu.Lock()
	site.reqs, site.started, site.holdAfter = nil, 0, 30
	site.mu.Unlock()

	pg := pgtest.Start(t)
	loc := pg.CreateDB(t)
	first, err := store.Open(context.Background(), loc)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	run, err := Enqueue(context.Background(), first, sharedSpec(seeds))
	if err != nil {
		t.Fatal(err)
	}
	const lease = 2 * time.Second
	logs := &recordLog{}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	workers := make([]*Worker, 2)
	returned := make([]time.Time, 2)
	for i := range workers {
		st, err := store.Open(context.Background(), loc)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		id := fmt.Sprintf("w%d", i)
		w := &Worker{Store: st, Bank: bank, ExitWhenIdle: true, ID: id, Lease: lease, Slots: 3, Poll: 50 * time.Millisecond,
			Logger: slog.New(logs),
			ConfigFor: func(sp RunSpec, b *fingerprint.Bank) Config {
				cfg := configFor(st)(sp, b)
				cfg.Crawler.UserAgent = id
				return cfg
			}}
		workers[i] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := w.Work(ctx); err != nil {
				t.Errorf("worker %s: %v", id, err)
			}
			returned[i] = time.Now()
		}()
	}

	// Broken connections: every backend of the database is terminated,
	// twice, while the workers claim, fetch and record.
	waitFor(t, "the first requests", func() bool { n, _ := site.state(); return n >= 5 })
	terminated := pg.TerminateBackends(t, pgtest.Name(loc))
	waitFor(t, "more requests", func() bool { n, _ := site.state(); return n >= 15 })
	terminated += pg.TerminateBackends(t, pgtest.Name(loc))

	// A crash: images are held while the server is down for longer than
	// a lease, so their holders must abandon them.
	waitFor(t, "images held by workers", func() bool { _, n := site.state(); return n >= 2 })
	pg.Stop(t)
	down := time.Now()
	time.Sleep(2*lease + time.Second)
	pg.Resume(t)
	up := time.Now()
	site.mu.Lock()
	site.holdAfter = 0
	close(site.gate)
	site.mu.Unlock()
	wg.Wait()
	if ctx.Err() != nil {
		t.Fatal("the run did not end within 5 minutes")
	}
	t.Logf("%d backends terminated; server down %s", terminated, up.Sub(down).Round(time.Millisecond))

	got := incidentsOf(t, first)
	if len(got) != len(want) {
		t.Errorf("%d incidents after the outage, %d from one process", len(got), len(want))
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("incident %s:\n after the outage %s\n one process      %s", id, got[id], w)
		}
	}
	ri, err := first.Run(context.Background(), run)
	if err != nil {
		t.Fatal(err)
	}
	if ri.Status != store.RunDone || ri.Pending+ri.Running+ri.Failed != 0 {
		t.Errorf("run after the outage: %+v", ri)
	}
	for i, r := range returned {
		if r.Before(up) || r.Before(ri.FinishedAt.Add(-time.Second)) {
			t.Errorf("worker %d returned at %s, before the run ended (%s) or the server was back (%s)", i, r, ri.FinishedAt, up)
		}
	}

	var storeErrs, losses int64
	for _, w := range workers {
		storeErrs += w.StoreErrors()
		losses += w.LeaseLosses()
	}
	retries := logs.find("store unreachable, retrying")
	if storeErrs == 0 || len(retries) == 0 {
		t.Errorf("store errors counted %d, reported %d: the outage went unnoticed", storeErrs, len(retries))
	}
	for _, m := range retries {
		if m["level"] != slog.LevelWarn || m["op"] == nil || m["worker"] == nil || m["err"] == nil {
			t.Errorf("store error reported without its fields: %v", m)
			break
		}
	}
	lost := logs.find("lease lost")
	if losses == 0 || len(lost) == 0 {
		t.Fatalf("no lease lost (counted %d) although images were held through a %s outage with a %s lease", losses, up.Sub(down), lease)
	}

	// An abandoned item's request ended (it was cancelled) when its
	// lease was lost, and no two workers ever fetched a URL at once.
	site.mu.Lock()
	reqs := site.reqs
	site.mu.Unlock()
	for _, m := range lost {
		u, _ := m["url"].(string)
		at, _ := m["time"].(time.Time)
		for _, rq := range reqs {
			if srv.URL+rq.path == u && rq.worker == m["worker"] && rq.start.Before(at) && rq.end.After(at.Add(time.Second)) {
				t.Errorf("%s lost its lease on %s at %s but its request went on until %s", rq.worker, rq.path, at.Format(time.StampMilli), rq.end.Format(time.StampMilli))
			}
		}
	}
	for i, a := range reqs {
		for _, b := range reqs[i+1:] {
			if a.path == b.path && a.worker != b.worker && a.start.Before(b.end) && b.start.Before(a.end) {
				t.Errorf("%s fetched by %s and %s at the same time", a.path, a.worker, b.worker)
			}
		}
	}
	t.Logf("store errors %d (%d reported), leases lost %d, run %d: %d done, %d findings", storeErrs, len(retries), losses, run, ri.Done, ri.Findings)
}
