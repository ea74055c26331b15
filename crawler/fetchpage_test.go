package crawler

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestFetchPage(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/page":
			w.Header().Set("X-Dump", "yes")
			w.Write([]byte("<html>leak</html>"))
		case "/moved":
			http.Redirect(w, r, "/page", http.StatusFound)
		case "/huge":
			w.Write([]byte(strings.Repeat("x", 2048)))
		}
	}))
	defer srv.Close()
	c, err := New(Options{MaxPageBytes: 1024})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		path   string
		status int
		body   string
		err    error
	}{
		{"/page", 200, "<html>leak</html>", nil},
		{"/moved", 302, "", nil},
		{"/huge", 0, "", ErrTooLarge},
	} {
		s, err := c.FetchPage(context.Background(), srv.URL+tt.path)
		if !errors.Is(err, tt.err) || s.Status != tt.status || (tt.body != "" && string(s.Body) != tt.body) {
			t.Errorf("%s: status %d body %q err %v", tt.path, s.Status, s.Body, err)
		}
		if tt.path == "/page" && (s.Header.Get("X-Dump") != "yes" || s.FetchedAt.IsZero()) {
			t.Errorf("%s: header %v, fetched %v", tt.path, s.Header, s.FetchedAt)
		}
	}
}
