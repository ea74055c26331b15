package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/leakwatch/leakwatch/internal/attribution"
)

// TestEventsAndRoute checks what an incident report reads: the route and
// inliers of each match survive the store, and an incident's events come
// back oldest first with their new captures and per-endpoint deliveries.
func TestEventsAndRoute(t *testing.T) {
	forEachBackend(t, func(t *testing.T, loc string) {
		ctx := context.Background()
		now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
		s, err := Open(ctx, loc, WithClock(func() time.Time { return now }))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		eps := []string{"webhook:a", "slack:b"}
		feat := match("c1", "s1")
		feat.Algorithm, feat.Via, feat.Distance, feat.Inliers = "features", "features", -1, 17
		out, err := s.RecordMatches(ctx, "http://dump.test", []Evidence{feat}, eps)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.MarkDelivered(ctx, out.Event, "webhook:a"); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Hour)
		win := match("c2", "s2")
		win.Via = "window"
		if _, err := s.RecordMatches(ctx, "http://dump.test", []Evidence{win}, eps); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Announce(ctx, eps); err != nil {
			t.Fatal(err)
		}
		inc, err := s.Incident(ctx, out.IncidentID)
		if err != nil {
			t.Fatal(err)
		}
		if len(inc.Matches) != 2 || inc.Matches[0].Via != "features" || inc.Matches[0].Inliers != 17 || inc.Matches[1].Via != "window" {
			t.Errorf("matches %+v", inc.Matches)
		}
		evs, err := s.Events(ctx, out.IncidentID)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 2 || evs[0].Type != EventCreated || evs[1].Type != EventUpdated || !evs[1].CreatedAt.After(evs[0].CreatedAt) ||
			!slices.Equal(evs[0].NewCaptures, []string{"c1"}) || !slices.Equal(evs[1].NewCaptures, []string{"c2"}) || evs[1].Version != 2 {
			t.Fatalf("events %+v", evs)
		}
		var states []string
		for _, d := range evs[0].Deliveries {
			states = append(states, d.Endpoint+"="+d.Status)
		}
		if !slices.Equal(states, []string{"slack:b=pending", "webhook:a=delivered"}) || evs[0].Deliveries[1].DeliveredAt.IsZero() {
			t.Errorf("deliveries %+v", evs[0].Deliveries)
		}
		if none, err := s.Events(ctx, "inc_none"); err != nil || len(none) != 0 {
			t.Errorf("events of an unknown incident: %v, %v", none, err)
		}
	})
}

