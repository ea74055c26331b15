package scan

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leakwatch/leakwatch/crawler"
	"github.com/leakwatch/leakwatch/fingerprint"
	"github.com/leakwatch/leakwatch/fixtures/corpus"
	"github.com/leakwatch/leakwatch/internal/config"
	"github.com/leakwatch/leakwatch/internal/store"
	"github.com/leakwatch/leakwatch/internal/store/pgtest"
)

var bigSite = flag.Bool("big-site", false, "shared-run tests use the full-size site (>= 200 pages, >= 1,000 images)")

// loggedSite is the corpus dump site (planted leaks, a zip among them)
// plus filler pages of small unrelated images under /f/, logging every
// request.
type loggedSite struct {
	corpus http.Handler
	pages  int
	images map[string][]byte

	mu  sync.Mutex
	log map[string]int
}

func newLoggedSite(c *corpus.Corpus, pages, perPage int) *loggedSite {
	s := &loggedSite{corpus: c.Handler(), pages: pages, images: map[string][]byte{}, log: map[string]int{}}
	rng := rand.New(rand.NewPCG(uint64(pages), 5))
	for p := range pages {
		for k := range perPage {
			img := image.NewRGBA(image.Rect(0, 0, 40, 40))
			for range 6 {
				c := color.RGBA{uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256)), 255}
				x, y := rng.IntN(30), rng.IntN(30)
				for i := x; i < x+10+rng.IntN(10) && i < 40; i++ {
					for j := y; j < y+10+rng.IntN(10) && j < 40; j++ {
						img.Set(i, j, c)
					}
				}
			}
			var b bytes.Buffer
			_ = png.Encode(&b, img)
			s.images[fmt.Sprintf("/f/img/%d-%d.png", p, k)] = b.Bytes()
		}
	}
	return s
}

func (s *loggedSite) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.log[r.URL.Path]++
	s.mu.Unlock()
	switch {
	case r.URL.Path == "/f/":
		w.Header().Set("Content-Type", "text/html")
		for p := range s.pages {
			fmt.Fprintf(w, `<a href="/f/page/%d">%d</a> `, p, p)
		}
	case strings.HasPrefix(r.URL.Path, "/f/page/"):
		w.Header().Set("Content-Type", "text/html")
		p := strings.TrimPrefix(r.URL.Path, "/f/page/")
		for k := 0; ; k++ {
			if _, ok := s.images[fmt.Sprintf("/f/img/%s-%d.png", p, k)]; !ok {
				break
			}
			fmt.Fprintf(w, `<img src="/f/img/%s-%d.png">`, p, k)
		}
		fmt.Fprint(w, `<a href="/f/">index</a> <a href="/">dump</a>`)
	case strings.HasPrefix(r.URL.Path, "/f/img/"):
		b, ok := s.images[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(b)
	default:
		s.corpus.ServeHTTP(w, r)
	}
}

// fetches returns and clears the request log.
func (s *loggedSite) fetches() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.log
	s.log = map[string]int{}
	return out
}

