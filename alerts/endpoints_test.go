package alerts

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestOpenTargets(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "slack-url")
	two := filepath.Join(dir, "two-urls")
	_ = os.WriteFile(good, []byte("http://127.0.0.1:1/services/T/B/secret\n"), 0o600)
	_ = os.WriteFile(two, []byte("http://127.0.0.1:1/a\nhttp://127.0.0.1:1/b\n"), 0o600)
	sec, err := NewSecret(nil)
	if err != nil {
		t.Fatal(err)
	}
	withSecret := func(k string) string { return map[string]string{EnvSecret: sec.Reveal()}[k] }
	noSecret := func(string) string { return "" }
	cases := []struct {
		name     string
		t        Targets
		getenv   func(string) string
		keys     int
		targetOK bool // false: a *TargetError is expected
	}{
		{"nothing", Targets{}, noSecret, 0, true},
		{"webhook without secret", Targets{Webhooks: []string{"http://127.0.0.1:1/hook"}}, noSecret, 0, false},
		{"webhook twice", Targets{Webhooks: []string{"http://127.0.0.1:1/hook", "http://127.0.0.1:1/hook"}}, withSecret, 1, true},
		{"slack file", Targets{SlackFiles: []string{good}, LogFile: "-"}, noSecret, 2, true},
		{"slack file with two URLs", Targets{SlackFiles: []string{two}}, noSecret, 0, false},
		{"missing slack file", Targets{SlackFiles: []string{filepath.Join(dir, "none")}}, noSecret, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			eps, err := Open(tc.t, Env{Getenv: tc.getenv, ReadFile: os.ReadFile, Stdout: &out})
			if err == nil {
				defer eps.Close()
			}
			var te *TargetError
			if tc.targetOK != (err == nil) || !tc.targetOK && !errors.As(err, &te) {
				t.Fatalf("err = %v", err)
			}
			if len(eps.Keys) != tc.keys || len(eps.Notifiers) != tc.keys {
				t.Errorf("keys %v", eps.Keys)
			}
			if err != nil && strings.Contains(err.Error(), "secret\n") {
				t.Errorf("error shows the file's content: %v", err)
			}
		})
	}
}

// recordingTransport answers every request itself and remembers its host.
type recordingTransport struct {
	mu    sync.Mutex
	hosts []string
}

func (rt *recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		r.Body.Close()
	}
	rt.mu.Lock()
	rt.hosts = append(rt.hosts, r.URL.Host)
	rt.mu.Unlock()
	return &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(strings.NewReader("ok")), Header: http.Header{}, Request: r}, nil
}

// With Env.Transport set (Tor mode), every webhook and Slack request goes
// through it: the receivers, reachable directly, see none.
func TestOpenSendsThroughTransport(t *testing.T) {
	var direct atomic.Int64
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { direct.Add(1) }))
	defer recv.Close()
	sec, err := NewSecret(nil)
	if err != nil {
		t.Fatal(err)
	}
	getenv := func(k string) string { return map[string]string{EnvSecret: sec.Reveal()}[k] }
	rt := &recordingTransport{}
	eps, err := Open(Targets{Webhooks: []string{recv.URL + "/hook"}, Slacks: []string{recv.URL + "/services/T/B/x"}},
		Env{Getenv: getenv, ReadFile: os.ReadFile, Transport: rt})
	if err != nil {
		t.Fatal(err)
	}
	defer eps.Close()
	for _, k := range eps.Keys {
		if err := eps.Notifiers[k].Notify(t.Context(), NewTestEvent(time.Now())); err != nil {
			t.Errorf("%s: %v", k, err)
		}
	}
	host := strings.TrimPrefix(recv.URL, "http://")
	if len(rt.hosts) != 2 || rt.hosts[0] != host || rt.hosts[1] != host {
		t.Errorf("transport carried %v, want the webhook and the Slack request to %s", rt.hosts, host)
	}
	if direct.Load() != 0 {
		t.Errorf("%d requests reached the receiver without the transport", direct.Load())
	}
}
