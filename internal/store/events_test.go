package store

import (
	"context"
	"slices"
	"testing"
	"time"
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
