package crawler

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

// Step walks the same site one task at a time: a page yields its
// in-scope links within the depth, an asset is streamed to the handler,
// and a "page" that is really an image is streamed without a second
// request.
func TestStepOneTaskAtATime(t *testing.T) {
	hits := map[string]int{}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		hits[r.URL.Path]++
		switch r.URL.Path {
		case "/":
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte(`<a href="/p2">p2</a><img src="/a.jpg"><a href="http://elsewhere.test/x">x</a><a href="/img">img</a>`))
		case "/p2":
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte(`<a href="/p3">p3</a>`))
		case "/a.jpg", "/img":
			w.Header().Set("Content-Type", "image/jpeg")
			_, _ = w.Write([]byte("\xff\xd8\xff not really"))
		default:
			http.NotFound(w, r)
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c, err := New(Options{MaxDepth: 2})
	if err != nil {
		t.Fatal(err)
	}
	got := newCollected()
	ctx := context.Background()
	seeds := []string{srv.URL + "/"}
	next, err := c.Step(ctx, seeds, Task{URL: srv.URL + "/", Kind: LinkPage, Depth: 1}, got.handler)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]LinkKind{srv.URL + "/p2": LinkPage, srv.URL + "/a.jpg": LinkImage, srv.URL + "/img": LinkPage}
	if len(next) != len(want) {
		t.Fatalf("next %+v", next)
	}
	for _, n := range next {
		if k, ok := want[n.URL]; !ok || k != n.Kind || n.Depth != 2 || n.Page != srv.URL+"/" {
			t.Fatalf("unexpected task %+v", n)
		}
		more, err := c.Step(ctx, seeds, n, got.handler)
		if err != nil {
			t.Fatalf("%s: %v", n.URL, err)
		}
		if len(more) != 0 {
			t.Fatalf("%s at the depth limit led to %+v", n.URL, more)
		}
	}
	if len(got.bodies) != 2 || got.bodies[srv.URL+"/img"] == "" || got.bodies[srv.URL+"/a.jpg"] == "" {
		t.Fatalf("assets %v", got.bodies)
	}
	for p, n := range hits {
		if n != 1 {
			t.Errorf("%s fetched %d times", p, n)
		}
	}
	if _, err := c.Step(ctx, seeds, Task{URL: "http://elsewhere.test/x", Kind: LinkPage, Depth: 1}, got.handler); !errors.Is(err, ErrOutOfScope) {
		t.Fatalf("out of scope: %v", err)
	}
	if _, err := c.Step(ctx, seeds, Task{URL: srv.URL + "/missing", Kind: LinkPage, Depth: 1}, got.handler); !errors.Is(err, ErrHTTPStatus) {
		t.Fatalf("404: %v", err)
	}
}
