package alerts

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Webhook delivers events as Standard Webhooks v1 signed POSTs. Any 2xx is
// success; see the package docs for how failures are classified.
type Webhook struct {
	s      *httpSender
	secret Secret
}

var _ Notifier = (*Webhook)(nil)

// NewWebhook returns a notifier for the http(s) endpoint rawURL, signing with
// sec, which must not be the zero Secret.
func NewWebhook(rawURL string, sec Secret, opts ...WebhookOption) (*Webhook, error) {
	if sec.IsZero() {
		return nil, errors.New("alerts: webhook needs a signing secret")
	}
	s, err := newHTTPSender("webhook", rawURL, opts)
	if err != nil {
		return nil, err
	}
	return &Webhook{s: s, secret: sec}, nil
}

// Name returns "webhook(host)".
func (w *Webhook) Name() string { return w.s.name() }

// Notify makes one delivery attempt. webhook-id is ev.ID on every attempt;
// webhook-timestamp and the signature are fresh for each attempt, so a retry
// hours later still passes the receiver's timestamp tolerance.
func (w *Webhook) Notify(ctx context.Context, ev Event) error {
	body, err := ev.Payload()
	if err != nil {
		return fmt.Errorf("alerts: %s: %w", w.Name(), err)
	}
	now := w.s.now()
	h := make(http.Header, 5)
	h.Set(HeaderID, ev.ID)
	h.Set(HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	h.Set(HeaderSignature, Sign(w.secret, ev.ID, now, body))

	start := time.Now()
	resp, err := w.s.post(ctx, h, body)
	if err == nil && (resp.status < 200 || resp.status > 299) {
		err = classifyStatus(resp, w.s.now())
	}
	w.s.logOutcome(ctx, ev, resp.status, time.Since(start), err)
	if err != nil {
		return fmt.Errorf("alerts: %s: %w", w.Name(), err)
	}
	return nil
}