// incidentsOf maps each incident to its sorted captures and copies.
func incidentsOf(t *testing.T, st *store.Store) map[string]string {
	t.Helper()
	incs, err := st.Incidents(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, inc := range incs {
		var copies []string
		for _, m := range inc.Matches {
			copies = append(copies, m.CaptureID+"@"+m.URL+"#"+m.ArchivePath)
		}
		sort.Strings(copies)
		out[inc.ID] = strings.Join(inc.Captures, ",") + " | " + strings.Join(copies, " ")
	}
	return out
}

func sharedSpec(seeds []string) RunSpec {
	return RunSpec{Seeds: seeds, Limits: config.Limits{MaxDepth: 4, MaxPages: 1000}}
}

func configFor(st *store.Store) func(RunSpec, *fingerprint.Bank) Config {
	return func(sp RunSpec, b *fingerprint.Bank) Config {
		return Config{Seeds: sp.Seeds, Bank: b, Store: st, GroupBy: GroupPage,
			Crawler: crawler.Options{MaxDepth: sp.Limits.MaxDepth, MaxPages: sp.Limits.MaxPages, Parallelism: 4}}
	}
}

// Three workers sharing a PostgreSQL store find exactly the incidents and
// copies one process finds with SQLite, and fetch every page and image of
// the site once.
func TestThreeWorkersMatchSingleProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("scans a site twice")
	}
	pages, perPage := 40, 5
	if *bigSite {
		pages = 200
	}
	c := corpus.New(3)
	site := newLoggedSite(c, pages, perPage)
	srv := httptest.NewServer(site)
	defer srv.Close()
	bank, lite := setup(t, c.WriteCaptures)
	seeds := []string{srv.URL + "/", srv.URL + "/f/"}

	cfg := configFor(lite)(sharedSpec(seeds), bank)
	sum, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := incidentsOf(t, lite)
	single := site.fetches()
	if len(want) == 0 || sum.Errors != 0 {
		t.Fatalf("single-process scan: %d incidents, %d errors %v", len(want), sum.Errors, sum.ErrorsBy)
	}

	pgURL := pgtest.Start(t).CreateDB(t)
	first, err := store.Open(context.Background(), pgURL)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	run, err := Enqueue(context.Background(), first, sharedSpec(seeds))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	counts := make([]int64, 3)
	for i := range 3 {
		st, err := store.Open(context.Background(), pgURL)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		w := &Worker{Store: st, Bank: bank, ConfigFor: configFor(st), ExitWhenIdle: true, ID: fmt.Sprintf("w%d", i), Lease: 10 * time.Second, Slots: 3}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sums, err := w.Work(context.Background())
			if err != nil {
				t.Error(err)
			}
			for _, s := range sums {
				counts[i] += s.Images
			}
		}()
	}
	wg.Wait()
	got := incidentsOf(t, first)
	if len(got) != len(want) {
		t.Errorf("%d incidents with three workers, %d from one process", len(got), len(want))
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("incident %s:\n three workers %s\n one process   %s", id, got[id], w)
		}
	}
	log := site.fetches()
	var twice []string
	for p, n := range log {
		if n != 1 {
			twice = append(twice, fmt.Sprintf("%s x%d", p, n))
		}
	}
	slices.Sort(twice)
	if len(twice) > 0 {
		t.Errorf("fetched more than once in one run: %v", twice)
	}
	if len(log) != len(single) || len(log) < pages+pages*perPage {
		t.Errorf("three workers fetched %d URLs, one process %d (site has at least %d)", len(log), len(single), pages+pages*perPage)
	}
	ri, err := first.Run(context.Background(), run)
	if err != nil {
		t.Fatal(err)
	}
	if ri.Status != store.RunDone || ri.Pending+ri.Running != 0 || len(ri.Workers) < 2 {
		t.Errorf("run %+v", ri)
	}
	t.Logf("%d URLs, images per worker %v, %d incidents, run %d: %d done, %d failed, %d findings", len(log), counts, len(got), run, ri.Done, ri.Failed, ri.Findings)
}

