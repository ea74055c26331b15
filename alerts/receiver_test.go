package alerts

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// signedRequest builds a delivery the way a Standard Webhooks sender does.
func signedRequest(t *testing.T, sec Secret, id string, ts time.Time, body string) *http.Request {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader(body))
	req.Header.Set(HeaderID, id)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	req.Header.Set(HeaderSignature, Sign(sec, id, ts, []byte(body)))
	return req
}

func serve(h http.Handler, req *http.Request) int {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}

func TestReceiverDedupes(t *testing.T) {
	sec := newSecret(t)
	r := NewReceiver(sec)
	now := time.Now()
	body := `{"type":"incident.created","timestamp":"2026-03-01T12:00:00Z","data":{}}`
	for i := range 3 {
		// A retry is signed again with its own timestamp but the same ID.
		code := serve(r, signedRequest(t, sec, "evt_dup", now.Add(time.Duration(i)*time.Second), body))
		if code != http.StatusNoContent {
			t.Fatalf("delivery %d: status %d", i+1, code)
		}
	}
	got := r.Received()
	if len(got) != 1 || got[0].Attempts != 3 || got[0].Type != TypeIncidentCreated || string(got[0].Body) != body {
		t.Fatalf("Received = %+v, want one incident.created with 3 attempts", got)
	}
}

func TestReceiverRejects(t *testing.T) {
	sec := newSecret(t)
	now := time.Now()
	good := `{"type":"test","data":{}}`
	tamper := signedRequest(t, sec, "evt_1", now, good)
	tamper.Body = http.NoBody
	tests := map[string]struct {
		req      *http.Request
		opts     []ReceiverOption
		want     int
		rejected int
	}{
		"wrong secret":  {req: signedRequest(t, newSecret(t), "evt_1", now, good), want: 401, rejected: 1},
		"tampered body": {req: tamper, want: 401, rejected: 1},
		"stale":         {req: signedRequest(t, sec, "evt_1", now.Add(-time.Hour), good), want: 401, rejected: 1},
		"unsigned":      {req: httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader(good)), want: 401, rejected: 1},
		"GET":           {req: httptest.NewRequest(http.MethodGet, "/hook", nil), want: 405},
		"not JSON":      {req: signedRequest(t, sec, "evt_1", now, "not json"), want: 400},
		"no type":       {req: signedRequest(t, sec, "evt_1", now, `{"data":{}}`), want: 400},
		"too large": {req: signedRequest(t, sec, "evt_1", now, `{"type":"test","pad":"`+strings.Repeat("x", 2048)+`"}`),
			opts: []ReceiverOption{WithMaxBody(1024)}, want: 413},
		"simulated gone": {req: signedRequest(t, sec, "evt_1", now, good),
			opts: []ReceiverOption{WithFailFirst(1, http.StatusGone)}, want: 410},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := NewReceiver(sec, tc.opts...)
			if code := serve(r, tc.req); code != tc.want {
				t.Fatalf("status = %d, want %d", code, tc.want)
			}
			if len(r.Received()) != 0 {
				t.Fatal("a rejected delivery was recorded")
			}
			if r.Rejected() != tc.rejected {
				t.Fatalf("Rejected = %d, want %d", r.Rejected(), tc.rejected)
			}
		})
	}
}

func TestReceiverUnsignedMode(t *testing.T) {
	r := NewReceiver(Secret{})
	req := httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader(`{"type":"test"}`))
	req.Header.Set(HeaderID, "evt_plain")
	if code := serve(r, req); code != http.StatusNoContent {
		t.Fatalf("status %d", code)
	}
	got := r.Received()
	if len(got) != 1 || got[0].Verified {
		t.Fatalf("Received = %+v, want one unverified event", got)
	}
	noID := httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader(`{"type":"test"}`))
	if code := serve(r, noID); code != http.StatusBadRequest {
		t.Fatalf("request without webhook-id: status %d, want 400", code)
	}
}

func TestReceiverWait(t *testing.T) {
	sec := newSecret(t)
	r := NewReceiver(sec)
	srv := httptest.NewServer(r)
	defer srv.Close()
	wh := newWebhook(t, srv.URL, sec)

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if got, err := r.Wait(ctx, 1); !errors.Is(err, context.DeadlineExceeded) || len(got) != 0 {
		t.Fatalf("Wait on an idle receiver = %v, %v; want deadline exceeded", got, err)
	}

	const n = 5
	go func() {
		for i := range n {
			wh.Notify(context.Background(), testEvent("evt_w"+strconv.Itoa(i)))
		}
	}()
	got, err := r.Wait(t.Context(), n)
	if err != nil || len(got) < n {
		t.Fatalf("Wait = %d events, %v", len(got), err)
	}
	// Received returns copies: changing one must not change the record.
	got[0].Body[0] = 'X'
	if bytes.HasPrefix(r.Received()[0].Body, []byte("X")) {
		t.Fatal("Received shares memory with the caller")
	}
}
