package alerts

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Receiver limits.
const (
	DefaultReceiverMaxBody = 1 << 20
	DefaultReceiverMaxIDs  = 10000
)

// ReceivedEvent is one accepted delivery.
type ReceivedEvent struct {
	ID   string
	Type string
	// Body is the raw request body, exactly as signed.
	Body json.RawMessage
	// Verified is true when the signature checked out; false only for a
	// Receiver built with the zero Secret, which accepts unsigned requests.
	Verified bool
	// Attempts counts requests that carried this ID and passed
	// verification: failed (simulated) attempts, the accepted one and any
	// duplicates after it.
	Attempts int
	// At is when the delivery was accepted.
	At time.Time
}

// Receiver is an http.Handler for Standard Webhooks deliveries. It verifies
// the signature (answering 401 on failure), de-duplicates on webhook-id
// (a repeat gets 204 and is only counted) and records accepted events.
// It exists for tests, the demo and "leakwatch alerts"; it keeps everything
// in memory, bounded by DefaultReceiverMaxIDs.
type Receiver struct {
	secret    Secret
	tolerance time.Duration
	now       func() time.Time
	logger    *slog.Logger
	maxBody   int64
	maxIDs    int

	mu         sync.Mutex
	events     []ReceivedEvent
	ids        map[string]*idState
	failLeft   int
	failStatus int
	rejected   int
	changed    chan struct{} // closed and replaced on every accepted event
}

type idState struct {
	attempts int
	index    int // into events, or -1 while not accepted
}

// ReceiverOption configures a Receiver.
type ReceiverOption func(*Receiver)

// WithTolerance sets the accepted timestamp skew (DefaultTolerance if <= 0).
func WithTolerance(d time.Duration) ReceiverOption {
	return func(r *Receiver) { r.tolerance = d }
}

// WithReceiverClock sets the clock used to check timestamps.
func WithReceiverClock(now func() time.Time) ReceiverOption {
	return func(r *Receiver) {
		if now != nil {
			r.now = now
		}
	}
}

// WithReceiverLogger sets the logger for accepted and rejected requests.
func WithReceiverLogger(l *slog.Logger) ReceiverOption {
	return func(r *Receiver) {
		if l != nil {
			r.logger = l
		}
	}
}

// WithFailFirst makes the first n verified, not yet accepted deliveries fail
// with the given status (500 if status is not 4xx/5xx), simulating a
// receiver that is down, rate limiting or gone.
func WithFailFirst(n, status int) ReceiverOption {
	return func(r *Receiver) {
		if status < 400 || status > 599 {
			status = http.StatusInternalServerError
		}
		r.failLeft, r.failStatus = n, status
	}
}

// WithMaxBody bounds the request body (DefaultReceiverMaxBody if <= 0).
func WithMaxBody(n int64) ReceiverOption {
	return func(r *Receiver) {
		if n > 0 {
			r.maxBody = n
		}
	}
}

// NewReceiver returns a receiver verifying with sec. With the zero Secret it
// accepts unsigned requests and marks them Verified=false; only use that to
// inspect what a sender emits.
func NewReceiver(sec Secret, opts ...ReceiverOption) *Receiver {
	r := &Receiver{
		secret:  sec,
		now:     time.Now,
		logger:  slog.New(slog.DiscardHandler),
		maxBody: DefaultReceiverMaxBody,
		maxIDs:  DefaultReceiverMaxIDs,
		ids:     make(map[string]*idState),
		changed: make(chan struct{}),
	}
	for _, o := range opts {
		o(r)
	}
	return r
}

// ServeHTTP handles one delivery.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, r.maxBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "reading body failed", http.StatusBadRequest)
		return
	}

	verified := false
	if !r.secret.IsZero() {
		if err := Verify(r.secret, req.Header, body, r.now(), r.tolerance); err != nil {
			r.mu.Lock()
			r.rejected++
			r.mu.Unlock()
			r.logger.Warn("webhook rejected", slog.String("remote", req.RemoteAddr), slog.Any("error", err))
			http.Error(w, "signature verification failed", http.StatusUnauthorized)
			return
		}
		verified = true
	}
	id := req.Header.Get(HeaderID)
	if err := validateID(id); err != nil {
		http.Error(w, "missing or invalid webhook-id", http.StatusBadRequest)
		return
	}
	var p struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(body, &p); err != nil || p.Type == "" {
		http.Error(w, "body is not a webhook payload", http.StatusBadRequest)
		return
	}

	status := r.record(id, p.Type, body, verified)
	r.logger.Info("webhook received", slog.String("event_id", id), slog.String("event_type", p.Type),
		slog.Bool("verified", verified), slog.Int("status", status))
	if status == http.StatusNoContent {
		w.WriteHeader(status)
		return
	}
	http.Error(w, http.StatusText(status), status)
}

// record applies de-duplication and simulated failures; it returns the
// status to answer.
func (r *Receiver) record(id, typ string, body []byte, verified bool) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	st, ok := r.ids[id]
	if !ok {
		if len(r.ids) >= r.maxIDs {
			return http.StatusServiceUnavailable
		}
		st = &idState{index: -1}
		r.ids[id] = st
	}
	st.attempts++
	if st.index >= 0 {
		r.events[st.index].Attempts = st.attempts
		return http.StatusNoContent
	}
	if r.failLeft > 0 {
		r.failLeft--
		return r.failStatus
	}
	st.index = len(r.events)
	r.events = append(r.events, ReceivedEvent{
		ID: id, Type: typ, Body: bytes.Clone(body), Verified: verified, Attempts: st.attempts, At: r.now(),
	})
	close(r.changed)
	r.changed = make(chan struct{})
	return http.StatusNoContent
}

// Received returns a copy of the accepted events in arrival order.
func (r *Receiver) Received() []ReceivedEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.snapshot()
}

func (r *Receiver) snapshot() []ReceivedEvent {
	out := slices.Clone(r.events)
	for i := range out {
		out[i].Body = bytes.Clone(out[i].Body)
	}
	return out
}

// Rejected returns how many requests failed verification.
func (r *Receiver) Rejected() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rejected
}

// Wait blocks until at least n events have been accepted or ctx ends, and
// returns the accepted events (also on error, so a test can show them).
func (r *Receiver) Wait(ctx context.Context, n int) ([]ReceivedEvent, error) {
	for {
		r.mu.Lock()
		if len(r.events) >= n {
			out := r.snapshot()
			r.mu.Unlock()
			return out, nil
		}
		ch := r.changed
		r.mu.Unlock()
		select {
		case <-ctx.Done():
			return r.Received(), ctx.Err()
		case <-ch:
		}
	}
}
