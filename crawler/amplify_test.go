package crawler

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// recordingRevisit remembers nothing between runs; it measures what a
// crawl asks to store.
type recordingRevisit struct {
	mu      sync.Mutex
	perPage map[string]int64
	total   int64
}

func (r *recordingRevisit) Lookup(string) (Validators, bool) { return Validators{}, false }

func (r *recordingRevisit) Remember(u string, v Validators) {
	var n int64
	for _, l := range v.Links {
		n += int64(len(l))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.perPage == nil {
		r.perPage = map[string]int64{}
	}
	r.perPage[u] = n
	r.total += n
}

// amplifier serves the link-amplification attack: the seed links n pages
// whose paths are pathLen bytes long, and every page below them holds
// links relative links, each resolving to a URL as long as its page's.
func amplifier(n, pathLen, links int, longestURI *atomic.Int64) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		var b strings.Builder
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, "<a href=\"/amp%d/%s/\">p</a>\n", i, strings.Repeat("a", pathLen))
		}
		b.WriteString(`<img src="/after.jpg">`)
		fmt.Fprint(w, b.String())
	})
	mux.HandleFunc("/after.jpg", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/jpeg")
		fmt.Fprint(w, "IMG")
	})
	page := func(w http.ResponseWriter, r *http.Request) {
		if l := int64(len(r.RequestURI)); l > longestURI.Load() {
			longestURI.Store(l)
		}
		w.Header().Set("Content-Type", "text/html")
		var b strings.Builder
		for i := 0; i < links; i++ {
			fmt.Fprintf(&b, "<a href=\"x%d\">x</a>", i)
		}
		fmt.Fprint(w, b.String())
	}
	for i := 0; i < n; i++ {
		mux.HandleFunc(fmt.Sprintf("/amp%d/", i), page)
	}
	return mux
}

// TestLinkAmplification: pages with long paths full of relative links
// must not make the crawler keep, request or store amplified URLs beyond
// its bounds, and the crawl goes on.
func TestLinkAmplification(t *testing.T) {
	for _, tc := range []struct {
		name    string
		pathLen int
		want    error
	}{
		{"paths over the URL bound", 8 << 10, ErrURLTooLong},
		{"paths just under the URL bound", 1900, ErrLinkLimit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var longest atomic.Int64
			srv := httptest.NewServer(amplifier(3, tc.pathLen, 10000, &longest))
			defer srv.Close()
			rv := &recordingRevisit{}
			c, err := New(Options{Revisit: rv, MaxPages: 60})
			if err != nil {
				t.Fatal(err)
			}
			col := newCollected()
			if _, err := c.Run(context.Background(), []string{srv.URL + "/"}, col.handler, col.onErr); err != nil {
				t.Fatal(err)
			}
			o := c.opts
			if longest.Load() > int64(o.MaxURLBytes) {
				t.Errorf("requested a URL of %d bytes, bound %d", longest.Load(), o.MaxURLBytes)
			}
			rv.mu.Lock()
			for u, n := range rv.perPage {
				if n > o.MaxLinkBytesPerPage {
					t.Errorf("stored %d bytes of links for %.40s..., bound %d", n, u, o.MaxLinkBytesPerPage)
				}
			}
			if rv.total > o.MaxStoredLinkBytes {
				t.Errorf("stored %d bytes of links in the run, bound %d", rv.total, o.MaxStoredLinkBytes)
			}
			t.Logf("pages remembered %d, link bytes stored %d", len(rv.perPage), rv.total)
			rv.mu.Unlock()
			if _, ok := col.assets[srv.URL+"/after.jpg"]; !ok {
				t.Errorf("the crawl did not go on to the image after the amplifier links")
			}
			hit := false
			for _, err := range col.errs {
				hit = hit || errors.Is(err, tc.want)
			}
			if !hit {
				t.Errorf("no %v reported among %d errors", tc.want, len(col.errs))
			}
		})
	}
}
