package alerts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Defaults for the HTTP notifiers.
const (
	// DefaultTimeout bounds one delivery attempt, response included;
	// Standard Webhooks senders use 15 to 30 seconds.
	DefaultTimeout   = 15 * time.Second
	DefaultUserAgent = "leakwatch-alerts/1"

	// maxResponseBytes bounds how much of a response we read: enough for
	// any error message, small enough that a hostile receiver streaming an
	// endless body costs nothing.
	maxResponseBytes = 64 << 10
	// maxRetryAfter caps a receiver's Retry-After so a hostile or confused
	// receiver cannot park deliveries for years.
	maxRetryAfter = 24 * time.Hour
)

// WebhookOption configures the HTTP notifiers, Webhook and Slack.
type WebhookOption func(*httpSender)

// WithHTTPClient sets the client used for requests, e.g. one whose transport
// goes through an egress proxy. The client is copied and the copy never
// follows redirects, whatever c.CheckRedirect says.
func WithHTTPClient(c *http.Client) WebhookOption {
	return func(s *httpSender) {
		if c != nil {
			s.client = c
		}
	}
}

// WithTimeout bounds each attempt (DefaultTimeout if not set or <= 0).
func WithTimeout(d time.Duration) WebhookOption {
	return func(s *httpSender) {
		if d > 0 {
			s.timeout = d
		}
	}
}

// WithLogger sets the logger for delivery outcomes. Log records carry the
// endpoint host, never the full URL or the secret.
func WithLogger(l *slog.Logger) WebhookOption {
	return func(s *httpSender) {
		if l != nil {
			s.logger = l
		}
	}
}

// WithUserAgent sets the User-Agent header (DefaultUserAgent if not set).
func WithUserAgent(ua string) WebhookOption {
	return func(s *httpSender) {
		if ua != "" {
			s.userAgent = ua
		}
	}
}

// WithClock sets the clock used for webhook-timestamp and for Retry-After
// dates (time.Now if not set). Tests use it to send stale timestamps.
func WithClock(now func() time.Time) WebhookOption {
	return func(s *httpSender) {
		if now != nil {
			s.now = now
		}
	}
}

// httpSender holds what Webhook and Slack share: one bounded POST and the
// classification of its outcome.
type httpSender struct {
	kind      string // "webhook" or "slack", for names and logs
	endpoint  *url.URL
	client    *http.Client
	timeout   time.Duration
	logger    *slog.Logger
	userAgent string
	now       func() time.Time
}

func newHTTPSender(kind, rawURL string, opts []WebhookOption) (*httpSender, error) {
	u, err := parseEndpoint(rawURL)
	if err != nil {
		return nil, fmt.Errorf("alerts: %s URL: %w", kind, err)
	}
	s := &httpSender{
		kind:      kind,
		endpoint:  u,
		client:    &http.Client{},
		timeout:   DefaultTimeout,
		logger:    slog.New(slog.DiscardHandler),
		userAgent: DefaultUserAgent,
		now:       time.Now,
	}
	for _, o := range opts {
		o(s)
	}
	c := *s.client
	// A redirect is a failure (Standard Webhooks): following it would send
	// a signed alert to wherever the receiver points, e.g. an internal host.
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	s.client = &c
	return s, nil
}

// parseEndpoint accepts absolute http(s) URLs with a host. Its errors never
// quote the URL, which may itself be a credential (Slack).
func parseEndpoint(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("invalid URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, errors.New("scheme must be http or https")
	}
	if u.Host == "" {
		return nil, errors.New("URL has no host")
	}
	return u, nil
}

// name is what logs and errors show: kind and host, never path or query.
func (s *httpSender) name() string { return s.kind + "(" + s.endpoint.Host + ")" }

// response is what we keep of an answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// post makes one attempt. Transport failures come back as *RetryableError
// unless the caller's own ctx ended, which is returned as is.
func (s *httpSender) post(ctx context.Context, header http.Header, body []byte) (response, error) {
	actx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, s.endpoint.String(), bytes.NewReader(body))
	if err != nil {
		return response{}, fmt.Errorf("%w: building request: %w", ErrPermanent, redactURLError(err))
	}
	req.Header = header
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", s.userAgent)

	resp, err := s.client.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return response{}, ctxErr
		}
		return response{}, &RetryableError{Err: redactURLError(err)}
	}
	defer resp.Body.Close()
	// Read a bounded prefix under the attempt deadline. A read error (an
	// endless or stalled body) does not change the status the receiver
	// already gave us, so it is ignored.
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	return response{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// redactURLError strips the request URL that net/http puts in its errors.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

// classifyStatus maps a non-success status to an error class.
func classifyStatus(resp response, now time.Time) error {
	se := &StatusError{StatusCode: resp.status, Body: excerpt(resp.body)}
	switch code := resp.status; {
	case code >= 300 && code < 400:
		return fmt.Errorf("%w: redirect not followed: %w", ErrPermanent, se)
	case code == http.StatusGone:
		return fmt.Errorf("%w: %w", ErrGone, se)
	case code == http.StatusRequestTimeout, code == http.StatusTooManyRequests, code >= 500:
		return &RetryableError{RetryAfter: parseRetryAfter(resp.header.Get("Retry-After"), now), Err: se}
	default:
		return fmt.Errorf("%w: %w", ErrPermanent, se)
	}
}

// parseRetryAfter reads delay-seconds or an HTTP-date, capped at
// maxRetryAfter; anything unparseable means "not specified".
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseUint(v, 10, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		if err != nil || secs > uint64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		return time.Duration(secs) * time.Second
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	d := t.Sub(now)
	switch {
	case d < 0:
		return 0
	case d > maxRetryAfter:
		return maxRetryAfter
	}
	return d
}

// logOutcome records one attempt at Info (success) or Warn (failure).
func (s *httpSender) logOutcome(ctx context.Context, ev Event, status int, took time.Duration, err error) {
	attrs := []slog.Attr{
		slog.String("notifier", s.kind),
		slog.String("host", s.endpoint.Host),
		slog.String("event_id", ev.ID),
		slog.String("event_type", ev.Type),
		slog.Duration("took", took),
	}
	if status != 0 {
		attrs = append(attrs, slog.Int("status", status))
	}
	if err == nil {
		s.logger.LogAttrs(ctx, slog.LevelInfo, "alert delivered", attrs...)
		return
	}
	attrs = append(attrs, slog.String("class", errorClass(err)), slog.Any("error", err))
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		// The caller gave up on the attempt (shutdown, or its own
		// timeout): what happens next is the caller's to report.
		s.logger.LogAttrs(ctx, slog.LevelDebug, "alert attempt cancelled", attrs...)
		return
	}
	s.logger.LogAttrs(ctx, slog.LevelWarn, "alert delivery failed", attrs...)
}

// errorClass names the class of a delivery error for logs and metrics.
func errorClass(err error) string {
	var re *RetryableError
	switch {
	case errors.Is(err, ErrGone):
		return "gone"
	case errors.Is(err, ErrPermanent):
		return "permanent"
	case errors.As(err, &re):
		return "retryable"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "canceled"
	}
	return "unknown"
}
