package crawler

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// A server that drops the connection after part of the file: the crawler
// must resume with Range requests and deliver the exact bytes.
func TestArchiveDownloadResumes(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
	var drops, ranges atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := 0
		if rg := r.Header.Get("Range"); rg != "" {
			ranges.Add(1)
			if r.Header.Get("If-Range") != `"v1"` {
				t.Errorf("resume without If-Range: %q", r.Header.Get("If-Range"))
			}
			start, _ = strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(rg, "bytes="), "-"))
			w.Header().Set("Content-Range", "bytes "+strconv.Itoa(start)+"-"+strconv.Itoa(len(data)-1)+"/"+strconv.Itoa(len(data)))
		}
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Content-Type", "application/zip")
		w.Header().Set("Content-Length", strconv.Itoa(len(data)-start))
		if start > 0 {
			w.WriteHeader(http.StatusPartialContent)
		}
		rest := data[start:]
		if drops.Load() < 3 && len(rest) > 200<<10 {
			// Send part of it, then kill the connection.
			drops.Add(1)
			_, _ = w.Write(rest[:200<<10])
			w.(http.Flusher).Flush()
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		_, _ = w.Write(rest)
	}))
	defer srv.Close()
	// The byte progress follows the download across the resumes.
	var started, finished atomic.Int32
	var last atomic.Int64
	c, _ := New(Options{RequestTimeout: 10 * time.Second, Download: func(u string, total int64) func(int64, bool) {
		started.Add(1)
		if total != int64(len(data)) || !strings.HasSuffix(u, "/dump.zip") {
			t.Errorf("Download(%q, %d), want the archive and its size %d", u, total, len(data))
		}
		return func(read int64, done bool) {
			if read < last.Load() {
				t.Errorf("progress went back from %d to %d", last.Load(), read)
			}
			last.Store(read)
			if done {
				finished.Add(1)
			}
		}
	}})
	var got []byte
	_, err := c.Run(context.Background(), []string{srv.URL + "/dump.zip"}, func(ctx context.Context, a Asset) error {
		var err error
		got, err = io.ReadAll(a.Body)
		return err
	}, func(u string, err error) { t.Errorf("%s: %v", u, err) })
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("got %d bytes, want %d identical bytes", len(got), len(data))
	}
	if started.Load() != 1 || finished.Load() != 1 || last.Load() != int64(len(data)) {
		t.Errorf("progress: %d started, %d finished, last at %d of %d bytes", started.Load(), finished.Load(), last.Load(), len(data))
	}
	if ranges.Load() != 3 {
		t.Errorf("%d range requests, want 3", ranges.Load())
	}
}
