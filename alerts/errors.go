package alerts

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Delivery error classes; test with errors.Is. A failed Notify wraps exactly
// one of ErrPermanent (or an error that unwraps to it), *RetryableError, or
// the caller's context error.
var (
	// ErrPermanent marks a delivery that will fail the same way if repeated:
	// a 4xx other than 408/429, a redirect, an invalid event or an oversized
	// payload. Do not retry it.
	ErrPermanent = errors.New("permanent delivery failure")

	// ErrGone marks an HTTP 410 answer: the receiver asks us to stop sending,
	// so the endpoint should be disabled. It also matches ErrPermanent.
	ErrGone error = &subError{msg: "endpoint gone (HTTP 410), disable it", parent: ErrPermanent}

	// ErrInvalidEvent marks an Event that cannot be delivered as built
	// (bad ID or type, unmarshalable data). It also matches ErrPermanent.
	ErrInvalidEvent error = &subError{msg: "invalid event", parent: ErrPermanent}
)

// subError is a sentinel that also matches a broader sentinel, so that
// errors.Is(ErrGone, ErrPermanent) holds without joining two messages.
type subError struct {
	msg    string
	parent error
}

func (e *subError) Error() string { return e.msg }
func (e *subError) Unwrap() error { return e.parent }

// RetryableError is a delivery failure that may succeed later: a 5xx, 408 or
// 429 answer, a timeout or a connection error.
type RetryableError struct {
	// RetryAfter is the delay the receiver asked for with Retry-After, or 0
	// when it did not say. Callers should wait at least this long.
	RetryAfter time.Duration
	// Err is the underlying failure.
	Err error
}

func (e *RetryableError) Error() string {
	if e.RetryAfter > 0 {
		return fmt.Sprintf("retryable (retry after %s): %v", e.RetryAfter, e.Err)
	}
	return fmt.Sprintf("retryable: %v", e.Err)
}

func (e *RetryableError) Unwrap() error { return e.Err }

// StatusError reports a non-2xx HTTP answer (or a 2xx that is not a success
// for the receiver's protocol, such as a Slack body other than "ok").
type StatusError struct {
	StatusCode int
	// Body is a short, printable excerpt of the response body, kept because
	// receivers such as Slack explain the failure there ("invalid_payload").
	Body string
}

func (e *StatusError) Error() string {
	if e.Body == "" {
		return fmt.Sprintf("HTTP %d", e.StatusCode)
	}
	return fmt.Sprintf("HTTP %d: %s", e.StatusCode, e.Body)
}

// maxErrorBody bounds the response excerpt kept in a StatusError.
const maxErrorBody = 200

// excerpt returns at most maxErrorBody bytes of b with anything outside
// printable ASCII replaced, so a hostile receiver cannot inject control
// sequences into our logs.
func excerpt(b []byte) string {
	if len(b) > maxErrorBody {
		b = b[:maxErrorBody]
	}
	var sb strings.Builder
	for _, c := range b {
		if c >= 0x20 && c < 0x7f {
			sb.WriteByte(c)
		} else {
			sb.WriteByte('?')
		}
	}
	return strings.TrimSpace(sb.String())
}
