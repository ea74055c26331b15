package alerts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// attemptLog wraps a handler and records the headers of every request,
// including the ones the wrapped handler fails.
type attemptLog struct {
	next http.Handler
	mu   sync.Mutex
	reqs []http.Header
}

func (a *attemptLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	a.reqs = append(a.reqs, r.Header.Clone())
	a.mu.Unlock()
	a.next.ServeHTTP(w, r)
}

func (a *attemptLog) headers() []http.Header {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]http.Header(nil), a.reqs...)
}

func newWebhook(t *testing.T, url string, sec Secret, opts ...WebhookOption) *Webhook {
	t.Helper()
	w, err := NewWebhook(url, sec, opts...)
	if err != nil {
		t.Fatalf("NewWebhook: %v", err)
	}
	return w
}

func TestWebhookRetriesThenDeliversOnce(t *testing.T) {
	const failures = 3
	sec := newSecret(t)
	rcv := NewReceiver(sec, WithFailFirst(failures, http.StatusInternalServerError))
	log := &attemptLog{next: rcv}
	srv := httptest.NewServer(log)
	defer srv.Close()

	ev := testEvent(StableID("inc_1", TypeIncidentCreated))
	wh := newWebhook(t, srv.URL, sec)
	if err := DeliverWithRetry(t.Context(), wh, ev, fastPolicy(failures+2)); err != nil {
		t.Fatalf("DeliverWithRetry: %v", err)
	}

	got := rcv.Received()
	if len(got) != 1 {
		t.Fatalf("receiver accepted %d events, want 1", len(got))
	}
	if got[0].ID != ev.ID || got[0].Type != ev.Type || !got[0].Verified || got[0].Attempts != failures+1 {
		t.Fatalf("received %+v, want id %s, type %s, verified, %d attempts", got[0], ev.ID, ev.Type, failures+1)
	}
	want, _ := ev.Payload()
	if string(got[0].Body) != string(want) {
		t.Fatalf("body = %s, want %s", got[0].Body, want)
	}
	hs := log.headers()
	if len(hs) != failures+1 {
		t.Fatalf("server saw %d requests, want %d", len(hs), failures+1)
	}
	for i, h := range hs {
		if h.Get(HeaderID) != ev.ID {
			t.Errorf("attempt %d webhook-id = %q, want %q", i+1, h.Get(HeaderID), ev.ID)
		}
		if h.Get("Content-Type") != "application/json" || h.Get("User-Agent") != DefaultUserAgent {
			t.Errorf("attempt %d headers: %v", i+1, h)
		}
	}
}

func TestWebhookTimestampIsPerAttempt(t *testing.T) {
	sec := newSecret(t)
	var calls atomic.Int64
	base := time.Now()
	clock := func() time.Time { return base.Add(time.Duration(calls.Add(1)) * time.Minute) }
	rcv := NewReceiver(sec, WithFailFirst(1, http.StatusServiceUnavailable), WithTolerance(time.Hour))
	log := &attemptLog{next: rcv}
	srv := httptest.NewServer(log)
	defer srv.Close()

	wh := newWebhook(t, srv.URL, sec, WithClock(clock))
	if err := DeliverWithRetry(t.Context(), wh, testEvent("evt_ts"), fastPolicy(3)); err != nil {
		t.Fatal(err)
	}
	hs := log.headers()
	if len(hs) != 2 || hs[0].Get(HeaderTimestamp) == hs[1].Get(HeaderTimestamp) {
		t.Fatalf("want 2 attempts with different timestamps, got %d: %v", len(hs), hs)
	}
	if hs[0].Get(HeaderSignature) == hs[1].Get(HeaderSignature) {
		t.Fatal("signature did not change with the timestamp")
	}
}

