package scan

import (
	"context"
	"fmt"
	"log/slog"
	"net"
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

// freezer is a TCP proxy to PostgreSQL that can stop passing bytes, as a
// network cut that drops packets does (nothing is refused, nothing
// answers), and later cut every connection.
type freezer struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	frozen bool
	thaw   chan struct{}
	conns  []net.Conn
}

func newFreezer(t *testing.T, target string) *freezer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &freezer{ln: ln, target: target, thaw: make(chan struct{})}
	t.Cleanup(func() { ln.Close(); f.cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go f.serve(c)
		}
	}()
	return f
}

func (f *freezer) serve(c net.Conn) {
	f.wait()
	u, err := net.Dial("tcp", f.target)
	if err != nil {
		c.Close()
		return
	}
	f.mu.Lock()
	f.conns = append(f.conns, c, u)
	f.mu.Unlock()
	pipe := func(dst, src net.Conn) {
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				f.wait()
				if _, werr := dst.Write(buf[:n]); werr != nil {
					break
				}
			}
			if err != nil {
				break
			}
		}
		dst.Close()
		src.Close()
	}
	go pipe(u, c)
	pipe(c, u)
}

// wait blocks while the proxy is frozen.
func (f *freezer) wait() {
	f.mu.Lock()
	frozen, thaw := f.frozen, f.thaw
	f.mu.Unlock()
	if frozen {
		<-thaw
	}
}

func (f *freezer) freeze() {
	f.mu.Lock()
	f.frozen, f.thaw = true, make(chan struct{})
	f.mu.Unlock()
}

// cut closes every connection and passes bytes again.
func (f *freezer) cut() {
	f.mu.Lock()
	conns := f.conns
	f.conns = nil
	if f.frozen {
		f.frozen = false
		close(f.thaw)
	}
	f.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

// A database that stops answering (packets dropped, not refused) does not
// hold a worker past its lease: renewals are bounded in time, so a worker
// gives its items up before their leases can end, although no error
// comes back; once the network is back the run completes with no failed
// item and no URL fetched by two workers at once.
func TestWorkersGiveUpLeasesWhenDatabaseHangs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL")
	}
	c := corpus.New(2)
	site := &gatedSite{loggedSite: newLoggedSite(c, 12, 4), gate: make(chan struct{}), holdAfter: 15}
	srv := httptest.NewServer(site)
	defer srv.Close()
	bank, _ := setup(t, c.WriteCaptures)
	pg := pgtest.Start(t)
	direct := pg.CreateDB(t)
	first, err := store.Open(context.Background(), direct)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	run, err := Enqueue(context.Background(), first, sharedSpec([]string{srv.URL + "/f/"}))
	if err != nil {
		t.Fatal(err)
	}
	proxy := newFreezer(t, fmt.Sprintf("127.0.0.1:%d", pg.Port))
	loc := strings.Replace(direct, fmt.Sprintf("127.0.0.1:%d", pg.Port), proxy.ln.Addr().String(), 1)
	const lease = 3 * time.Second
	logs := &recordLog{}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	for i := range 2 {
		st, err := store.Open(context.Background(), loc)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		id := fmt.Sprintf("w%d", i)
		w := &Worker{Store: st, Bank: bank, ExitWhenIdle: true, ID: id, Lease: lease, Slots: 3, Poll: 50 * time.Millisecond, Logger: slog.New(logs),
			ConfigFor: func(sp RunSpec, b *fingerprint.Bank) Config {
				cfg := configFor(st)(sp, b)
				cfg.Crawler.UserAgent = id
				return cfg
			}}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := w.Work(ctx); err != nil {
				t.Errorf("worker %s: %v", id, err)
			}
		}()
	}
	waitFor(t, "images held by workers", func() bool { _, n := site.state(); return n >= 2 })
	proxy.freeze()
	frozen := time.Now()
	time.Sleep(3 * lease)
	proxy.cut()
	site.mu.Lock()
	site.holdAfter = 0
	close(site.gate)
	site.mu.Unlock()
	wg.Wait()
	if ctx.Err() != nil {
		t.Fatal("the run did not end within 5 minutes")
	}
	site.mu.Lock()
	reqs := site.reqs
	site.mu.Unlock()
	lost := logs.find("lease lost")
	inTime := 0
	for _, m := range lost {
		at, _ := m["time"].(time.Time)
		if !at.After(frozen.Add(lease)) {
			inTime++
			continue
		}
		// An item held when the database froze was last renewed before,
		// so its lease ended by frozen+lease: giving it up later is too
		// late (another worker may have taken it meanwhile).
		for _, rq := range reqs {
			if srv.URL+rq.path == m["url"] && rq.worker == m["worker"] && rq.start.Before(frozen) {
				t.Errorf("%s gave up %s %s after the database froze, later than its %s lease", rq.worker, rq.path, at.Sub(frozen).Round(time.Millisecond), lease)
			}
		}
	}
	if inTime == 0 {
		t.Errorf("no lease given up within the %s lease while the database did not answer (%d given up later)", lease, len(lost))
	}
	for i, a := range reqs {
		for _, b := range reqs[i+1:] {
			if a.path == b.path && a.worker != b.worker && a.start.Before(b.end) && b.start.Before(a.end) {
				t.Errorf("%s fetched by %s and %s at the same time", a.path, a.worker, b.worker)
			}
		}
	}
	ri, err := first.Run(context.Background(), run)
	if err != nil {
		t.Fatal(err)
	}
	if ri.Status != store.RunDone || ri.Pending+ri.Running+ri.Failed != 0 {
		t.Errorf("run after the freeze: %+v", ri)
	}
	t.Logf("%d leases given up; run %d: %d done, %d findings", len(lost), run, ri.Done, ri.Findings)
}