func TestEventPayloadStaysWithinBound(t *testing.T) {
	incident := func(captures, copiesEach int) EventData {
		d := EventData{Incident: Incident{ID: "inc_x", Source: "http://dump.example"}}
		for c := range captures {
			id := fmt.Sprintf("traveler-%05d", c)
			d.Incident.Captures = append(d.Incident.Captures, id)
			d.NewCaptures = append(d.NewCaptures, id)
			for k := range copiesEach {
				d.Incident.Matches = append(d.Incident.Matches, Match{Evidence: Evidence{
					CaptureID: id, URL: fmt.Sprintf("http://dump.example/set/%d/%d.jpg", k, c), SHA256: strings.Repeat("ab", 32),
				}})
			}
		}
		return d
	}
	tests := []struct {
		name                 string
		d                    EventData
		wantAllCaptures      bool // every capture listed, each with a match
		wantOmittedCaptures  bool
		wantUnchangedPayload bool
	}{
		{"small", incident(3, 2), true, false, true},
		{"many copies", incident(300, 10), true, false, false},
		{"many captures", incident(20000, 1), false, true, false},
		{"many copies, half dismissed", dismissHalf(incident(300, 10)), true, false, false},
		{"a large leak never disclosed", neverDisclosed(incident(20000, 1)), false, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			full, _ := json.Marshal(tt.d)
			b, err := eventPayload(tt.d)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) > MaxEventBytes {
				t.Fatalf("payload is %d bytes, bound %d", len(b), MaxEventBytes)
			}
			if tt.wantUnchangedPayload != bytes.Equal(b, full) {
				t.Errorf("payload unchanged = %v, want %v", bytes.Equal(b, full), tt.wantUnchangedPayload)
			}
			var got EventData
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			om := Omitted{}
			if got.Omitted != nil {
				om = *got.Omitted
			}
			copies, keptCopies := 0, 0
			for _, m := range tt.d.Incident.Matches {
				if !m.Dismissed {
					copies++
				}
			}
			for _, m := range got.Incident.Matches {
				if !m.Dismissed {
					keptCopies++
				}
			}
			if n := len(got.Incident.Matches) + om.Matches + om.Dismissed; n != len(tt.d.Incident.Matches) {
				t.Errorf("matches kept + omitted = %d, want %d", n, len(tt.d.Incident.Matches))
			}
			if keptCopies+om.Matches != copies {
				t.Errorf("copies kept %d + omitted %d, want %d", keptCopies, om.Matches, copies)
			}
			if a := tt.d.Incident.Attribution; a != nil {
				ga := got.Incident.Attribution
				if n := len(ga.Undisclosed) + len(ga.Recipients) + len(got.Incident.Canaries) + om.Attribution; n != len(a.Undisclosed)+len(a.Recipients)+len(tt.d.Incident.Canaries) {
					t.Errorf("attribution entries kept + omitted = %d", n)
				}
			}
			if n := len(got.Incident.Captures) + om.Captures; n != len(tt.d.Incident.Captures) {
				t.Errorf("captures kept + omitted = %d, want %d", n, len(tt.d.Incident.Captures))
			}
			if n := len(got.NewCaptures) + om.NewCaptures; n != len(tt.d.NewCaptures) {
				t.Errorf("new captures kept + omitted = %d, want %d", n, len(tt.d.NewCaptures))
			}
			if (om.Captures > 0) != tt.wantOmittedCaptures {
				t.Errorf("omitted captures = %d", om.Captures)
			}
			if tt.wantAllCaptures {
				matched := map[string]bool{}
				for _, m := range got.Incident.Matches {
					matched[m.CaptureID] = true
				}
				for _, c := range tt.d.Incident.Captures {
					if !matched[c] {
						t.Errorf("capture %s kept no match", c)
						break
					}
				}
			}
		})
	}
}

// A late report of a failed attempt (a worker whose lease ran out) does
// not undo a delivery recorded meanwhile.
func TestLateFailureKeepsDelivered(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, filepath.Join(t.TempDir(), "lw.db"))
	eps := []string{"webhook:a"}
	out, err := s.RecordMatches(ctx, "http://dump.test", []Evidence{match("c1", "s1")}, eps)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.MarkDelivered(ctx, out.Event, eps[0]); err != nil {
		t.Fatal(err)
	}
	for _, next := range []time.Time{{}, time.Now().Add(time.Hour)} { // give up; retry later
		if err := s.MarkAttempt(ctx, out.Event, eps[0], errors.New("HTTP 409"), next); err != nil {
			t.Fatal(err)
		}
	}
	ds, err := s.Deliveries(ctx, "")
	if err != nil || len(ds) != 1 || ds[0].Status != DeliveryDelivered || ds[0].Attempts != 1 {
		t.Fatalf("deliveries: %+v, %v; want one delivered after one attempt", ds, err)
	}
}

func dismissHalf(d EventData) EventData {
	for i := range d.Incident.Matches {
		d.Incident.Matches[i].Dismissed = i%2 == 0
	}
	return d
}

func neverDisclosed(d EventData) EventData {
	d.Incident.Attribution = &attribution.Result{Verdict: attribution.VerdictNeverDisclosed, Undisclosed: slices.Clone(d.Incident.Captures)}
	d.Incident.Canaries = slices.Clone(d.Incident.Captures[:5000])
	return d
}