func TestWebhookStatusClassification(t *testing.T) {
	tests := []struct {
		status     int
		retryAfter string
		wantErr    error // nil: success
		retryable  bool
		wantAfter  time.Duration
		gone       bool
		noBody     bool // the status forbids a body
	}{
		{status: 200},
		{status: 202},
		{status: 204},
		{status: 400, wantErr: ErrPermanent},
		{status: 401, wantErr: ErrPermanent},
		{status: 404, wantErr: ErrPermanent},
		{status: 413, wantErr: ErrPermanent},
		{status: 410, wantErr: ErrGone, gone: true},
		{status: 408, retryable: true},
		{status: 429, retryable: true, retryAfter: "7", wantAfter: 7 * time.Second},
		{status: 429, retryable: true, retryAfter: "soon"},
		{status: 429, retryable: true, retryAfter: "99999999999", wantAfter: maxRetryAfter},
		{status: 500, retryable: true},
		{status: 502, retryable: true},
		{status: 503, retryable: true, retryAfter: "120", wantAfter: 2 * time.Minute},
		{status: 504, retryable: true},
		{status: 301, wantErr: ErrPermanent},
		{status: 304, wantErr: ErrPermanent, noBody: true},
	}
	sec := newSecret(t)
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%d%s", tc.status, tc.retryAfter), func(t *testing.T) {
			var hits atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				if tc.retryAfter != "" {
					w.Header().Set("Retry-After", tc.retryAfter)
				}
				w.WriteHeader(tc.status)
				io.WriteString(w, "reason-text")
			}))
			defer srv.Close()
			err := newWebhook(t, srv.URL, sec).Notify(t.Context(), testEvent("evt_1"))

			var re *RetryableError
			switch {
			case tc.retryable:
				if !errors.As(err, &re) {
					t.Fatalf("err = %v, want *RetryableError", err)
				}
				if re.RetryAfter != tc.wantAfter {
					t.Fatalf("RetryAfter = %v, want %v", re.RetryAfter, tc.wantAfter)
				}
				if errors.Is(err, ErrPermanent) {
					t.Fatal("retryable error also matches ErrPermanent")
				}
			case tc.wantErr != nil:
				if !errors.Is(err, tc.wantErr) || !errors.Is(err, ErrPermanent) || errors.As(err, &re) {
					t.Fatalf("err = %v, want %v (and permanent, not retryable)", err, tc.wantErr)
				}
				if errors.Is(err, ErrGone) != tc.gone {
					t.Fatalf("errors.Is(err, ErrGone) = %v, want %v", !tc.gone, tc.gone)
				}
			default:
				if err != nil {
					t.Fatalf("Notify: %v", err)
				}
			}
			var se *StatusError
			wantBody := "reason-text"
			if tc.noBody {
				wantBody = ""
			}
			if err != nil && (!errors.As(err, &se) || se.StatusCode != tc.status || se.Body != wantBody) {
				t.Fatalf("StatusError = %+v, want status %d and the body excerpt", se, tc.status)
			}
			if hits.Load() != 1 {
				t.Fatalf("Notify made %d requests, want 1", hits.Load())
			}
		})
	}
}

func TestDeliverWithRetryStopsOnPermanent(t *testing.T) {
	for _, status := range []int{http.StatusBadRequest, http.StatusGone, http.StatusFound} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			var hits atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				w.WriteHeader(status)
			}))
			defer srv.Close()
			err := DeliverWithRetry(t.Context(), newWebhook(t, srv.URL, newSecret(t)), testEvent("evt_1"), fastPolicy(5))
			if !errors.Is(err, ErrPermanent) {
				t.Fatalf("err = %v, want ErrPermanent", err)
			}
			if hits.Load() != 1 {
				t.Fatalf("server hit %d times, want 1 (no retry)", hits.Load())
			}
		})
	}
}

func TestWebhookRetryAfterHonoured(t *testing.T) {
	// Retry-After has one-second granularity, so this waits about a second.
	var mu sync.Mutex
	var times []time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		times = append(times, time.Now())
		if len(times) == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
		}
	}))
	defer srv.Close()
	p := RetryPolicy{MaxAttempts: 3, Initial: time.Millisecond, Max: time.Millisecond, MaxElapsed: time.Minute}
	if err := DeliverWithRetry(t.Context(), newWebhook(t, srv.URL, newSecret(t)), testEvent("evt_1"), p); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(times) != 2 {
		t.Fatalf("%d requests, want 2", len(times))
	}
	// A lower bound, not a speed check: the backoff alone would wait <= 1ms.
	if gap := times[1].Sub(times[0]); gap < time.Second {
		t.Fatalf("retried after %v, before the 1s Retry-After", gap)
	}
}

func TestWebhookDoesNotFollowRedirects(t *testing.T) {
	var targetHits atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { targetHits.Add(1) }))
	defer target.Close()
	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			redir := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, target.URL, status)
			}))
			defer redir.Close()
			// Even a caller-supplied client that follows redirects must not.
			follow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return nil }}
			err := newWebhook(t, redir.URL, newSecret(t), WithHTTPClient(follow)).Notify(t.Context(), testEvent("evt_1"))
			if !errors.Is(err, ErrPermanent) {
				t.Fatalf("err = %v, want ErrPermanent", err)
			}
		})
	}
	if targetHits.Load() != 0 {
		t.Fatalf("redirect target was hit %d times", targetHits.Load())
	}
}

// endless writes response bodies until the client goes away.
func endless(status int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		chunk := make([]byte, 32<<10)
		for i := range chunk {
			chunk[i] = 'A' + byte(i%26)
		}
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}
}

func TestWebhookHugeResponseBody(t *testing.T) {
	tests := map[string]struct {
		status    int
		retryable bool
	}{
		"success": {status: http.StatusOK},
		"failure": {status: http.StatusInternalServerError, retryable: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(endless(tc.status))
			defer srv.Close()
			// The long timeout shows the bounded read, not the deadline,
			// ends the attempt; the test's own deadline catches a hang.
			err := newWebhook(t, srv.URL, newSecret(t), WithTimeout(time.Hour)).Notify(t.Context(), testEvent("evt_1"))
			if !tc.retryable {
				if err != nil {
					t.Fatalf("Notify: %v", err)
				}
				return
			}
			var se *StatusError
			if !errors.As(err, &se) || len(se.Body) > maxErrorBody {
				t.Fatalf("err = %v, want a StatusError with a bounded body", err)
			}
		})
	}
}

