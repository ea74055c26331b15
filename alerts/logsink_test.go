package alerts

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestLogSinkWritesJSONLines(t *testing.T) {
	var buf syncBuffer
	sink := NewLogSink(&buf)
	const n = 50
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := sink.Notify(t.Context(), testEvent(fmt.Sprintf("evt_%d", i))); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()

	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader([]byte(buf.String())))
	for sc.Scan() {
		var line struct {
			ID        string
			Type      string
			Timestamp time.Time
			Data      incident
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("line %q is not JSON: %v", sc.Text(), err)
		}
		if line.Type != TypeIncidentCreated || line.Data.Title == "" || line.Timestamp.IsZero() {
			t.Fatalf("line %q misses fields", sc.Text())
		}
		seen[line.ID] = true
	}
	if len(seen) != n {
		t.Fatalf("%d distinct events logged, want %d", len(seen), n)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestLogSinkErrors(t *testing.T) {
	if err := NewLogSink(failWriter{}).Notify(t.Context(), testEvent("evt_1")); err == nil {
		t.Fatal("write error was swallowed")
	}
	var buf bytes.Buffer
	if err := NewLogSink(&buf).Notify(t.Context(), testEvent("")); !errors.Is(err, ErrInvalidEvent) {
		t.Fatalf("err = %v, want ErrInvalidEvent", err)
	}
	if buf.Len() != 0 {
		t.Fatal("invalid event was written")
	}
}
