package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leakwatch/leakwatch/alerts"
	"github.com/leakwatch/leakwatch/fixtures/corpus"
	"github.com/leakwatch/leakwatch/internal/store"
)

// The fixture corpus is deterministic and costly to generate, so the
// operations tests share one.
var opsCorpus = sync.OnceValue(func() *corpus.Corpus { return corpus.New(1) })

// syncBuffer is a bytes.Buffer safe for a command writing while the test
// reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// opsFixture is a dump site on loopback, an enrolled bank and a webhook
// secret, for tests of scan, watch and alerts.
type opsFixture struct {
	fetched  *fetchLog
	dir      string
	site     string
	captures string
	bank     string
	secret   alerts.Secret
	env      map[string]string
}

// newOpsFixture serves the corpus site, optionally slowed down by delay
// per request so that runs last long enough to be interrupted.
func newOpsFixture(t *testing.T, delay time.Duration) *opsFixture {
	t.Helper()
	c := opsCorpus()
	h := c.Handler()
	if delay > 0 {
		inner := h
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
			inner.ServeHTTP(w, r)
		})
	}
	fetched := &fetchLog{n: map[string]int{}}
	h = fetched.wrap(h)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	fx := &opsFixture{fetched: fetched, dir: dir, site: srv.URL + "/", captures: filepath.Join(dir, "captures"), bank: filepath.Join(dir, "bank.lwb")}
	if err := c.WriteCaptures(fx.captures); err != nil {
		t.Fatal(err)
	}
	sec, err := alerts.NewSecret(nil)
	if err != nil {
		t.Fatal(err)
	}
	fx.secret = sec
	fx.env = map[string]string{alerts.EnvSecret: sec.Reveal(), "XDG_DATA_HOME": filepath.Join(dir, "xdg")}
	if code, _, stderr := fx.run(t, context.Background(), "enroll", "--bank", fx.bank, "--manifest", filepath.Join(fx.captures, "manifest.csv")); code != 0 {
		t.Fatalf("enroll: exit %d: %s", code, stderr)
	}
	return fx
}

func (fx *opsFixture) envFor(extra map[string]string) env {
	return env{
		getenv: func(k string) string {
			if v, ok := extra[k]; ok {
				return v
			}
			return fx.env[k]
		},
		readFile: os.ReadFile,
	}
}

// run runs leakwatch in-process and returns its exit code and output.
func (fx *opsFixture) run(t *testing.T, ctx context.Context, args ...string) (int, string, string) {
	t.Helper()
	return fx.runEnv(t, ctx, nil, args...)
}

func (fx *opsFixture) runEnv(t *testing.T, ctx context.Context, extra map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr syncBuffer
	e := fx.envFor(extra)
	e.stdout, e.stderr = &stdout, &stderr
	code := run(ctx, args, e)
	return code, stdout.String(), stderr.String()
}

// receiver is an alerts.Receiver on loopback that also notes when each
// webhook-id was first requested, accepted or not.
type receiver struct {
	*alerts.Receiver
	URL string

	mu    sync.Mutex
	first map[string]time.Time
	hits  int
}

func newReceiver(t *testing.T, sec alerts.Secret, opts ...alerts.ReceiverOption) *receiver {
	t.Helper()
	r := &receiver{Receiver: alerts.NewReceiver(sec, opts...), first: map[string]time.Time{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		now := time.Now()
		r.mu.Lock()
		r.hits++
		if id := req.Header.Get(alerts.HeaderID); id != "" {
			if _, ok := r.first[id]; !ok {
				r.first[id] = now
			}
		}
		r.mu.Unlock()
		r.Receiver.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	r.URL = srv.URL + "/hook"
	return r
}

func (r *receiver) firstRequest(id string) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.first[id]
	return t, ok
}

// eventIncident reads the incident ID and version from a received body.
func eventIncident(t *testing.T, body []byte) (string, int) {
	t.Helper()
	var p struct {
		Data store.EventData `json:"data"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("event body: %v", err)
	}
	return p.Data.Incident.ID, p.Data.Incident.Version
}

// openStore opens a store for inspection.
func openStore(t *testing.T, path string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// incidentCaptures maps each incident's source to its sorted captures.
func incidentCaptures(t *testing.T, st *store.Store) map[string]string {
	t.Helper()
	incs, err := st.Incidents(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, inc := range incs {
		full, err := st.Incident(context.Background(), inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		out[full.Source] = strings.Join(full.Captures, ",")
	}
	return out
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
