package alerts

import (
	"context"
	"fmt"
	"io"
	"sync"
)

// LogSink writes each event as one JSON line: the webhook payload plus an
// "id" field, since there is no header to carry the idempotency key. It suits
// SIEM pipelines reading stdout and is safe for concurrent use.
type LogSink struct {
	mu sync.Mutex
	w  io.Writer
}

var _ Notifier = (*LogSink)(nil)

// NewLogSink returns a sink writing to w.
func NewLogSink(w io.Writer) *LogSink { return &LogSink{w: w} }

// Name returns "log".
func (l *LogSink) Name() string { return "log" }

// Notify writes one line with a single Write call, so lines from
// concurrent events never interleave.
func (l *LogSink) Notify(ctx context.Context, ev Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b, err := ev.marshal(true)
	if err != nil {
		return fmt.Errorf("alerts: log: %w", err)
	}
	b = append(b, '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := l.w.Write(b); err != nil {
		return fmt.Errorf("alerts: log: writing event %s: %w", ev.ID, err)
	}
	return nil
}
