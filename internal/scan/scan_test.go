package scan

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leakwatch/leakwatch/crawler"
	"github.com/leakwatch/leakwatch/fingerprint"
	"github.com/leakwatch/leakwatch/fixtures/hostile"
	"github.com/leakwatch/leakwatch/internal/archive"
	"github.com/leakwatch/leakwatch/internal/local"
	"github.com/leakwatch/leakwatch/internal/report"
	"github.com/leakwatch/leakwatch/internal/store"
)

// setup enrolls the captures a corpus writes and opens a fresh store.
func setup(t testing.TB, write func(dir string) error) (*fingerprint.Bank, *store.Store) {
	t.Helper()
	dir := t.TempDir()
	capDir := filepath.Join(dir, "captures")
	if err := write(capDir); err != nil {
		t.Fatal(err)
	}
	rows, err := local.ReadManifest(filepath.Join(capDir, "manifest.csv"))
	if err != nil {
		t.Fatal(err)
	}
	bankPath := filepath.Join(dir, "bank.lwb")
	if _, err := local.Enroll(context.Background(), bankPath, nil, local.EnrollOptions{Manifest: rows}, func(local.EnrollResult) {}); err != nil {
		t.Fatal(err)
	}
	b, err := fingerprint.LoadBank(bankPath)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), filepath.Join(dir, "lw.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return b, st
}

// TestHostileSite scans a dump site full of bombs and traps: the scan must
// finish, find the real leak hidden in an archive, and count every hostile
// item as an error with its reason, within a memory bound.
func TestHostileSite(t *testing.T) {
	if testing.Short() {
		t.Skip("hostile site scan takes a few seconds")
	}
	site := hostile.New(7)
	site.HTMLBytes = 50 << 20
	site.SlowInterval = 500 * time.Millisecond
	srv := httptest.NewServer(site.Handler())
	defer srv.Close()
	bank, st := setup(t, site.Corpus.WriteCaptures)

	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	lim := archive.DefaultLimits()
	lim.MaxUncompressedBytes = 64 << 20
	lim.TempDir = t.TempDir()
	var mu sync.Mutex
	problems := map[string][]string{}
	var progressed atomic.Int64
	// The page budget covers the whole site (its 1,000 link-list pages
	// included): with a smaller one, whether the /amp/ pages were reached
	// before it ran out depended on which parallel fetch returned first.
	sum, err := Run(context.Background(), Config{
		Seeds: []string{srv.URL + "/"}, Bank: bank, Store: st, Archive: lim,
		Crawler: crawler.Options{MaxPages: 1200, MaxLinksPerPage: 1000, RequestTimeout: 3 * time.Second, MaxPageBytes: 4 << 20, Parallelism: 4,
			ReadIdleTimeout: 2 * time.Second, RateWindow: 2 * time.Second},
		OnProgress: func(p report.Summary) {
			if p.Pages > 0 && p.Assets > 0 {
				progressed.Add(1)
			}
		},
		OnError: func(p report.Problem) {
			mu.Lock()
			problems[p.Reason] = append(problems[p.Reason], p.URL)
			mu.Unlock()
		},
	})
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("summary: %+v; peak heap in use %d MiB", sum, peak.Load()>>20)
	for r, us := range problems {
		t.Logf("%s: %v", r, us)
	}
	var found []string
	incs, _ := st.Incidents(context.Background(), "")
	for _, inc := range incs {
		found = append(found, inc.Captures...)
	}
	sort.Strings(found)
	if want := site.ExpectedCaptures(); strings.Join(found, ",") != strings.Join(want, ",") {
		t.Errorf("found %v, want %v", found, want)
	}
	for _, inc := range incs {
		for _, m := range inc.Matches {
			if m.ArchivePath == "" || !(strings.HasSuffix(m.URL, ".tar.gz") || strings.HasSuffix(m.URL, ".rar") || strings.HasSuffix(m.URL, ".7z.001")) {
				t.Errorf("evidence lacks the archive entry: %+v", m)
			}
		}
	}
	// Every hostile item must surface as a counted error with a reason.
	for _, want := range []struct{ reason, url string }{
		{"pixel_limit", "/img/pixel-bomb.png"},
		{"corrupt_image", "/img/truncated.jpg"},
		{"redirect_loop", "/loop/"},
		{"size_limit", "/huge.html"},
		{"size_limit", "/endless.jpg"},
		{"timeout", "/slow.jpg"},
		{"archive_unsupported", "/bombs/dict-bomb.tar.xz"},
		{"archive_ratio", "/bombs/photo.jpg.gz"},
		{"link_limit", "/links.html"},
		{"archive_corrupt", "/bombs/overlap-bomb.zip"},
		{"archive_corrupt", "/bombs/corrupt-directory.zip"},
		{"pixel_limit", "/bombs/pixel-bomb.tar.gz"},
		{"unsupported", "/img/not-an-image.jpg"},
		{"url_length", "/amp/"},
		{"link_limit", "/amp/1/"},
		{"encoding_ratio", "/bombs/encoded.zip"},
		{"too_slow", "/trickle.zip"},
		{"archive_unsupported", "/bombs/dict-bomb.rar"},
		{"archive_encrypted", "/bombs/encrypted.rar"},
		{"split_incomplete", "/dl/split/gap.7z.001"},
		{"frame_limit", "/img/many-frames.gif"},
		{"pixel_limit", "/img/huge-canvas.gif"},
	} {
		hit := false
		for _, u := range problems[want.reason] {
			if strings.Contains(u, want.url) {
				hit = true
			}
		}
		if !hit {
			t.Errorf("%s not reported as %s", want.url, want.reason)
		}
	}
	var cut int
	for _, us := range problems {
		for _, u := range us {
			if strings.Contains(u, "/bombs/cut-entry.tar") {
				cut++
			}
		}
	}
	if cut != 1 {
		t.Errorf("tar cut inside its entry reported %d times, want once", cut)
	}
	if bomb := problems["archive_size"]; len(bomb) == 0 && len(problems["archive_ratio"]) == 0 {
		t.Errorf("no archive bomb stopped by a size or ratio limit")
	}
	if progressed.Load() == 0 {
		t.Errorf("no live progress with pages and assets counted during a multi-second scan")
	}
	if peak.Load() > 256<<20 {
		t.Errorf("peak heap in use %d MiB, over 256 MiB", peak.Load()>>20)
	}
}
