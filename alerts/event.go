package alerts

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Well-known event types. Types are dot-separated segments of
// [A-Za-z0-9_], as Standard Webhooks recommends.
const (
	TypeIncidentCreated    = "incident.created"
	TypeIncidentUpdated    = "incident.updated"
	TypeIncidentReappeared = "incident.reappeared"
	TypeTest               = "test"
)

// MaxPayloadBytes bounds a marshalled payload. Standard Webhooks advises
// staying under about 20 KB and linking large assets; anything past this
// limit is a bug in the caller, so it fails permanently rather than retrying.
const MaxPayloadBytes = 256 << 10

const maxTypeLen = 128

// Event is one thing to deliver.
type Event struct {
	// ID is the idempotency key, sent as webhook-id. It must stay the same
	// across every retry of the same event (receivers de-duplicate on it)
	// and must be 1..256 bytes of visible ASCII without '.'. StableID
	// derives one from the facts that identify the event.
	ID string
	// Type names what happened, e.g. TypeIncidentCreated.
	Type string
	// Timestamp is when the event happened (not when it is delivered).
	Timestamp time.Time
	// Data is marshalled with encoding/json as the payload's "data". If it
	// implements Summarizer, Slack shows the summary and the JSON notifiers
	// add it to a data object as "summary" (title, text, link), so every
	// destination carries the text a person reads.
	Data any
}

// Summarizer lets Event.Data describe itself for human-facing notifiers
// without this package knowing the type.
type Summarizer interface {
	// AlertSummary returns a one-line title, a longer text and an optional
	// http(s) link to details.
	AlertSummary() (title, text, link string)
}

// payload is the Standard Webhooks JSON body. ID is only set for LogSink;
// webhooks carry it in the webhook-id header instead.
type payload struct {
	ID        string    `json:"id,omitempty"`
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      any       `json:"data"`
}

// Validate reports whether ev can be delivered. The error matches
// ErrInvalidEvent and ErrPermanent.
func (ev Event) Validate() error {
	if err := validateID(ev.ID); err != nil {
		return fmt.Errorf("%w: id %w", ErrInvalidEvent, err)
	}
	if err := validateType(ev.Type); err != nil {
		return fmt.Errorf("%w: type %w", ErrInvalidEvent, err)
	}
	if ev.Timestamp.IsZero() {
		return fmt.Errorf("%w: zero timestamp", ErrInvalidEvent)
	}
	return nil
}

// Payload returns the JSON body a Webhook sends for ev:
// {"type":...,"timestamp":RFC 3339 in UTC,"data":...}. A nil Data is sent
// as {} because the specification makes data an object.
func (ev Event) Payload() ([]byte, error) { return ev.marshal(false) }

func (ev Event) marshal(withID bool) ([]byte, error) {
	if err := ev.Validate(); err != nil {
		return nil, err
	}
	p := payload{Type: ev.Type, Timestamp: ev.Timestamp.UTC(), Data: ev.Data}
	if withID {
		p.ID = ev.ID
	}
	if p.Data == nil {
		p.Data = struct{}{}
	}
	if sm, ok := p.Data.(Summarizer); ok {
		d, err := withSummary(sm)
		if err != nil {
			return nil, fmt.Errorf("%w: marshalling data: %w", ErrInvalidEvent, err)
		}
		p.Data = d
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("%w: marshalling data: %w", ErrInvalidEvent, err)
	}
	if len(b) > MaxPayloadBytes {
		return nil, fmt.Errorf("%w: payload is %d bytes, limit %d", ErrInvalidEvent, len(b), MaxPayloadBytes)
	}
	return b, nil
}

// Summary is a Summarizer's text as the JSON notifiers send it.
type Summary struct {
	Title string `json:"title"`
	Text  string `json:"text"`
	Link  string `json:"link,omitempty"`
}

// withSummary marshals a Summarizer and, when it is a JSON object, adds
// its summary as the member "summary" (replacing any of that name).
func withSummary(sm Summarizer) (json.RawMessage, error) {
	b, err := json.Marshal(sm)
	if err != nil {
		return nil, err
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(b, &obj) != nil || obj == nil {
		return b, nil // not an object: sent as it is
	}
	title, text, link := sm.AlertSummary()
	sb, err := json.Marshal(Summary{Title: title, Text: text, Link: safeLink(link)})
	if err != nil {
		return nil, err
	}
	obj["summary"] = sb
	return json.Marshal(obj)
}

func validateType(t string) error {
	if t == "" || len(t) > maxTypeLen {
		return fmt.Errorf("must be 1..%d bytes", maxTypeLen)
	}
	for seg := range strings.SplitSeq(t, ".") {
		if seg == "" {
			return fmt.Errorf("%q has an empty segment", t)
		}
		for _, c := range []byte(seg) {
			if !(c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
				return fmt.Errorf("%q: segments must be [A-Za-z0-9_]", t)
			}
		}
	}
	return nil
}

// StableID derives an event ID from the facts that identify an event (for
// example incident ID, event type and revision), so that re-raising the same
// event after a crash yields the same webhook-id and receivers drop the
// duplicate. The result is "evt_" plus 26 base32 characters of SHA-256.
func StableID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		// Length-prefix each part so ("ab","c") and ("a","bc") differ.
		h.Write([]byte(strconv.Itoa(len(p))))
		h.Write([]byte{':'})
		h.Write([]byte(p))
	}
	enc := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(h.Sum(nil))
	return "evt_" + strings.ToLower(enc[:26])
}

// TestData is the Data of NewTestEvent.
type TestData struct {
	Message string `json:"message"`
}

// AlertSummary implements Summarizer.
func (d TestData) AlertSummary() (title, text, link string) {
	return "leakwatch test alert", d.Message, ""
}

// NewTestEvent returns a TypeTest event for checking that an endpoint is
// reachable and verifies signatures ("leakwatch alerts test").
func NewTestEvent(now time.Time) Event {
	return Event{
		ID:        StableID(TypeTest, strconv.FormatInt(now.UnixNano(), 10)),
		Type:      TypeTest,
		Timestamp: now,
		Data:      TestData{Message: "If you can read this, leakwatch alerts reach this endpoint."},
	}
}
