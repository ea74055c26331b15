package crawler

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countingHandler reads every asset to the end, counting the bytes it was
// given, and reports the read error.
type countingHandler struct {
	mu    sync.Mutex
	bytes map[string]int64
	errs  map[string]error
}

func (c *countingHandler) handle(_ context.Context, a Asset) error {
	n, err := io.Copy(io.Discard, a.Body)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.bytes == nil {
		c.bytes, c.errs = map[string]int64{}, map[string]error{}
	}
	c.bytes[a.URL] = n
	c.errs[a.URL] = err
	return err
}

// TestEncodedBombMetered: a small gzip-encoded response that decodes to a
// zip header and a mass of zeros is cut by the ratio bound, whatever the
// archive size limit, so the consumer never gets (and never spools) the
// decoded mass.
func TestEncodedBombMetered(t *testing.T) {
	var enc bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&enc, gzip.BestCompression)
	_, _ = zw.Write([]byte("PK\x03\x04"))
	_, _ = io.Copy(zw, io.LimitReader(zeros{}, 64<<20))
	_ = zw.Close()
	mux := http.NewServeMux()
	mux.HandleFunc("/bomb.zip", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/zip")
		w.Header().Set("Content-Encoding", "gzip")
		_, _ = w.Write(enc.Bytes())
	})
	mux.HandleFunc("/ok.jpg", func(w http.ResponseWriter, r *http.Request) {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		_, _ = zw.Write([]byte("\xff\xd8\xff an honest, compressible image body"))
		_ = zw.Close()
		w.Header().Set("Content-Type", "image/jpeg")
		w.Header().Set("Content-Encoding", "gzip")
		_, _ = w.Write(b.Bytes())
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c, err := New(Options{MaxDecodeRatio: 200})
	if err != nil {
		t.Fatal(err)
	}
	h := &countingHandler{}
	if _, err := c.Run(context.Background(), []string{srv.URL + "/bomb.zip", srv.URL + "/ok.jpg"}, h.handle, nil); err != nil {
		t.Fatal(err)
	}
	bomb := srv.URL + "/bomb.zip"
	t.Logf("%d encoded bytes; consumer got %d decoded bytes, err %v", enc.Len(), h.bytes[bomb], h.errs[bomb])
	if got := h.bytes[bomb]; got > 2<<20 {
		t.Errorf("consumer got %d decoded bytes of a %d-byte response, want at most 2 MiB", got, enc.Len())
	}
	if !errors.Is(h.errs[bomb], ErrEncodingRatio) {
		t.Errorf("bomb: err %v, want %v", h.errs[bomb], ErrEncodingRatio)
	}
	if ok := srv.URL + "/ok.jpg"; h.errs[ok] != nil || h.bytes[ok] != 38 {
		t.Errorf("gzip-encoded image: %d bytes, err %v; want its 38 decoded bytes", h.bytes[ok], h.errs[ok])
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestSlowArchiveAbandoned: an archive that stops sending, or sends too
// slowly, is abandoned long before the archive time limit.
func TestSlowArchiveAbandoned(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/stalled.zip", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/zip")
		_, _ = w.Write([]byte("PK\x03\x04"))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	mux.HandleFunc("/trickle.zip", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/zip")
		for {
			if _, err := w.Write([]byte("P")); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c, err := New(Options{ArchiveTimeout: time.Hour, ReadIdleTimeout: 300 * time.Millisecond, MinArchiveRate: 1 << 10, RateWindow: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	// Without the bounds this would wait for the hour; ctx ends it early
	// so the test fails instead of hanging.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	h := &countingHandler{}
	_, _ = c.Run(ctx, []string{srv.URL + "/stalled.zip", srv.URL + "/trickle.zip"}, h.handle, nil)
	for path, want := range map[string]error{"/stalled.zip": ErrStalled, "/trickle.zip": ErrTooSlow} {
		if err := h.errs[srv.URL+path]; !errors.Is(err, want) {
			t.Errorf("%s: err %v, want %v", path, err, want)
		}
	}
}

// TestSlowHostDoesNotStarveOthers: while one host holds its share of the
// download workers with archives that do not move, assets of another host
// are still fetched.
func TestSlowHostDoesNotStarveOthers(t *testing.T) {
	fastDone := make(chan struct{})
	var starved atomic.Bool
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/zip")
		_, _ = w.Write([]byte("PK\x03\x04"))
		w.(http.Flusher).Flush()
		select {
		case <-fastDone:
		case <-r.Context().Done():
		case <-time.After(10 * time.Second): // the test fails rather than hangs
			starved.Store(true)
		}
	}))
	defer slow.Close()
	fast := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/jpeg")
		fmt.Fprint(w, "IMG")
	}))
	defer fast.Close()
	var seeds []string
	for i := 0; i < 8; i++ {
		seeds = append(seeds, fmt.Sprintf("%s/dump%d.zip", slow.URL, i))
	}
	seeds = append(seeds, fast.URL+"/photo.jpg")
	c, err := New(Options{Parallelism: 1, ArchiveTimeout: time.Hour, ReadIdleTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	h := func(ctx context.Context, a Asset) error {
		if strings.HasPrefix(a.URL, fast.URL) {
			once.Do(func() { close(fastDone) })
		}
		_, err := io.Copy(io.Discard, a.Body)
		return err
	}
	if _, err := c.Run(context.Background(), seeds, h, nil); err != nil {
		t.Fatal(err)
	}
	if starved.Load() {
		t.Errorf("the other host's image was fetched only after the slow host's downloads ended")
	}
}
