package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestEndpointDisableSkipsUntilEnabled(t *testing.T) {
	forEachBackend(t, func(t *testing.T, loc string) {
		ctx := context.Background()
		clock := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		s, err := Open(ctx, loc, WithClock(func() time.Time { return clock }))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		eps := []string{"webhook:a", "webhook:b"}
		out, err := s.RecordMatches(ctx, "http://dump.test", []Evidence{match("c1", "s1")}, eps)
		if err != nil || out.Event == "" {
			t.Fatalf("record: %+v %v", out, err)
		}

		dueKeys := func() []string {
			t.Helper()
			due, err := s.DueFor(ctx, eps, 100)
			if err != nil {
				t.Fatal(err)
			}
			var ks []string
			for _, p := range due {
				ks = append(ks, p.Endpoint)
			}
			return ks
		}
		pending := func() int {
			t.Helper()
			n, err := s.PendingFor(ctx, eps)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		if got := dueKeys(); len(got) != 2 || pending() != 2 {
			t.Fatalf("before disabling: due %v, pending %d", got, pending())
		}

		// a answers 410: disabled; its delivery stays pending but is not due.
		if err := s.MarkAttempt(ctx, out.Event, "webhook:a", errors.New("HTTP 410"), clock.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := s.DisableEndpoint(ctx, "webhook:a", "webhook(a.test)", "HTTP 410"); err != nil {
			t.Fatal(err)
		}
		if got := dueKeys(); len(got) != 1 || got[0] != "webhook:b" {
			t.Fatalf("after disabling a: due %v", got)
		}
		if pending() != 1 {
			t.Fatalf("pending for enabled endpoints = %d, want 1", pending())
		}
		dis, err := s.DisabledEndpoints(ctx)
		if err != nil || !dis["webhook:a"] || dis["webhook:b"] {
			t.Fatalf("disabled = %v, %v", dis, err)
		}

		// Re-enabling makes the pending delivery due now, despite its backoff.
		was, err := s.EnableEndpoint(ctx, "webhook:a")
		if err != nil || !was {
			t.Fatalf("enable: %v %v", was, err)
		}
		if got := dueKeys(); len(got) != 2 {
			t.Fatalf("after enabling: due %v", got)
		}
		was, err = s.EnableEndpoint(ctx, "webhook:a")
		if err != nil || was {
			t.Fatalf("second enable: %v %v", was, err)
		}
		if _, err := s.EnableEndpoint(ctx, "webhook:nope"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("enable unknown: %v, want ErrNotFound", err)
		}
		// An endpoint known only from its deliveries can be enabled (no-op).
		if was, err := s.EnableEndpoint(ctx, "webhook:b"); err != nil || was {
			t.Fatalf("enable b: %v %v", was, err)
		}
	})
}

func TestEndpointsReport(t *testing.T) {
	forEachBackend(t, func(t *testing.T, loc string) {
		ctx := context.Background()
		s := openTest(t, loc)
		eps := []string{"slack:x", "webhook:y"}
		out, err := s.RecordMatches(ctx, "http://dump.test", []Evidence{match("c1", "s1")}, eps)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.MarkDelivered(ctx, out.Event, "webhook:y"); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordEndpointResult(ctx, "webhook:y", "webhook(y.test)", nil); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if err := s.RecordEndpointResult(ctx, "slack:x", "slack(x.test)", errors.New("HTTP 503")); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.Endpoints(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 {
			t.Fatalf("endpoints = %+v", got)
		}
		x, y := got[0], got[1]
		if x.Key != "slack:x" || x.Pending != 1 || x.Failures != 2 || x.LastError != "HTTP 503" || x.LastFailure.IsZero() || x.Name != "slack(x.test)" {
			t.Errorf("slack endpoint = %+v", x)
		}
		if y.Key != "webhook:y" || y.Delivered != 1 || y.Pending != 0 || y.Failures != 0 || y.LastSuccess.IsZero() {
			t.Errorf("webhook endpoint = %+v", y)
		}

		ds, err := s.Deliveries(ctx, DeliveryPending)
		if err != nil || len(ds) != 1 || ds[0].Endpoint != "slack:x" || ds[0].EventID != out.Event {
			t.Fatalf("pending deliveries = %+v, %v", ds, err)
		}
		all, err := s.Deliveries(ctx, "")
		if err != nil || len(all) != 2 {
			t.Fatalf("all deliveries = %+v, %v", all, err)
		}
		ids, err := s.EventIDs(ctx)
		if err != nil || len(ids) != 1 || ids[0] != out.Event {
			t.Fatalf("event ids = %v, %v", ids, err)
		}
	})
}

func TestDueForOnlyListedEndpoints(t *testing.T) {
	forEachBackend(t, func(t *testing.T, loc string) {
		ctx := context.Background()
		s := openTest(t, loc)
		// Many events for an endpoint this process does not deliver to must
		// not hide the one it does.
		for i := range 5 {
			src := "http://dump" + string(rune('a'+i)) + ".test"
			if _, err := s.RecordMatches(ctx, src, []Evidence{match("c1", "s1")}, []string{"webhook:other"}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.RecordMatches(ctx, "http://mine.test", []Evidence{match("c1", "s1")}, []string{"webhook:mine"}); err != nil {
			t.Fatal(err)
		}
		due, err := s.DueFor(ctx, []string{"webhook:mine"}, 2)
		if err != nil || len(due) != 1 || due[0].Endpoint != "webhook:mine" {
			t.Fatalf("due = %+v, %v", due, err)
		}
		if due, _ := s.DueFor(ctx, nil, 10); len(due) != 0 {
			t.Fatalf("no endpoints: due %+v", due)
		}
	})
}

// Events recorded by a process without an endpoint (a worker started
// without the alert configuration, a scan with other endpoints) reach that
// endpoint once a process delivering to it adopts them; events from
// before it was first configured do not.
func TestAdoptEndpoints(t *testing.T) {
	forEachBackend(t, func(t *testing.T, loc string) {
		ctx := context.Background()
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		s, err := Open(ctx, loc, WithAlertHold(time.Hour), WithClock(func() time.Time { return now }))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		before, err := s.RecordMatches(ctx, "http://old.test", []Evidence{match("c0", "s0")}, nil)
		if err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Second)
		if n, err := s.AdoptEndpoints(ctx, []string{"webhook:a"}, time.Time{}); err != nil || n != 0 {
			t.Fatalf("first adoption: %d, %v; want none (history is not replayed)", n, err)
		}
		now = now.Add(time.Second)
		bare, err := s.RecordMatches(ctx, "http://bare.test", []Evidence{match("c1", "s1")}, nil)
		if err != nil {
			t.Fatal(err)
		}
		// The run goes on: its growth is folded into the event, which has
		// no delivery yet but is still within its hold.
		if _, err := s.RecordMatches(ctx, "http://bare.test", []Evidence{match("c3", "s3")}, nil); err != nil {
			t.Fatal(err)
		}
		if outs, err := s.Announce(ctx, nil); err != nil || len(outs) != 1 || outs[0].Event != bare.Event {
			t.Fatalf("growth of a held event without deliveries: %+v, %v; want it folded into %s", outs, err, bare.Event)
		}
		other, err := s.RecordMatches(ctx, "http://other.test", []Evidence{match("c2", "s2")}, []string{"log:x"})
		if err != nil {
			t.Fatal(err)
		}
		if n, err := s.AdoptEndpoints(ctx, []string{"webhook:a"}, time.Time{}); err != nil || n != 2 {
			t.Fatalf("adoption: %d, %v; want 2", n, err)
		}
		if n, err := s.AdoptEndpoints(ctx, []string{"webhook:a"}, time.Time{}); err != nil || n != 0 {
			t.Fatalf("second adoption: %d, %v; want 0", n, err)
		}
		ds, err := s.Deliveries(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, d := range ds {
			got[d.EventID+" "+d.Endpoint] = true
		}
		for _, want := range []string{bare.Event + " webhook:a", other.Event + " webhook:a", other.Event + " log:x"} {
			if !got[want] {
				t.Errorf("no delivery %s in %v", want, got)
			}
		}
		if got[before.Event+" webhook:a"] {
			t.Errorf("an event from before the endpoint was configured was adopted")
		}
		// Adopted deliveries are held as long as their events: the run's
		// end releases them, and the event carries both captures.
		if due, err := s.DueFor(ctx, []string{"webhook:a"}, 10); err != nil || len(due) != 0 {
			t.Fatalf("due before the run's end: %+v, %v; want none", due, err)
		}
		if err := s.ReleaseHeld(ctx); err != nil {
			t.Fatal(err)
		}
		due, err := s.DueFor(ctx, []string{"webhook:a"}, 10)
		if err != nil || len(due) != 2 {
			t.Fatalf("due after the run's end: %+v, %v; want 2", due, err)
		}
		for _, p := range due {
			if p.EventID == bare.Event && !strings.Contains(string(p.Payload), `"new_captures":["c1","c3"]`) {
				t.Errorf("the adopted event lacks the folded capture: %s", p.Payload)
			}
		}
		// Events older than the caller's bound are not adopted.
		late, err := s.RecordMatches(ctx, "http://late.test", []Evidence{match("c4", "s4")}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if n, err := s.AdoptEndpoints(ctx, []string{"webhook:a"}, now.Add(time.Minute)); err != nil || n != 0 {
			t.Fatalf("adoption past the bound: %d, %v; want 0 (%s is older)", n, err, late.Event)
		}
	})
}
