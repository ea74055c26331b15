package crawler

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
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

func TestGroupSplit(t *testing.T) {
	links := func(paths ...string) []Link {
		var out []Link
		for _, p := range paths {
			out = append(out, Link{URL: "http://d.test" + p, Kind: LinkArchive})
		}
		return append(out, Link{URL: "http://d.test/page", Kind: LinkPage})
	}
	tests := []struct {
		name     string
		links    []Link
		sets     [][]string
		rest     int // links left, the page included
		problems []error
	}{
		{"7z numbered, shuffled", links("/a.7z.003", "/a.7z.001", "/a.7z.002"), [][]string{{"/a.7z.001", "/a.7z.002", "/a.7z.003"}}, 1, nil},
		{"rar parts beyond 9", links("/r.part10.rar", "/r.part2.rar", "/r.part1.rar", "/r.part3.rar", "/r.part4.rar", "/r.part5.rar", "/r.part6.rar", "/r.part7.rar", "/r.part8.rar", "/r.part9.rar"),
			[][]string{{"/r.part1.rar", "/r.part2.rar", "/r.part3.rar", "/r.part4.rar", "/r.part5.rar", "/r.part6.rar", "/r.part7.rar", "/r.part8.rar", "/r.part9.rar", "/r.part10.rar"}}, 1, nil},
		{"old rar", links("/o.r01", "/o.rar", "/o.r00"), [][]string{{"/o.rar", "/o.r00", "/o.r01"}}, 1, nil},
		{"zip -s", links("/z.zip", "/z.z02", "/z.z01"), [][]string{{"/z.z01", "/z.z02", "/z.zip"}}, 1, nil},
		{"lone archives stay", links("/plain.zip", "/plain.rar", "/one.7z.001", "/x.part1.rar"), nil, 5, nil},
		{"gap", links("/g.7z.001", "/g.7z.003"), nil, 1, []error{ErrSplitIncomplete}},
		{"zip -s without its .zip", links("/n.z01", "/n.z02"), nil, 1, []error{ErrSplitIncomplete}},
		{"two sets, one dir each", links("/a/s.7z.001", "/a/s.7z.002", "/b/s.7z.001", "/b/s.7z.002"),
			[][]string{{"/a/s.7z.001", "/a/s.7z.002"}, {"/b/s.7z.001", "/b/s.7z.002"}}, 1, nil},
		{"over the limit", links(many(17)...), nil, 1, []error{ErrSplitLimit}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sets, rest, problems := groupSplit(tt.links, 16)
			var got [][]string
			for _, s := range sets {
				var short []string
				for _, u := range s {
					short = append(short, strings.TrimPrefix(u, "http://d.test"))
				}
				got = append(got, short)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.sets) {
				t.Errorf("sets = %v, want %v", got, tt.sets)
			}
			if len(rest) != tt.rest {
				t.Errorf("rest = %v, want %d links", rest, tt.rest)
			}
			if len(problems) != len(tt.problems) {
				t.Fatalf("problems = %v, want %v", problems, tt.problems)
			}
			for _, err := range problems {
				if !errors.Is(err, tt.problems[0]) {
					t.Errorf("problem %v, want %v", err, tt.problems[0])
				}
			}
		})
	}
}

func many(n int) []string {
	var out []string
	for i := 1; i <= n; i++ {
		out = append(out, fmt.Sprintf("/l.7z.%03d", i))
	}
	return out
}

