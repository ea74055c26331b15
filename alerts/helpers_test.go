package alerts

import (
	"bytes"
	"log/slog"
	"sync"
	"testing"
	"time"
)

// The Standard Webhooks reference test vector.
const (
	vectorSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTS     = 1614265330
	vectorBody   = `{"test": 2432232314}`
	vectorSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func mustSecret(t testing.TB, s string) Secret {
	t.Helper()
	sec, err := ParseSecret(s)
	if err != nil {
		t.Fatalf("ParseSecret: %v", err)
	}
	return sec
}

func newSecret(t testing.TB) Secret {
	t.Helper()
	sec, err := NewSecret(nil)
	if err != nil {
		t.Fatal(err)
	}
	return sec
}

type incident struct {
	Title string `json:"title"`
	Text  string `json:"text"`
	Link  string `json:"link"`
}

func (i incident) AlertSummary() (title, text, link string) { return i.Title, i.Text, i.Link }

func testEvent(id string) Event {
	return Event{
		ID:        id,
		Type:      TypeIncidentCreated,
		Timestamp: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
		Data:      incident{Title: "Capture cap_1 found", Text: "on http://dump.example/a.jpg", Link: "https://leakwatch.example/i/1"},
	}
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of handlers.
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

func captureLogger() (*slog.Logger, *syncBuffer) {
	buf := &syncBuffer{}
	return slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// fastPolicy retries quickly so tests stay short.
func fastPolicy(attempts int) RetryPolicy {
	return RetryPolicy{MaxAttempts: attempts, Initial: time.Millisecond, Max: 5 * time.Millisecond, MaxElapsed: 10 * time.Second}
}
