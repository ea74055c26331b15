package crawler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type collected struct {
	mu     sync.Mutex
	assets map[string]Asset
	bodies map[string]string
	errs   map[string]error
}

func newCollected() *collected {
	return &collected{assets: map[string]Asset{}, bodies: map[string]string{}, errs: map[string]error{}}
}

func (c *collected) handler(ctx context.Context, a Asset) error {
	b, err := io.ReadAll(a.Body)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.assets[a.URL] = a
	c.bodies[a.URL] = string(b)
	return err
}

func (c *collected) onErr(u string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.errs[u] = err
}

func TestCrawlFindsAssetsWithinScope(t *testing.T) {
	var outside atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { outside.Add(1) }))
	defer other.Close()
	mux := http.NewServeMux()
	page := func(body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, body)
		}
	}
	img := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "image/jpeg")
			fmt.Fprint(w, "IMG:"+name)
		}
	}
	mux.HandleFunc("/", page(`<html><head><meta property="og:image" content="/og.jpg"></head><body>
		<a href="/p2">next</a><a href="`+other.URL+`/x.jpg">elsewhere</a>
		<img src="/a.jpg" srcset="/b.jpg 1x, /c.jpg 2x"><a href="/full.png">full</a>
		<a href="/dump.zip">archive</a><a href="/loop">loop</a><a href="/noext">noext</a>
		<div style="background: url('/bg.jpg')"></div></body></html>`))
	mux.HandleFunc("/p2", page(`<img src="a.jpg"><img src="/deep.jpg"><a href="/p3">deeper</a>`))
	mux.HandleFunc("/p3", page(`<img src="/too-deep.jpg">`))
	for _, n := range []string{"/a.jpg", "/b.jpg", "/c.jpg", "/og.jpg", "/full.png", "/deep.jpg", "/bg.jpg", "/too-deep.jpg"} {
		mux.HandleFunc(n, img(n))
	}
	mux.HandleFunc("/noext", img("/noext"))
	mux.HandleFunc("/dump.zip", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/zip")
		fmt.Fprint(w, "PK\x03\x04zip")
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop2", http.StatusFound) })
	mux.HandleFunc("/loop2", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop", http.StatusFound) })
	srv := httptest.NewServer(mux)
	defer srv.Close()

	c, err := New(Options{MaxDepth: 2, RequestTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	got := newCollected()
	st, err := c.Run(context.Background(), []string{srv.URL + "/"}, got.handler, got.onErr)
	if err != nil {
		t.Fatal(err)
	}
	var urls []string
	for u := range got.assets {
		urls = append(urls, strings.TrimPrefix(u, srv.URL))
	}
	sort.Strings(urls)
	want := []string{"/a.jpg", "/b.jpg", "/bg.jpg", "/c.jpg", "/deep.jpg", "/dump.zip", "/full.png", "/noext", "/og.jpg"}
	if strings.Join(urls, " ") != strings.Join(want, " ") {
		t.Fatalf("assets:\n got %v\nwant %v", urls, want)
	}
	if a := got.assets[srv.URL+"/a.jpg"]; a.Page != srv.URL+"/" || a.Kind != LinkImage {
		t.Errorf("a.jpg: page %q kind %v", a.Page, a.Kind)
	}
	if a := got.assets[srv.URL+"/dump.zip"]; a.Kind != LinkArchive {
		t.Errorf("dump.zip kind %v", a.Kind)
	}
	if b := got.bodies[srv.URL+"/noext"]; b != "IMG:/noext" {
		t.Errorf("noext body %q", b)
	}
	if outside.Load() != 0 {
		t.Errorf("out-of-scope host received %d requests", outside.Load())
	}
	if st.Pages != 2 {
		t.Errorf("pages = %d, want 2 (depth 2)", st.Pages)
	}
	var loopErr error
	for u, e := range got.errs {
		if strings.Contains(u, "/loop") {
			loopErr = e
		}
	}
	if loopErr == nil {
		t.Errorf("redirect loop not reported; errors: %v", got.errs)
	}
}

func TestCrawlLimits(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<a href="/big">b</a><img src="/huge.jpg"><img src="/slow.jpg"><img src="/endless.jpg"><img src="/404.jpg">`)
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<html>"+strings.Repeat("x", 64<<10))
	})
	mux.HandleFunc("/huge.jpg", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/jpeg")
		w.Header().Set("Content-Length", "100000000")
		fmt.Fprint(w, "x")
	})
	mux.HandleFunc("/slow.jpg", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/jpeg")
		for {
			if _, err := w.Write([]byte("x")); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	})
	mux.HandleFunc("/endless.jpg", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/jpeg")
		buf := make([]byte, 32<<10)
		for {
			if _, err := w.Write(buf); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/404.jpg", http.NotFound)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c, err := New(Options{MaxPageBytes: 16 << 10, MaxImageBytes: 1 << 20, RequestTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	got := newCollected()
	if _, err := c.Run(context.Background(), []string{srv.URL}, got.handler, got.onErr); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]error{"/big": ErrTooLarge, "/huge.jpg": ErrTooLarge, "/endless.jpg": ErrTooLarge, "/404.jpg": ErrHTTPStatus} {
		var e error
		for u, err := range got.errs {
			if strings.HasSuffix(u, path) {
				e = err
			}
		}
		if e == nil {
			e = findBodyErr(got, srv.URL+path)
		}
		if !errors.Is(e, want) {
			t.Errorf("%s: err %v, want %v", path, e, want)
		}
	}
	if e := findBodyErr(got, srv.URL+"/slow.jpg"); e == nil {
		t.Errorf("slow response not cut by the timeout")
	}
}

func findBodyErr(c *collected, u string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.errs[u]
}

func TestCrawlIgnoresCollyEnvironment(t *testing.T) {
	t.Setenv("COLLY_ALLOWED_DOMAINS", "example.invalid")
	t.Setenv("COLLY_CACHE_DIR", t.TempDir())
	t.Setenv("COLLY_MAX_BODY_SIZE", "1")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/i.png" {
			w.Header().Set("Content-Type", "image/png")
			fmt.Fprint(w, "png")
			return
		}
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<img src="/i.png">`)
	}))
	defer srv.Close()
	c, _ := New(Options{})
	got := newCollected()
	if _, err := c.Run(context.Background(), []string{srv.URL}, got.handler, got.onErr); err != nil {
		t.Fatal(err)
	}
	if len(got.assets) != 1 {
		t.Fatalf("COLLY_* environment changed the crawl: assets %v errors %v", got.assets, got.errs)
	}
}