// TestCrawlSplitArchive serves a directory listing of a split archive:
// the handler must get one asset whose volumes read back in order, and no
// volume may be fetched on its own.
func TestCrawlSplitArchive(t *testing.T) {
	parts := map[string]string{"/dl/set.7z.001": "first-", "/dl/set.7z.002": "second-", "/dl/set.7z.003": "third"}
	var mu sync.Mutex
	requests := map[string]int{}
	mux := http.NewServeMux()
	mux.HandleFunc("/dl/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/dl/" {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, `<pre><a href="set.7z.002">set.7z.002</a> <a href="set.7z.001">set.7z.001</a> <a href="set.7z.003">set.7z.003</a>
				<a href="gap.7z.001">g1</a> <a href="gap.7z.003">g3</a></pre>`)
			return
		}
		mu.Lock()
		requests[r.URL.Path]++
		mu.Unlock()
		body, ok := parts[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		fmt.Fprint(w, body)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c, err := New(Options{RequestTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var got []Asset
	var joined string
	errs := map[string]error{}
	_, err = c.Run(context.Background(), []string{srv.URL + "/dl/"}, func(ctx context.Context, a Asset) error {
		var b strings.Builder
		for _, v := range a.Volumes {
			if _, err := io.Copy(&b, v.Body); err != nil {
				return err
			}
		}
		mu.Lock()
		got = append(got, a)
		joined = b.String()
		mu.Unlock()
		return nil
	}, func(u string, err error) { errs[strings.TrimPrefix(u, srv.URL)] = err })
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || len(got[0].Volumes) != 3 || got[0].URL != srv.URL+"/dl/set.7z.001" || got[0].Kind != LinkArchive {
		t.Fatalf("assets = %+v, want one split archive of 3 volumes", got)
	}
	if joined != "first-second-third" {
		t.Errorf("volumes read back as %q", joined)
	}
	for p, n := range requests {
		if n != 1 {
			t.Errorf("%s fetched %d times", p, n)
		}
	}
	if requests["/dl/gap.7z.001"] != 0 || !errors.Is(errs["/dl/gap.7z.001"], ErrSplitIncomplete) {
		t.Errorf("incomplete set: fetched %d times, error %v", requests["/dl/gap.7z.001"], errs["/dl/gap.7z.001"])
	}
}

func TestCrawlSplitArchiveLimit(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<a href="/s.7z.001">1</a><a href="/s.7z.002">2</a>`)
	})
	mux.HandleFunc("/s.7z.001", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, strings.Repeat("a", 600)) })
	mux.HandleFunc("/s.7z.002", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, strings.Repeat("b", 600)) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c, err := New(Options{RequestTimeout: 5 * time.Second, MaxArchiveBytes: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var readErr error
	_, err = c.Run(context.Background(), []string{srv.URL + "/"}, func(ctx context.Context, a Asset) error {
		for _, v := range a.Volumes {
			if _, err := io.Copy(io.Discard, v.Body); err != nil {
				readErr = err
				return err
			}
		}
		return nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(readErr, ErrTooLarge) {
		t.Errorf("reading 1200 bytes of volumes under a 1000-byte limit: %v, want ErrTooLarge", readErr)
	}
}

// TestCrawlSplitArchiveGzipBomb: volumes served gzip-encoded are inflated
// under the decode-ratio bound, as any asset is, not by net/http unseen.
func TestCrawlSplitArchiveGzipBomb(t *testing.T) {
	var bomb bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&bomb, gzip.BestCompression)
	_, _ = zw.Write(make([]byte, 64<<20))
	_ = zw.Close()
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<a href="/s.7z.001">1</a><a href="/s.7z.002">2</a>`)
	})
	vol := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		_, _ = w.Write(bomb.Bytes())
	}
	mux.HandleFunc("/s.7z.001", vol)
	mux.HandleFunc("/s.7z.002", vol)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c, err := New(Options{RequestTimeout: 10 * time.Second, MaxDecodeRatio: 200})
	if err != nil {
		t.Fatal(err)
	}
	var readErr error
	var read int64
	_, err = c.Run(context.Background(), []string{srv.URL + "/"}, func(ctx context.Context, a Asset) error {
		for _, v := range a.Volumes {
			n, err := io.Copy(io.Discard, v.Body)
			read += n
			if err != nil {
				readErr = err
				return err
			}
		}
		return nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(readErr, ErrEncodingRatio) || read > 4<<20 {
		t.Errorf("gzip-bombed volumes: read %d bytes, err %v; want at most 4 MiB and %v", read, readErr, ErrEncodingRatio)
	}
}

// TestCrawlSniffsPages checks that what a site serves under <a href> as
// text/html, or with no Content-Type, is handed over as an asset when its
// bytes are not text, while a real page stays a page.
func TestCrawlSniffsPages(t *testing.T) {
	jpeg := "\xff\xd8\xff\xe0\x00\x10JFIF\x00" + strings.Repeat("\x01\x02", 300)
	zip := "PK\x03\x04" + strings.Repeat("\x00", 100)
	mux := http.NewServeMux()
	serve := func(ct, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if ct == "" {
				w.Header()["Content-Type"] = nil
			} else {
				w.Header().Set("Content-Type", ct)
			}
			fmt.Fprint(w, body)
		}
	}
	mux.HandleFunc("/", serve("text/html", `<a href="/a">a</a><a href="/b">b</a><a href="/c">c</a><a href="/d">d</a><a href="/e">e</a>`))
	mux.HandleFunc("/a", serve("text/html; charset=utf-8", jpeg))
	mux.HandleFunc("/b", serve("", jpeg))
	mux.HandleFunc("/c", serve("text/html", zip))
	mux.HandleFunc("/d", serve("", `<html><img src="/e"></html>`))
	mux.HandleFunc("/e", serve("image/jpeg", jpeg))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c, err := New(Options{RequestTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	got := newCollected()
	st, err := c.Run(context.Background(), []string{srv.URL + "/"}, got.handler, got.onErr)
	if err != nil {
		t.Fatal(err)
	}
	for p, kind := range map[string]LinkKind{"/a": LinkImage, "/b": LinkImage, "/c": LinkArchive, "/e": LinkImage} {
		a, ok := got.assets[srv.URL+p]
		if !ok || a.Kind != kind {
			t.Errorf("%s: handed over %v as %v, want %v", p, ok, a.Kind, kind)
		}
	}
	if got.bodies[srv.URL+"/a"] != jpeg {
		t.Errorf("/a body not the full JPEG (%d bytes)", len(got.bodies[srv.URL+"/a"]))
	}
	if _, ok := got.assets[srv.URL+"/d"]; ok || st.Pages != 2 {
		t.Errorf("an HTML page without a type was not parsed as a page: pages %d", st.Pages)
	}
}

func TestInlineImages(t *testing.T) {
	gifBytes := "GIF89a\x01\x00\x01\x00\x00\x00\x00;"
	b64 := base64.StdEncoding.EncodeToString([]byte(gifBytes))
	page := fmt.Sprintf(`<img src="data:image/gif;base64,%s"><div style="background:url('data:image/gif;base64,%s')"></div>
		<a href="DATA:image/gif,GIF89a%%01%%00"></a><img src="data:text/plain,hello"><img src="data:image/png;base64,!!!">
		<img srcset="data:image/gif;base64,%s 1x, /x.jpg 2x">`, b64, strings.TrimRight(b64, "="), b64)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, page)
	})
	mux.HandleFunc("/x.jpg", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/jpeg")
		fmt.Fprint(w, "IMG")
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c, err := New(Options{RequestTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	got := newCollected()
	if _, err := c.Run(context.Background(), []string{srv.URL + "/"}, got.handler, got.onErr); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		srv.URL + "/#inline-image-1": gifBytes,
		srv.URL + "/#inline-image-2": gifBytes, // the same bytes, unpadded: another inline image
		srv.URL + "/#inline-image-3": "GIF89a\x01\x00",
	}
	for u, body := range want {
		if got.bodies[u] != body {
			t.Errorf("%s: body %q, want %q", u, got.bodies[u], body)
		}
		if a := got.assets[u]; a.Kind != LinkImage || a.Page != srv.URL+"/" {
			t.Errorf("%s: kind %v page %q", u, a.Kind, a.Page)
		}
	}
	if len(got.errs) != 1 || got.errs[srv.URL+"/#inline-image-4"] == nil {
		t.Errorf("errors %v, want one for the malformed base64", got.errs)
	}
	// srcset is split as the HTML standard says: the data: URI stays whole
	// (a duplicate of the first image) and the other candidate is fetched.
	for u := range got.assets {
		if strings.Contains(u, "base64") {
			t.Errorf("srcset with a data: URI was split into URLs: %s", u)
		}
	}
	if _, ok := got.assets[srv.URL+"/x.jpg"]; !ok {
		t.Errorf("the srcset candidate after a data: URI was not fetched")
	}
}

func FuzzDataURI(f *testing.F) {
	for _, s := range []string{"data:image/png;base64,iVBORw0KGgo=", "data:image/gif,GIF89a%00%ff", "DATA:IMAGE/JPEG;BASE64,/9j/4A\n==", "data:,", "data:image/x;base64,-_-_"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, data, err := parseDataURI(s)
		if err == nil && len(data) > len(s) {
			t.Fatalf("%d bytes decoded from a %d-byte URI", len(data), len(s))
		}
	})
}

