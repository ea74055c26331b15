package scan

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/leakwatch/leakwatch/crawler"
	"github.com/leakwatch/leakwatch/fingerprint"
	"github.com/leakwatch/leakwatch/fixtures/corpus"
	"github.com/leakwatch/leakwatch/fixtures/transform"
	"github.com/leakwatch/leakwatch/internal/report"
	"github.com/leakwatch/leakwatch/internal/store"
)

// TestIncrementalRecrawl: an unchanged site costs only conditional
// requests, and a capture enrolled after the first run is still found in
// an unchanged image, from the cached fingerprint, by a scan that matches
// hashes only (one that matches pixels fetches the image again:
// TestPatchCacheStaleAfterEnrollment).
func TestIncrementalRecrawl(t *testing.T) {
	c := corpus.New(5, corpus.WithFaces(2), corpus.WithPlates(1))
	a, b := c.Captures[0], c.Captures[1]
	mod := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var mu sync.Mutex
	status := map[int]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, code: 200}
		defer func() { mu.Lock(); status[rec.code]++; mu.Unlock() }()
		var body []byte
		name := "page.html"
		switch r.URL.Path {
		case "/":
			body = []byte(`<html><img src="/a.jpg"><img src="/b.jpg"></html>`)
		case "/a.jpg":
			body, name = a.JPEG, "a.jpg"
		case "/b.jpg":
			body, name = b.JPEG, "b.jpg"
		default:
			rec.WriteHeader(404)
			return
		}
		rec.Header().Set("ETag", fmt.Sprintf(`"%x"`, len(body)))
		http.ServeContent(rec, r, name, mod, bytes.NewReader(body))
	}))
	defer srv.Close()

	dir := t.TempDir()
	st, err := store.Open(context.Background(), filepath.Join(dir, "lw.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	enroll := func(bank *fingerprint.Bank, cp corpus.Capture) {
		d, err := fingerprint.DecodeBytes(cp.JPEG, fingerprint.DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		e, err := fingerprint.EnrollImage(d.Image)
		if err != nil {
			t.Fatal(err)
		}
		e.Capture = fingerprint.Capture{ID: cp.ID, Kind: cp.Kind}
		if err := bank.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	bank := fingerprint.NewBank()
	enroll(bank, a)
	run := func(bank *fingerprint.Bank, wholeOnly bool) report.Summary {
		mu.Lock()
		clear(status)
		mu.Unlock()
		sum, err := Run(context.Background(), Config{Seeds: []string{srv.URL + "/"}, Bank: bank, Store: st, Crawler: crawler.Options{RequestTimeout: 5 * time.Second},
			WholeImageOnly: wholeOnly})
		if err != nil {
			t.Fatal(err)
		}
		return sum
	}
	first := run(bank, false)
	if first.Hashed != 2 || status[200] != 3 {
		t.Fatalf("first run: %+v, statuses %v", first, status)
	}
	// Nothing changes: conditional requests only, with the default policy.
	again := run(bank, false)
	if status[200] != 0 || status[304] != 3 || again.Hashed != 0 || again.Cached != 2 || again.Unchanged != 3 {
		t.Errorf("unchanged site and bank: %+v, statuses %v, want only three 304s", again, status)
	}
	// The bank grows; the site does not change.
	bank2 := fingerprint.NewBank()
	enroll(bank2, a)
	enroll(bank2, b)
	second := run(bank2, true)
	if status[200] != 0 || status[304] != 3 {
		t.Errorf("unchanged site: statuses %v, want only three 304s", status)
	}
	if second.Hashed != 0 || second.Cached != 2 || second.Unchanged != 3 {
		t.Errorf("second run: %+v", second)
	}
	incs, _ := st.Incidents(context.Background(), "")
	if len(incs) != 1 || len(incs[0].Captures) != 2 {
		t.Fatalf("incidents %+v: the capture enrolled later was not found in the unchanged image", incs)
	}
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.code = code
	s.ResponseWriter.WriteHeader(code)
}

// TestPatchCacheStaleAfterEnrollment: an uneven crop is only found through
// keypoint patches or local features, which are matched on pixels. When a
// bank gains a capture after an image was cached, the next run fetches and
// hashes the image again (a 200 instead of a 304) and finds the crop; the
// run after that is back to 304s. The same holds when only the feature
// route reads pixels (the region routes and patches off).
func TestPatchCacheStaleAfterEnrollment(t *testing.T) {
	featuresOnly := fingerprint.DefaultMatchOptions()
	featuresOnly.SubImages = false
	for _, tc := range []struct {
		name  string
		match fingerprint.MatchOptions
	}{
		{"default policy", fingerprint.DefaultMatchOptions()},
		{"local features without the region routes", featuresOnly},
	} {
		t.Run(tc.name, func(t *testing.T) { patchCacheStale(t, tc.match) })
	}
}

func patchCacheStale(t *testing.T, match fingerprint.MatchOptions) {
	c := corpus.New(6, corpus.WithFaces(2), corpus.WithPlates(0))
	a, b := c.Captures[0], c.Captures[1]
	var crop bytes.Buffer
	if err := jpeg.Encode(&crop, transform.CropSides(0.15, 0.05, 0.10, 0.20)(b.Image), &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	// A tracking pixel: too small for patches or features, cached all the
	// same.
	var tiny bytes.Buffer
	if err := png.Encode(&tiny, image.NewGray(image.Rect(0, 0, 3, 3))); err != nil {
		t.Fatal(err)
	}
	mod := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var mu sync.Mutex
	fetched := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, code: 200}
		defer func() { mu.Lock(); fetched[fmt.Sprint(r.URL.Path, " ", rec.code)]++; mu.Unlock() }()
		body := map[string][]byte{"/": []byte(`<html><img src="/a.jpg"><img src="/u.jpg"><img src="/t.png"></html>`), "/a.jpg": a.JPEG, "/u.jpg": crop.Bytes(),
			"/t.png": tiny.Bytes()}[r.URL.Path]
		if body == nil {
			rec.WriteHeader(404)
			return
		}
		rec.Header().Set("ETag", fmt.Sprintf(`"%x"`, len(body)))
		http.ServeContent(rec, r, filepath.Base(r.URL.Path)+".html", mod, bytes.NewReader(body))
	}))
	defer srv.Close()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "lw.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	bankOf := func(caps map[string]time.Time) *fingerprint.Bank {
		bank := fingerprint.NewBank()
		for _, cp := range []corpus.Capture{a, b} {
			at, ok := caps[cp.ID]
			if !ok {
				continue
			}
			e, err := fingerprint.EnrollImage(cp.Image)
			if err != nil {
				t.Fatal(err)
			}
			e.Capture = fingerprint.Capture{ID: cp.ID, Kind: cp.Kind, EnrolledAt: at}
			if err := bank.Add(e); err != nil {
				t.Fatal(err)
			}
		}
		return bank
	}
	run := func(bank *fingerprint.Bank) map[string]int {
		mu.Lock()
		clear(fetched)
		mu.Unlock()
		cfg := Config{Seeds: []string{srv.URL + "/"}, Bank: bank, Store: st, Crawler: crawler.Options{RequestTimeout: 5 * time.Second},
			Match: match}
		if _, err := Run(context.Background(), cfg); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		return maps.Clone(fetched)
	}
	found := func() map[string]bool {
		out := map[string]bool{}
		incs, _ := st.Incidents(context.Background(), "")
		for _, inc := range incs {
			for _, id := range inc.Captures {
				out[id] = true
			}
		}
		return out
	}
	early := time.Now().Add(-2 * time.Hour)
	if got := run(bankOf(map[string]time.Time{a.ID: early})); got["/u.jpg 200"] != 1 {
		t.Fatalf("first run fetched %v", got)
	}
	if found()[b.ID] {
		t.Fatal("found a capture that was not enrolled")
	}
	// b's enrollment started before a's but finished after the first run
	// loaded the bank (enrollment stamps a capture when it starts and
	// writes the bank when it ends): the cache must go by the bank's
	// captures, not by any time.
	grown := bankOf(map[string]time.Time{a.ID: early, b.ID: early.Add(-time.Second)})
	if got := run(grown); got["/u.jpg 200"] != 1 || got["/ 304"] != 1 {
		t.Errorf("second run fetched %v: want the page unchanged (304) and the image fetched again", got)
	}
	if !found()[b.ID] {
		t.Errorf("the uneven crop of %s, enrolled after the image was cached, was not found", b.ID)
	}
	// The image is now cached against this bank: 304s only.
	if got := run(grown); got["/u.jpg 304"] != 1 || got["/u.jpg 200"] != 0 || got["/t.png 304"] != 1 {
		t.Errorf("third run fetched %v: want a 304 for each image", got)
	}
}

