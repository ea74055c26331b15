package scan

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"

	"github.com/leakwatch/leakwatch/fixtures/corpus"
	"github.com/leakwatch/leakwatch/internal/archive/archivetest"
	"github.com/leakwatch/leakwatch/internal/report"
	"github.com/leakwatch/leakwatch/internal/store"
)

// TestMatchesNotRecorded: when the store refuses to record matches (a
// full disk), each is reported as a storage error, not a fetch error, and
// the scan says so by failing.
func TestMatchesNotRecorded(t *testing.T) {
	c := corpus.New(5, corpus.WithFaces(1), corpus.WithPlates(1))
	bank, _ := setup(t, c.WriteCaptures)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte(`<img src="/a.jpg"><img src="/b.jpg">`))
		case "/a.jpg":
			_, _ = w.Write(c.Captures[0].JPEG)
		case "/b.jpg":
			_, _ = w.Write(c.Captures[1].JPEG)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	st, _ := fullDiskStore(t)
	var mu sync.Mutex
	reasons := map[string]int{}
	sum, err := Run(ctx, Config{Seeds: []string{srv.URL + "/"}, Bank: bank, Store: st, OnError: func(p report.Problem) {
		mu.Lock()
		reasons[p.Reason]++
		mu.Unlock()
	}})
	if !errors.Is(err, ErrStorage) {
		t.Errorf("scan error %v, want %v", err, ErrStorage)
	}
	if reasons["storage"] != 2 || reasons["fetch_error"] != 0 || sum.ErrorsBy["storage"] != 2 {
		t.Errorf("reasons %v, summary %v; want 2 storage errors and no fetch error", reasons, sum.ErrorsBy)
	}
}

// TestArchiveNotRememberedWhenMatchesLost: an archive whose entries' matches
// the store refused is not done: its ETag is not remembered, so the next
// run reads it again (rather than getting a 304) and records them.
func TestArchiveNotRememberedWhenMatchesLost(t *testing.T) {
	c := corpus.New(5, corpus.WithFaces(1), corpus.WithPlates(1))
	bank, _ := setup(t, c.WriteCaptures)
	zip := archivetest.Zip(archivetest.File{Name: "set/a.jpg", Body: c.Captures[0].JPEG}, archivetest.File{Name: "set/b.jpg", Body: c.Captures[1].JPEG})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte(`<a href="/dump.zip">dump</a>`))
		case "/dump.zip":
			if r.Header.Get("If-None-Match") == `"v1"` {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			w.Header().Set("ETag", `"v1"`)
			_, _ = w.Write(zip)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	st, room := fullDiskStore(t)
	cfg := Config{Seeds: []string{srv.URL + "/"}, Bank: bank, Store: st}
	if _, err := Run(ctx, cfg); !errors.Is(err, ErrStorage) {
		t.Fatalf("first run: %v, want %v", err, ErrStorage)
	}
	room()
	if _, err := Run(ctx, cfg); err != nil {
		t.Fatalf("second run: %v", err)
	}
	incs, err := st.Incidents(ctx, "")
	if err != nil || len(incs) != 1 || len(incs[0].Captures) != 2 {
		t.Fatalf("incidents after the second run: %+v, %v; want one with both captures", incs, err)
	}
}

// fullDiskStore opens a SQLite store in which every write of a match fails
// as it would on a full disk; room makes writes succeed again.
func fullDiskStore(t *testing.T) (st *store.Store, room func()) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "lw.db")
	st, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(`CREATE TRIGGER disk_full BEFORE INSERT ON incident_matches BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`); err != nil {
		t.Fatal(err)
	}
	return st, func() {
		if _, err := db.Exec(`DROP TRIGGER disk_full`); err != nil {
			t.Fatal(err)
		}
	}
}
