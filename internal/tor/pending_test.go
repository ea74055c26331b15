package tor

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// closeRecorder is a request body that remembers being closed.
type closeRecorder struct {
	*strings.Reader
	closed bool
}

func (c *closeRecorder) Close() error { c.closed = true; return nil }

// A Pending transport refuses everything until it is bound, then sends
// through the Client's SOCKS port only.
func TestPendingRefusesUntilBound(t *testing.T) {
	canary := &countingServer{}
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		canary.hit()
		w.Write([]byte("ok"))
	}))
	defer site.Close()

	var p Pending
	body := &closeRecorder{Reader: strings.NewReader("{}")}
	req, err := http.NewRequest(http.MethodPost, site.URL+"/hook", body)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.RoundTrip(req); !errors.Is(err, ErrNotStarted) {
		t.Errorf("before Bind: %v, want ErrNotStarted", err)
	}
	if !body.closed {
		t.Error("refused request's body left open")
	}

	socks := newFakeSOCKS(t, strings.TrimPrefix(site.URL, "http://"), 0)
	p.Bind(startSOCKSClient(t, socks.Addr()))
	got, err := get(t, &p, "http://hooks.example.com/hook")
	if err != nil || got != "ok" {
		t.Fatalf("after Bind: %q, %v", got, err)
	}
	reqs := socks.Requests()
	if len(reqs) != 1 || reqs[0].Host != "hooks.example.com" || reqs[0].ATYP != 3 {
		t.Errorf("SOCKS saw %+v, want one CONNECT to hooks.example.com by name", reqs)
	}
	if canary.count() != 1 {
		t.Errorf("site got %d requests, want the one through SOCKS", canary.count())
	}
}
