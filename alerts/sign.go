package alerts

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Standard Webhooks v1 header names.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// DefaultTolerance is the clock skew Verify accepts when given a tolerance
// of 0, the value the Standard Webhooks libraries use.
const DefaultTolerance = 5 * time.Minute

const (
	sigVersion = "v1"
	// maxSignatures bounds the work one request can ask of Verify; key
	// rotation needs two or three entries, not thousands.
	maxSignatures = 16
	// maxTimestampDigits is enough for any int64 number of seconds.
	maxTimestampDigits = 19
	// maxIDLen bounds webhook-id; it travels in a header and is stored.
	maxIDLen = 256
	// maxUnixSeconds (year ~36800) keeps time.Unix far from int64 overflow.
	maxUnixSeconds = 1 << 40
)

// Verification errors; test with errors.Is.
var (
	ErrMissingHeader   = errors.New("missing webhook header")
	ErrMalformedHeader = errors.New("malformed webhook header")
	ErrNoSignature     = errors.New("no v1 webhook signature")
	ErrBadSignature    = errors.New("webhook signature mismatch")
	ErrTooOld          = errors.New("webhook timestamp too old")
	ErrTooNew          = errors.New("webhook timestamp too far in the future")
)

// Sign returns the webhook-signature value for one delivery attempt:
// "v1," + base64(HMAC-SHA256(key, id + "." + unix seconds + "." + body)).
// body must be exactly the bytes sent; signing a value that is re-encoded
// later breaks verification.
func Sign(sec Secret, id string, ts time.Time, body []byte) string {
	sum := mac(sec, id, strconv.FormatInt(ts.Unix(), 10), body)
	return sigVersion + "," + base64.StdEncoding.EncodeToString(sum)
}

func mac(sec Secret, id, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, sec.key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks a Standard Webhooks v1 signature over body, the raw request
// body. The timestamp must lie within tolerance of now (DefaultTolerance if
// tolerance <= 0), which bounds replays; receivers should also de-duplicate
// on webhook-id. webhook-signature may list several space-separated
// signatures (key rotation); entries of another version are skipped and any
// matching v1 entry is enough. Comparison is constant-time.
//
// Verify never accepts anything with the zero Secret.
func Verify(sec Secret, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	if sec.IsZero() {
		return fmt.Errorf("alerts: verify: %w: no secret configured", ErrInvalidSecret)
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	id, tsRaw := h.Get(HeaderID), h.Get(HeaderTimestamp)
	sigs := h.Values(HeaderSignature)
	switch {
	case id == "":
		return fmt.Errorf("alerts: verify: %w: %s", ErrMissingHeader, HeaderID)
	case tsRaw == "":
		return fmt.Errorf("alerts: verify: %w: %s", ErrMissingHeader, HeaderTimestamp)
	case len(sigs) == 0:
		return fmt.Errorf("alerts: verify: %w: %s header absent", ErrNoSignature, HeaderSignature)
	}
	if err := validateID(id); err != nil {
		return fmt.Errorf("alerts: verify: %w: %s %w", ErrMalformedHeader, HeaderID, err)
	}
	ts, err := parseUnixSeconds(tsRaw)
	if err != nil {
		return fmt.Errorf("alerts: verify: %w: %s %w", ErrMalformedHeader, HeaderTimestamp, err)
	}
	// Compare instants rather than a Duration: Sub saturates for absurd
	// timestamps and negating the saturated minimum overflows.
	if ts.Before(now.Add(-tolerance)) {
		return fmt.Errorf("alerts: verify: %w: sent %s, tolerance %s", ErrTooOld, tsRaw, tolerance)
	}
	if ts.After(now.Add(tolerance)) {
		return fmt.Errorf("alerts: verify: %w: sent %s, tolerance %s", ErrTooNew, tsRaw, tolerance)
	}

	// The MAC covers the timestamp exactly as sent, not a re-formatted copy.
	want := mac(sec, id, tsRaw, body)
	seen, sawV1 := 0, false
	for _, line := range sigs {
		for entry := range strings.FieldsSeq(line) {
			if seen++; seen > maxSignatures {
				return fmt.Errorf("alerts: verify: %w: more than %d signatures", ErrMalformedHeader, maxSignatures)
			}
			version, enc, ok := strings.Cut(entry, ",")
			if !ok || version != sigVersion {
				continue
			}
			sawV1 = true
			// Strict: a signature with non-zero trailing bits decodes to
			// the same MAC, but only the canonical text is the signature.
			got, err := base64.StdEncoding.Strict().DecodeString(enc)
			if err != nil {
				continue
			}
			if hmac.Equal(got, want) {
				return nil
			}
		}
	}
	if !sawV1 {
		return fmt.Errorf("alerts: verify: %w", ErrNoSignature)
	}
	return fmt.Errorf("alerts: verify: %w", ErrBadSignature)
}

// validateID enforces what Standard Webhooks requires of a message ID (no
// '.', since it is the field separator of the signed content) plus what a
// header value and a store key need: 1..maxIDLen visible ASCII bytes.
func validateID(id string) error {
	if id == "" {
		return errors.New("is empty")
	}
	if len(id) > maxIDLen {
		return fmt.Errorf("is longer than %d bytes", maxIDLen)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c == '.' {
			return errors.New("contains '.'")
		}
		if c <= 0x20 || c >= 0x7f {
			return fmt.Errorf("contains byte %#x; want visible ASCII", c)
		}
	}
	return nil
}

// parseUnixSeconds accepts only plain decimal digits: no sign, no spaces,
// no exponent, so the signed text and the parsed value cannot disagree.
func parseUnixSeconds(s string) (time.Time, error) {
	if len(s) > maxTimestampDigits {
		return time.Time{}, errors.New("is too long")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return time.Time{}, errors.New("is not a decimal unix time")
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n > maxUnixSeconds {
		return time.Time{}, errors.New("is out of range")
	}
	return time.Unix(n, 0), nil
}