// The stored-link budget is the run's, not each page's: two workers
// sharing a run store at most that many bytes of page links between
// them, the pages beyond it are not remembered, and the run reports the
// budget used up once.
func TestSharedRunLinkBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL")
	}
	site := newLoggedSite(corpus.New(1), 12, 4)
	srv := httptest.NewServer(site)
	defer srv.Close()
	bank, _ := setup(t, corpus.New(1).WriteCaptures)
	loc := pgtest.Start(t).CreateDB(t)
	first, err := store.Open(context.Background(), loc)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	const budget = 1500
	sp := sharedSpec([]string{srv.URL + "/f/"})
	sp.Limits.MaxStoredLinkBytes = budget
	if _, err := Enqueue(context.Background(), first, sp); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var reported int64
	for i := range 2 {
		st, err := store.Open(context.Background(), loc)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		w := &Worker{Store: st, Bank: bank, ExitWhenIdle: true, ID: fmt.Sprintf("w%d", i), Slots: 2, Poll: 50 * time.Millisecond,
			ConfigFor: func(sp RunSpec, b *fingerprint.Bank) Config {
				cfg := configFor(st)(sp, b)
				cfg.Crawler.MaxStoredLinkBytes = sp.Limits.MaxStoredLinkBytes
				return cfg
			}}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sums, err := w.Work(context.Background())
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			for _, s := range sums {
				reported += s.ErrorsBy["link_budget"]
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	pages := []string{srv.URL + "/f/"}
	for p := range 12 {
		pages = append(pages, fmt.Sprintf("%s/f/page/%d", srv.URL, p))
	}
	var stored, remembered, all int
	for _, p := range pages {
		v, ok, err := first.Visit(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		all++
		if ok && v.Links != nil {
			remembered++
			for _, l := range v.Links {
				stored += len(l)
			}
		}
	}
	if stored > budget || remembered == 0 || remembered == all {
		t.Errorf("%d of %d pages remembered with %d bytes of links (budget %d)", remembered, all, stored, budget)
	}
	if reported != 1 {
		t.Errorf("budget used up reported %d times across the workers, want once", reported)
	}
	t.Logf("%d of %d pages remembered, %d bytes of links (budget %d)", remembered, all, stored, budget)
}

// A baseline given at enqueue is the run's: every worker leaves its
// (capture, file) pairs out, and records everything else.
func TestSharedRunBaseline(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL and scans a site twice")
	}
	c := corpus.New(3)
	srv := httptest.NewServer(c.Handler())
	defer srv.Close()
	bank, lite := setup(t, c.WriteCaptures)
	seeds := []string{srv.URL + "/"}
	if _, err := Run(context.Background(), configFor(lite)(sharedSpec(seeds), bank)); err != nil {
		t.Fatal(err)
	}
	incs, err := lite.Incidents(context.Background(), "")
	if err != nil || len(incs) == 0 {
		t.Fatalf("single-process scan: %d incidents, %v", len(incs), err)
	}
	known := incs[0].Matches[0]
	var all, kept int
	for _, inc := range incs {
		for _, m := range inc.Matches {
			all++
			if m.CaptureID != known.CaptureID || m.SHA256 != known.SHA256 {
				kept++
			}
		}
	}
	b := Baseline{pair{known.CaptureID, known.SHA256}: {}}

	loc := pgtest.Start(t).CreateDB(t)
	first, err := store.Open(context.Background(), loc)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	if _, err := Enqueue(context.Background(), first, sharedSpec(seeds).WithBaseline(b)); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 2 {
		st, err := store.Open(context.Background(), loc)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		// The workers' own configuration carries no baseline: it comes
		// from the run.
		w := &Worker{Store: st, Bank: bank, ConfigFor: configFor(st), ExitWhenIdle: true, ID: fmt.Sprintf("w%d", i), Slots: 2, Poll: 50 * time.Millisecond}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := w.Work(context.Background()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got, err := first.Incidents(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	var n int
	for _, inc := range got {
		for _, m := range inc.Matches {
			n++
			if m.CaptureID == known.CaptureID && m.SHA256 == known.SHA256 {
				t.Errorf("baseline pair (%s, %s) recorded at %s", m.CaptureID, m.SHA256[:12], m.URL)
			}
		}
	}
	if n != kept {
		t.Errorf("%d matches recorded with the baseline, want %d (%d without it)", n, kept, all)
	}
}

// A run started in Tor mode is never fetched by a worker that is not: it
// gives back what it claimed and leaves the run out of its claims, so a
// clearnet run queued after it is still crawled; a worker in Tor mode
// finishes the Tor run. (Both fetch the loopback sites directly here: the
// test is of who takes the items, not of the transport.)
func TestSharedTorRunLeftToTorWorkers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL")
	}
	c := corpus.New(3)
	torSite, clearSite := newLoggedSite(c, 0, 0), newLoggedSite(c, 0, 0)
	torSrv, clearSrv := httptest.NewServer(torSite), httptest.NewServer(clearSite)
	defer torSrv.Close()
	defer clearSrv.Close()
	bank, _ := setup(t, c.WriteCaptures)
	loc := pgtest.Start(t).CreateDB(t)
	st, err := store.Open(context.Background(), loc)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// More seeds than the worker has slots: oldest first, a claim would
	// return only the Tor run's items.
	sp := sharedSpec([]string{torSrv.URL + "/", torSrv.URL + "/?a", torSrv.URL + "/?b"})
	sp.Tor = true
	if _, err := Enqueue(context.Background(), st, sp); err != nil {
		t.Fatal(err)
	}
	if _, err := Enqueue(context.Background(), st, sharedSpec([]string{clearSrv.URL + "/"})); err != nil {
		t.Fatal(err)
	}
	newWorker := func(id string, torMode bool) *Worker {
		return &Worker{Store: st, Bank: bank, ConfigFor: configFor(st), ExitWhenIdle: true, ID: id, Slots: 2, Poll: 50 * time.Millisecond, Tor: torMode}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	if _, err := newWorker("clearnet", false).Work(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("worker without Tor: %v, want it still waiting (the Tor run is open) at its deadline", err)
	}
	if f := torSite.fetches(); len(f) != 0 {
		t.Fatalf("a worker without Tor fetched %v from a Tor run", f)
	}
	if f := clearSite.fetches(); f["/"] == 0 || len(f) < 5 {
		t.Errorf("the worker without Tor did not crawl the clearnet run queued after the Tor run: %v", f)
	}
	if _, err := newWorker("tor", true).Work(context.Background()); err != nil {
		t.Fatal(err)
	}
	if f := torSite.fetches(); f["/"] == 0 {
		t.Errorf("the worker in Tor mode did not crawl the run: %v", f)
	}
}
