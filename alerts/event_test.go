package alerts

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestEventValidate(t *testing.T) {
	ok := testEvent("evt_1")
	mod := func(f func(*Event)) Event { ev := ok; f(&ev); return ev }
	tests := map[string]struct {
		ev    Event
		valid bool
	}{
		"valid":              {ev: ok, valid: true},
		"single segment":     {ev: mod(func(e *Event) { e.Type = "test" }), valid: true},
		"empty id":           {ev: mod(func(e *Event) { e.ID = "" })},
		"id with dot":        {ev: mod(func(e *Event) { e.ID = "evt.1" })},
		"id with space":      {ev: mod(func(e *Event) { e.ID = "evt 1" })},
		"id with newline":    {ev: mod(func(e *Event) { e.ID = "evt\r\nX-Injected: 1" })},
		"id too long":        {ev: mod(func(e *Event) { e.ID = strings.Repeat("a", maxIDLen+1) })},
		"empty type":         {ev: mod(func(e *Event) { e.Type = "" })},
		"type empty segment": {ev: mod(func(e *Event) { e.Type = "incident..created" })},
		"type trailing dot":  {ev: mod(func(e *Event) { e.Type = "incident." })},
		"type bad char":      {ev: mod(func(e *Event) { e.Type = "incident-created" })},
		"zero timestamp":     {ev: mod(func(e *Event) { e.Timestamp = time.Time{} })},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := tc.ev.Validate()
			if tc.valid {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidEvent) || !errors.Is(err, ErrPermanent) {
				t.Fatalf("Validate err = %v, want ErrInvalidEvent and ErrPermanent", err)
			}
		})
	}
}

func TestPayloadShape(t *testing.T) {
	ev := testEvent("evt_1")
	ev.Timestamp = time.Date(2026, 3, 1, 13, 0, 0, 123, time.FixedZone("CET", 3600))
	b, err := ev.Payload()
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]json.RawMessage
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("payload is not a JSON object: %v", err)
	}
	if len(got) != 3 {
		t.Fatalf("payload keys = %v, want exactly type, timestamp, data", got)
	}
	var typ, ts string
	json.Unmarshal(got["type"], &typ)
	json.Unmarshal(got["timestamp"], &ts)
	if typ != ev.Type {
		t.Errorf("type = %q, want %q", typ, ev.Type)
	}
	parsed, err := time.Parse(time.RFC3339, ts)
	if err != nil || !parsed.Equal(ev.Timestamp) || !strings.HasSuffix(ts, "Z") {
		t.Errorf("timestamp %q: want RFC 3339 in UTC equal to %v (parse err %v)", ts, ev.Timestamp, err)
	}
	var data incident
	if err := json.Unmarshal(got["data"], &data); err != nil || data != ev.Data {
		t.Errorf("data = %s, want %+v", got["data"], ev.Data)
	}
}

func TestPayloadNilDataIsObject(t *testing.T) {
	ev := testEvent("evt_1")
	ev.Data = nil
	b, err := ev.Payload()
	if err != nil {
		t.Fatal(err)
	}
	var p struct{ Data map[string]any }
	if err := json.Unmarshal(b, &p); err != nil || p.Data == nil {
		t.Fatalf("data in %s is not an object", b)
	}
}

func TestPayloadRejects(t *testing.T) {
	tests := map[string]any{
		"unmarshalable": map[string]any{"f": func() {}},
		"oversized":     strings.Repeat("x", MaxPayloadBytes),
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			ev := testEvent("evt_1")
			ev.Data = data
			if _, err := ev.Payload(); !errors.Is(err, ErrInvalidEvent) || !errors.Is(err, ErrPermanent) {
				t.Fatalf("Payload err = %v, want ErrInvalidEvent and ErrPermanent", err)
			}
		})
	}
}

func TestStableID(t *testing.T) {
	a := StableID("inc_1", "incident.created", "1")
	if a != StableID("inc_1", "incident.created", "1") {
		t.Fatal("StableID is not deterministic")
	}
	others := []string{
		StableID("inc_1", "incident.created", "2"),
		StableID("inc_1", "incident.created1"),
		StableID("inc_1incident.created", "1"),
		StableID(),
	}
	for _, o := range others {
		if o == a {
			t.Errorf("StableID collision: %q", o)
		}
	}
	if err := validateID(a); err != nil {
		t.Fatalf("StableID %q is not a valid webhook-id: %v", a, err)
	}
}

func TestNewTestEventIsDeliverable(t *testing.T) {
	ev := NewTestEvent(time.Now())
	if err := ev.Validate(); err != nil {
		t.Fatal(err)
	}
	if ev.Type != TypeTest {
		t.Fatalf("type = %q", ev.Type)
	}
	if _, ok := ev.Data.(Summarizer); !ok {
		t.Fatal("test event data has no summary for Slack")
	}
}
