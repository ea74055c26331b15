package scan

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/leakwatch/leakwatch/fixtures/corpus"
	"github.com/leakwatch/leakwatch/internal/archive/archivetest"
	"github.com/leakwatch/leakwatch/internal/report"
)

// TestEntryReadErrorCountedOnce: an archive entry that cannot be read is
// one counted error, not one for the entry and another for its archive.
func TestEntryReadErrorCountedOnce(t *testing.T) {
	c := corpus.New(5, corpus.WithFaces(1), corpus.WithPlates(1))
	bank, st := setup(t, c.WriteCaptures)
	jpg := c.Captures[0].JPEG
	truncTar := archivetest.Tar(archivetest.File{Name: "a.jpg", Body: jpg})
	truncTar = truncTar[:512+len(jpg)/2] // cut inside the entry
	tgz := archivetest.TarGz(archivetest.File{Name: "a.jpg", Body: jpg})
	tgz = tgz[:len(tgz)/2]
	zipped := archivetest.Zip(archivetest.File{Name: "a.jpg", Body: jpg, Store: true})
	badCRC := bytes.Clone(zipped)
	if i := bytes.Index(badCRC, jpg[100:120]); i > 0 {
		badCRC[i] ^= 0xff // stored data no longer matches its CRC
	}
	files := map[string][]byte{"/cut.tar": truncTar, "/cut.tar.gz": tgz, "/crc.zip": badCRC}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if b, ok := files[r.URL.Path]; ok {
			w.Header().Set("Content-Type", "application/octet-stream")
			_, _ = w.Write(b)
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	for name := range files {
		t.Run(name, func(t *testing.T) {
			var mu sync.Mutex
			var problems []report.Problem
			if _, err := Run(context.Background(), Config{Seeds: []string{srv.URL + name}, Bank: bank, Store: st, Recrawl: true, OnError: func(p report.Problem) {
				mu.Lock()
				problems = append(problems, p)
				mu.Unlock()
			}}); err != nil {
				t.Fatal(err)
			}
			if len(problems) != 1 {
				t.Errorf("%d errors, want 1: %+v", len(problems), problems)
			}
		})
	}
}