// TestLargeAssetBehindPageLink: an archive larger than a page may be,
// served with its size behind a link that looks like a page, still goes
// to the handler as an asset rather than failing as an oversized page.
func TestLargeAssetBehindPageLink(t *testing.T) {
	body := bytes.Repeat([]byte("PK\x03\x04 zip-ish bytes "), 4096) // 80 KiB
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<a href="/dl.php?id=7">download</a>`)
	})
	mux.HandleFunc("/dl.php", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/zip")
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		_, _ = w.Write(body)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c, err := New(Options{RequestTimeout: 5 * time.Second, MaxPageBytes: 16 << 10})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	got := map[string]int64{}
	_, err = c.Run(context.Background(), []string{srv.URL + "/"}, func(ctx context.Context, a Asset) error {
		n, err := io.Copy(io.Discard, a.Body)
		mu.Lock()
		got[a.URL] = n
		mu.Unlock()
		return err
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := got[srv.URL+"/dl.php?id=7"]; n != int64(len(body)) {
		t.Errorf("asset behind a page link: %d bytes handed over, want %d (got %v)", n, len(body), got)
	}
}

// TestPageSlotsPerHost: Parallelism bounds each site's pages, not the run's:
// a site whose page hangs must not hold the page slot another site needs.
func TestPageSlotsPerHost(t *testing.T) {
	released, started := make(chan struct{}), make(chan struct{})
	var once, startOnce sync.Once
	var early atomic.Bool // the slow page was still being answered when the other site's came
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		startOnce.Do(func() { close(started) })
		select {
		case <-released:
			early.Store(true)
		case <-time.After(5 * time.Second): // the other site never came while this one held its slot
		}
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<p>slow</p>`)
	}))
	defer slow.Close()
	fast := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Both pages are answered at once only if each site has a slot.
		select {
		case <-started:
			once.Do(func() { close(released) })
		case <-time.After(5 * time.Second):
		}
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<p>fast</p>`)
	}))
	defer fast.Close()
	c, err := New(Options{RequestTimeout: 10 * time.Second, Parallelism: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Run(context.Background(), []string{slow.URL + "/", fast.URL + "/"}, func(context.Context, Asset) error { return nil }, nil); err != nil {
		t.Fatal(err)
	}
	if !early.Load() {
		t.Error("the second site's page waited for the slot the first site's hanging page held")
	}
}

// TestRedirectKeepsReferrer: a page-like link that redirects to an image
// hands the image over with the page that linked it.
func TestRedirectKeepsReferrer(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<a href="/thread/7">thread</a>`)
	})
	mux.HandleFunc("/thread/7", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<a href="/go?id=3">photo</a>`)
	})
	mux.HandleFunc("/go", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/files/3.jpg", http.StatusFound) })
	mux.HandleFunc("/files/3.jpg", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/jpeg")
		_, _ = w.Write([]byte("\xff\xd8\xff\xe0 not much of a jpeg"))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c, err := New(Options{RequestTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	pages := map[string]string{}
	if _, err := c.Run(context.Background(), []string{srv.URL + "/"}, func(_ context.Context, a Asset) error {
		mu.Lock()
		pages[a.URL] = a.Page
		mu.Unlock()
		_, err := io.Copy(io.Discard, a.Body)
		return err
	}, nil); err != nil {
		t.Fatal(err)
	}
	if got := pages[srv.URL+"/files/3.jpg"]; got != srv.URL+"/thread/7" {
		t.Errorf("image reached through a redirect: page %q, want %q (assets %v)", got, srv.URL+"/thread/7", pages)
	}
}
