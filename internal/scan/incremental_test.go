package scan

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/leakwatch/leakwatch/crawler"
	"github.com/leakwatch/leakwatch/fingerprint"
	"github.com/leakwatch/leakwatch/fixtures/corpus"
	"github.com/leakwatch/leakwatch/internal/store"
)

// TestIncrementalRecrawl: an unchanged site costs only conditional
// requests, and a capture enrolled after the first run is still found in
// an unchanged image, from the cached fingerprint.
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
	run := func(bank *fingerprint.Bank) Summary {
		mu.Lock()
		clear(status)
		mu.Unlock()
		sum, err := Run(context.Background(), Config{Seeds: []string{srv.URL + "/"}, Bank: bank, Store: st, Crawler: crawler.Options{RequestTimeout: 5 * time.Second}})
		if err != nil {
			t.Fatal(err)
		}
		return sum
	}
	first := run(bank)
	if first.Hashed != 2 || status[200] != 3 {
		t.Fatalf("first run: %+v, statuses %v", first, status)
	}
	// The bank grows; the site does not change.
	bank2 := fingerprint.NewBank()
	enroll(bank2, a)
	enroll(bank2, b)
	second := run(bank2)
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