func TestWebhookStalledReceiverTimesOut(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	err := newWebhook(t, srv.URL, newSecret(t), WithTimeout(50*time.Millisecond)).Notify(t.Context(), testEvent("evt_1"))
	var re *RetryableError
	if !errors.As(err, &re) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a retryable deadline error", err)
	}
}

func TestWebhookConnectionRefusedIsRetryable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	err = newWebhook(t, "http://"+addr+"/hook", newSecret(t)).Notify(t.Context(), testEvent("evt_1"))
	var re *RetryableError
	if !errors.As(err, &re) {
		t.Fatalf("err = %v, want *RetryableError", err)
	}
}

func TestWebhookCallerCancel(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer srv.Close()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := newWebhook(t, srv.URL, newSecret(t)).Notify(ctx, testEvent("evt_1"))
	var re *RetryableError
	if !errors.Is(err, context.Canceled) || errors.As(err, &re) {
		t.Fatalf("err = %v, want context.Canceled and not retryable", err)
	}
}

func TestWebhookStaleClockRejectedByReceiver(t *testing.T) {
	sec := newSecret(t)
	rcv := NewReceiver(sec)
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	stale := func() time.Time { return time.Now().Add(-10 * time.Minute) }
	err := newWebhook(t, srv.URL, sec, WithClock(stale)).Notify(t.Context(), testEvent("evt_1"))
	if !errors.Is(err, ErrPermanent) {
		t.Fatalf("err = %v, want ErrPermanent (401)", err)
	}
	if rcv.Rejected() != 1 || len(rcv.Received()) != 0 {
		t.Fatalf("rejected = %d, received = %d; want 1, 0", rcv.Rejected(), len(rcv.Received()))
	}
}

func TestWebhookWrongSecretRejected(t *testing.T) {
	rcv := NewReceiver(newSecret(t))
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	err := newWebhook(t, srv.URL, newSecret(t)).Notify(t.Context(), testEvent("evt_1"))
	var se *StatusError
	if !errors.As(err, &se) || se.StatusCode != http.StatusUnauthorized {
		t.Fatalf("err = %v, want HTTP 401", err)
	}
	if rcv.Rejected() != 1 {
		t.Fatalf("Rejected = %d, want 1", rcv.Rejected())
	}
}

func TestWebhookInvalidEventNotSent(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer srv.Close()
	err := newWebhook(t, srv.URL, newSecret(t)).Notify(t.Context(), testEvent("evt.with.dots"))
	if !errors.Is(err, ErrInvalidEvent) || !errors.Is(err, ErrPermanent) {
		t.Fatalf("err = %v, want ErrInvalidEvent", err)
	}
	if hits.Load() != 0 {
		t.Fatal("invalid event was sent")
	}
}

func TestNewWebhookRejects(t *testing.T) {
	sec := newSecret(t)
	tests := map[string]struct {
		url string
		sec Secret
	}{
		"zero secret":   {url: "http://127.0.0.1/hook"},
		"empty url":     {url: "", sec: sec},
		"relative url":  {url: "/hook", sec: sec},
		"ftp scheme":    {url: "ftp://127.0.0.1/hook", sec: sec},
		"no host":       {url: "http:///hook", sec: sec},
		"unparseable":   {url: "http://[::1/hook", sec: sec},
		"control chars": {url: "http://127.0.0.1/\x7f", sec: sec},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := NewWebhook(tc.url, tc.sec); err == nil {
				t.Fatal("NewWebhook succeeded")
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := map[string]struct {
		in   string
		want time.Duration
	}{
		"empty":       {in: "", want: 0},
		"seconds":     {in: "30", want: 30 * time.Second},
		"zero":        {in: "0", want: 0},
		"negative":    {in: "-5", want: 0},
		"garbage":     {in: "later", want: 0},
		"http date":   {in: now.Add(90 * time.Second).Format(http.TimeFormat), want: 90 * time.Second},
		"past date":   {in: now.Add(-time.Hour).Format(http.TimeFormat), want: 0},
		"far date":    {in: now.Add(1000 * time.Hour).Format(http.TimeFormat), want: maxRetryAfter},
		"huge number": {in: "18446744073709551615", want: maxRetryAfter},
		"overflow":    {in: "99999999999999999999999", want: maxRetryAfter},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := parseRetryAfter(tc.in, now); got != tc.want {
				t.Fatalf("parseRetryAfter(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

// TestCancelledAttemptIsNotAWarning cancels an attempt in flight, as a
// shutting-down caller does: that is the caller's decision, reported by
// the caller, not a delivery failure.
func TestCancelledAttemptIsNotAWarning(t *testing.T) {
	arrived, release := make(chan struct{}), make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-release
	}))
	defer srv.Close()
	defer close(release)
	var logs syncBuffer
	hook, err := NewWebhook(srv.URL, newSecret(t), WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	go func() { <-arrived; cancel() }()
	if err := hook.Notify(ctx, testEvent("evt_1")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Notify = %v, want context.Canceled", err)
	}
	if s := logs.String(); strings.Contains(s, "level=WARN") || !strings.Contains(s, "alert attempt cancelled") {
		t.Fatalf("log of a cancelled attempt:\n%s", s)
	}
}