// A URL that served a still image and now serves an animation is not
// matched from the still's cache on a 304: the animation is fetched again
// on every run, as animations are not cached.
func TestStillBecomesAnimation(t *testing.T) {
	c := corpus.New(5, corpus.WithFaces(1), corpus.WithPlates(1))
	bank, _ := setup(t, c.WriteCaptures)
	frame := func(v uint8) *image.Paletted {
		p := image.NewPaletted(image.Rect(0, 0, 32, 32), color.Palette{color.Gray{0}, color.Gray{v}})
		for i := range p.Pix {
			p.Pix[i] = uint8(i % 2)
		}
		return p
	}
	var still, anim bytes.Buffer
	if err := gif.EncodeAll(&still, &gif.GIF{Image: []*image.Paletted{frame(200)}, Delay: []int{0}}); err != nil {
		t.Fatal(err)
	}
	if err := gif.EncodeAll(&anim, &gif.GIF{Image: []*image.Paletted{frame(100), frame(250)}, Delay: []int{5, 5}}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	body, conditional := still.Bytes(), 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		b := body
		if r.URL.Path == "/x.gif" && r.Header.Get("If-None-Match") != "" {
			conditional++
		}
		mu.Unlock()
		switch r.URL.Path {
		case "/":
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte(`<img src="/x.gif">`))
		case "/x.gif":
			w.Header().Set("ETag", fmt.Sprintf(`"%x"`, sha256.Sum256(b)))
			http.ServeContent(w, r, "x.gif", time.Time{}, bytes.NewReader(b))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "lw.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	run := func() {
		t.Helper()
		if _, err := Run(context.Background(), Config{Seeds: []string{srv.URL + "/"}, Bank: bank, Store: st}); err != nil {
			t.Fatal(err)
		}
	}
	run() // the still, remembered with its content
	mu.Lock()
	body = anim.Bytes()
	mu.Unlock()
	run() // the animation, over a 200
	mu.Lock()
	before := conditional
	mu.Unlock()
	run()
	mu.Lock()
	defer mu.Unlock()
	if conditional != before {
		t.Errorf("the animation was asked for conditionally (%d times), so a 304 would replay the still it replaced", conditional-before)
	}
}
