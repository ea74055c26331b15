package store

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestDismissSilencesPairs dismisses an incident and checks that its
// (capture, file) pairs never raise or re-open it again, at this source
// or another, while a new file of the same capture re-opens it.
func TestDismissSilencesPairs(t *testing.T) {
	forEachBackend(t, func(t *testing.T, loc string) {
		ctx := context.Background()
		s := openTest(t, loc)
		eps := []string{"webhook:a"}
		const src = "http://dump.test"
		record := func(source string, ms ...Evidence) Outcome {
			t.Helper()
			out, err := s.RecordMatches(ctx, source, ms, eps)
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		first := record(src, match("c1", "s1"), match("c2", "s2"))
		if _, err := s.Dismiss(ctx, first.IncidentID, ""); err == nil {
			t.Fatal("Dismiss without a reason succeeded")
		}
		inc, err := s.Dismiss(ctx, first.IncidentID[:8], "the match is a look-alike plate")
		if err != nil {
			t.Fatal(err)
		}
		if inc.Status != StatusDismissed || inc.Reason != "the match is a look-alike plate" || len(inc.Captures) != 0 {
			t.Fatalf("dismissed incident %+v", inc)
		}
		for _, m := range inc.Matches {
			if !m.Dismissed {
				t.Fatalf("match %+v not marked dismissed", m)
			}
		}
		if _, err := s.SetStatus(ctx, first.IncidentID, StatusResolved); !errors.Is(err, ErrInvalidTransition) {
			t.Fatalf("resolving a dismissed incident: %v, want ErrInvalidTransition", err)
		}

		// The same pairs, here and elsewhere, at other URLs: nothing.
		for _, source := range []string{src, "http://mirror.test"} {
			m := match("c1", "s1")
			m.URL = source + "/elsewhere.jpg"
			out := record(source, m, match("c2", "s2"))
			if len(out.Recorded) != 0 || out.Event != "" || out.Created {
				t.Fatalf("dismissed pairs at %s: %+v", source, out)
			}
		}
		if outs, err := s.Announce(ctx, eps); err != nil || len(outs) != 0 {
			t.Fatalf("announce after dismissed pairs: %+v, %v", outs, err)
		}
		if incs, _ := s.Incidents(ctx, ""); len(incs) != 1 {
			t.Fatalf("%d incidents, want the dismissed one only", len(incs))
		}

		// A new file of a dismissed capture re-opens the incident.
		out := record(src, match("c1", "s1"), match("c1", "s3"))
		if len(out.Recorded) != 1 || out.Event == "" {
			t.Fatalf("new file of a dismissed capture: %+v", out)
		}
		inc, err = s.Incident(ctx, out.IncidentID)
		if err != nil {
			t.Fatal(err)
		}
		if inc.Status != StatusNew || len(inc.Captures) != 1 || inc.Captures[0] != "c1" {
			t.Fatalf("re-opened incident %+v", inc)
		}
		// Acknowledging it keeps the old pairs dismissed.
		mustStatus(t, s, StatusAcknowledged)
		if out := record(src, match("c2", "s2")); len(out.Recorded) != 0 {
			t.Fatalf("a dismissed pair was recorded after ack: %+v", out)
		}

		// Dismissing again and reopening takes the dismissal back.
		if _, err := s.Dismiss(ctx, out.IncidentID, "still wrong"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetStatus(ctx, out.IncidentID, StatusNew); err != nil {
			t.Fatal(err)
		}
		if out := record(src, match("c2", "s2")); len(out.Recorded) != 1 {
			t.Fatalf("pair still dismissed after reopen: %+v", out)
		}
	})
}

// TestHeldEventFoldsGrowth checks that with an alert hold a scan's growth
// goes into the held "created" event instead of a second event, that the
// release makes it due, and that growth after a delivery gets its own
// event.
func TestHeldEventFoldsGrowth(t *testing.T) {
	forEachBackend(t, func(t *testing.T, loc string) {
		ctx := context.Background()
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		s, err := Open(ctx, loc, WithClock(func() time.Time { return now }), WithAlertHold(10*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		eps := []string{"webhook:a", "slack:b"}
		out, err := s.RecordMatches(ctx, "http://dump.test", []Evidence{match("c1", "s1")}, eps)
		if err != nil {
			t.Fatal(err)
		}
		if due, _ := s.DueFor(ctx, eps, 10); len(due) != 0 {
			t.Fatalf("held event is due at once: %+v", due)
		}
		now = now.Add(time.Second)
		for _, c := range []string{"c2", "c3"} {
			if _, err := s.RecordMatches(ctx, "http://dump.test", []Evidence{match(c, c)}, eps); err != nil {
				t.Fatal(err)
			}
		}
		outs, err := s.Announce(ctx, eps)
		if err != nil {
			t.Fatal(err)
		}
		if len(outs) != 1 || outs[0].Event != out.Event {
			t.Fatalf("announce %+v, want growth folded into %s", outs, out.Event)
		}
		if err := s.ReleaseHeld(ctx); err != nil {
			t.Fatal(err)
		}
		due, err := s.DueFor(ctx, eps, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(due) != 2 {
			t.Fatalf("%d deliveries due after release, want one event to 2 endpoints: %+v", len(due), due)
		}
		var data EventData
		if err := json.Unmarshal(due[0].Payload, &data); err != nil {
			t.Fatal(err)
		}
		if due[0].Type != EventCreated || len(data.Incident.Captures) != 3 || len(data.NewCaptures) != 3 || data.Incident.Version != 1 {
			t.Fatalf("released event %s: %+v", due[0].Type, data)
		}

		// Once an attempt was made the event is no longer held: growth gets
		// its own "updated" event.
		for _, d := range due {
			if err := s.MarkDelivered(ctx, d.EventID, d.Endpoint); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.RecordMatches(ctx, "http://dump.test", []Evidence{match("c4", "s4")}, eps); err != nil {
			t.Fatal(err)
		}
		outs, err = s.Announce(ctx, eps)
		if err != nil || len(outs) != 1 || outs[0].Event == out.Event {
			t.Fatalf("growth after delivery: %+v, %v", outs, err)
		}

		// A hold that runs out sends the event as it was.
		now = now.Add(11 * time.Minute)
		if due, _ := s.DueFor(ctx, eps, 10); len(due) != 2 || due[0].EventID != outs[0].Event {
			t.Fatalf("after the hold: %+v", due)
		}
	})
}

// TestOpenPathWithURICharacters opens stores whose paths hold the
// characters a file URI gives a meaning: each must be its own file at
// exactly that path.
func TestOpenPathWithURICharacters(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"a#1", "b?x=1", "c%23", "d e"} {
		p := filepath.Join(dir, name, "lw.db")
		s := openTest(t, p)
		if _, err := s.BeginRun(context.Background(), name); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(p); err != nil {
			t.Errorf("store for %q not at its path: %v", name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "a")); err == nil {
		t.Error("a '#' cut the path short")
	}
}
