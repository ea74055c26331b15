// Package outbox delivers the alert events that the store wrote in the same
// transaction as their incidents. Delivery is at least once: an event stays
// pending until an endpoint accepts it, survives restarts, and always
// carries the same webhook-id so receivers can drop duplicates.
package outbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/leakwatch/leakwatch/alerts"
	"github.com/leakwatch/leakwatch/internal/store"
)

// EndpointKey names an endpoint in the store without storing its URL,
// which may itself be a secret (Slack).
func EndpointKey(kind, rawURL string) string {
	sum := sha256.Sum256([]byte(rawURL))
	return kind + ":" + hex.EncodeToString(sum[:6])
}

// Dispatcher delivers due events to their endpoints.
type Dispatcher struct {
	Store     *store.Store
	Notifiers map[string]alerts.Notifier // endpoint key -> notifier
	Logger    *slog.Logger
	// MaxAge gives up on events older than this (default 72 h, the span of
	// the Standard Webhooks retry schedule).
	MaxAge time.Duration
	// Initial and Max bound the exponential backoff between attempts.
	Initial, Max time.Duration
	// Timeout bounds one delivery attempt (default 30 s).
	Timeout time.Duration
	Now     func() time.Time
}

// Result counts one Flush.
type Result struct {
	Delivered int `json:"delivered"`
	Retrying  int `json:"retrying"`
	GaveUp    int `json:"gave_up"`
}

func (d *Dispatcher) defaults() {
	if d.MaxAge == 0 {
		d.MaxAge = 72 * time.Hour
	}
	if d.Initial == 0 {
		d.Initial = 5 * time.Second
	}
	if d.Max == 0 {
		d.Max = 2 * time.Hour
	}
	if d.Timeout == 0 {
		d.Timeout = 30 * time.Second
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
}

// Flush attempts every due delivery once.
func (d *Dispatcher) Flush(ctx context.Context) (Result, error) {
	d.defaults()
	var res Result
	due, err := d.Store.Due(ctx, 1000)
	if err != nil {
		return res, err
	}
	for _, p := range due {
		n, ok := d.Notifiers[p.Endpoint]
		if !ok {
			continue // endpoint not configured in this run: stays pending
		}
		now := d.Now()
		if now.Sub(p.CreatedAt) > d.MaxAge {
			_ = d.Store.MarkAttempt(ctx, p.EventID, p.Endpoint, errors.New("gave up: event older than max age"), time.Time{})
			res.GaveUp++
			continue
		}
		ev := alerts.Event{ID: p.EventID, Type: p.Type, Timestamp: p.CreatedAt, Data: json.RawMessage(p.Payload)}
		actx, cancel := context.WithTimeout(ctx, d.Timeout)
		err := n.Notify(actx, ev)
		cancel()
		if err == nil {
			if err := d.Store.MarkDelivered(context.WithoutCancel(ctx), p.EventID, p.Endpoint); err != nil {
				return res, err
			}
			res.Delivered++
			d.Logger.Info("alert delivered", "event", p.EventID, "endpoint", n.Name(), "attempt", p.Attempts+1)
			continue
		}
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		if errors.Is(err, alerts.ErrPermanent) || errors.Is(err, alerts.ErrGone) {
			_ = d.Store.MarkAttempt(ctx, p.EventID, p.Endpoint, err, time.Time{})
			res.GaveUp++
			d.Logger.Error("alert rejected permanently", "event", p.EventID, "endpoint", n.Name(), "err", err)
			continue
		}
		next := now.Add(d.backoff(p.Attempts, err))
		_ = d.Store.MarkAttempt(ctx, p.EventID, p.Endpoint, err, next)
		res.Retrying++
		d.Logger.Warn("alert delivery failed, will retry", "event", p.EventID, "endpoint", n.Name(), "attempt", p.Attempts+1, "next", next, "err", err)
	}
	return res, nil
}

// backoff is exponential with full jitter, at least any Retry-After.
func (d *Dispatcher) backoff(attempts int, err error) time.Duration {
	b := d.Initial
	for i := 0; i < attempts && b < d.Max; i++ {
		b *= 2
	}
	if b > d.Max {
		b = d.Max
	}
	wait := b/2 + rand.N(b/2+1)
	var re *alerts.RetryableError
	if errors.As(err, &re) && re.RetryAfter > wait {
		wait = re.RetryAfter
	}
	return wait
}