func TestBadSeed(t *testing.T) {
	c, _ := New(Options{})
	for _, s := range []string{"ftp://x/", "not a url", "http://"} {
		if _, err := c.Run(context.Background(), []string{s}, nil, nil); !errors.Is(err, ErrBadSeed) {
			t.Errorf("%q: err %v", s, err)
		}
	}
}

// A flaky host: failures the caller deems retryable are retried with a
// renewed route, up to MaxRetries.
func TestRetryWithRenew(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) <= 2 {
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close() // drop the connection: a dead circuit
			return
		}
		w.Header().Set("Content-Type", "image/png")
		fmt.Fprint(w, "png")
	}))
	defer srv.Close()
	var renewed atomic.Int32
	c, _ := New(Options{
		Retryable: func(err error) bool { return true },
		Renew:     func(host string) { renewed.Add(1) },
	})
	got := newCollected()
	if _, err := c.Run(context.Background(), []string{srv.URL + "/x.png"}, got.handler, got.onErr); err != nil {
		t.Fatal(err)
	}
	if len(got.assets) != 1 || len(got.errs) != 0 {
		t.Fatalf("assets %v errors %v", got.assets, got.errs)
	}
	if renewed.Load() != 2 {
		t.Errorf("renewed %d times, want 2", renewed.Load())
	}
}

func TestBadSeedAmongGoodOnes(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		fmt.Fprint(w, "png")
	}))
	defer srv.Close()
	c, _ := New(Options{})
	got := newCollected()
	if _, err := c.Run(context.Background(), []string{"ftp://nope/", srv.URL + "/a.png"}, got.handler, got.onErr); err != nil {
		t.Fatalf("one bad seed failed the whole crawl: %v", err)
	}
	if len(got.assets) != 1 || !errors.Is(got.errs["ftp://nope/"], ErrBadSeed) {
		t.Fatalf("assets %v errors %v", got.assets, got.errs)
	}
}
