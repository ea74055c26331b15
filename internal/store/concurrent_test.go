package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leakwatch/leakwatch/internal/store/pgtest"
)

// Workers recording captures of one source at once, each through its own
// connection pool as separate processes would, update one incident: one
// "created" event, no capture lost, every later capture announced once.
func TestConcurrentRecordOneIncident(t *testing.T) {
	forEachBackend(t, func(t *testing.T, loc string) {
		ctx := context.Background()
		eps := []string{"webhook:a"}
		const workers, each = 4, 6
		stores := make([]*Store, workers)
		for i := range stores {
			stores[i] = openTest(t, loc)
		}
		var wg sync.WaitGroup
		errs := make(chan error, workers*each)
		created := make(chan string, workers*each)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					c := fmt.Sprintf("c%d-%d", w, i)
					out, err := stores[w].RecordMatches(ctx, "http://dump.test", []Evidence{match(c, c), match("shared", "s-shared")}, eps)
					if err != nil {
						errs <- err
						return
					}
					if out.Created {
						created <- out.Event
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		close(created)
		for err := range errs {
			t.Fatal(err)
		}
		if n := len(created); n != 1 {
			t.Fatalf("%d workers saw the incident created, want 1", n)
		}
		if _, err := stores[0].Announce(ctx, eps); err != nil {
			t.Fatal(err)
		}
		incs, err := stores[0].Incidents(ctx, "")
		if err != nil || len(incs) != 1 {
			t.Fatalf("incidents %d, %v", len(incs), err)
		}
		if got, want := len(incs[0].Captures), workers*each+1; got != want {
			t.Fatalf("%d captures, want %d", got, want)
		}
		ids, err := stores[0].EventIDs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) != incs[0].Version {
			t.Fatalf("%d events for incident version %d", len(ids), incs[0].Version)
		}
	})
}

func TestVisitRoundTrip(t *testing.T) {
	forEachBackend(t, func(t *testing.T, loc string) {
		ctx := context.Background()
		s := openTest(t, loc)
		run, err := s.BeginRun(ctx, "http://dump.test/")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SaveVisit(ctx, run, Visit{URL: "http://dump.test/", Status: "200", ETag: `"a"`, Links: []string{"http://dump.test/1.jpg"}}); err != nil {
			t.Fatal(err)
		}
		// A later visit without validators keeps the earlier ones.
		if err := s.SaveVisit(ctx, run, Visit{URL: "http://dump.test/", Status: "304"}); err != nil {
			t.Fatal(err)
		}
		v, ok, err := s.Visit(ctx, "http://dump.test/")
		if err != nil || !ok || v.Status != "304" || v.ETag != `"a"` || len(v.Links) != 1 {
			t.Fatalf("visit %+v %v %v", v, ok, err)
		}
		if err := s.FinishRun(ctx, run, "ok", "{}"); err != nil {
			t.Fatal(err)
		}
	})
}

// A due delivery is handed to one claimer at a time on PostgreSQL; on
// SQLite, whose run lock keeps senders apart, claiming is DueFor.
func TestClaimDueLeases(t *testing.T) {
	forEachBackend(t, func(t *testing.T, loc string) {
		ctx := context.Background()
		a, b := openTest(t, loc), openTest(t, loc)
		eps := []string{"webhook:a"}
		out, err := a.RecordMatches(ctx, "http://dump.test", []Evidence{match("c1", "s1")}, eps)
		if err != nil {
			t.Fatal(err)
		}
		first, err := a.ClaimDue(ctx, eps, 10, time.Minute)
		if err != nil || len(first) != 1 || first[0].EventID != out.Event || len(first[0].Payload) == 0 {
			t.Fatalf("first claim %+v, %v", first, err)
		}
		second, err := b.ClaimDue(ctx, eps, 10, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[bool]int{true: 0, false: 1}[a.Postgres()]; len(second) != want {
			t.Fatalf("second claimer got %d, want %d", len(second), want)
		}
		// After the lease the delivery is due again (its holder died).
		later, err := Open(ctx, loc, WithClock(func() time.Time { return time.Now().Add(2 * time.Minute) }))
		if err != nil {
			t.Fatal(err)
		}
		defer later.Close()
		if again, err := later.ClaimDue(ctx, eps, 10, time.Minute); err != nil || len(again) != 1 {
			t.Fatalf("after the lease: %+v, %v", again, err)
		}
	})
}

// Releasing held deliveries (a run has ended) makes the held ones due
// and leaves alone one another worker has claimed and is sending: on
// PostgreSQL nobody else can claim it until its lease ends.
func TestReleaseHeldSkipsClaimed(t *testing.T) {
	forEachBackend(t, func(t *testing.T, loc string) {
		ctx := context.Background()
		open := func() *Store {
			s, err := Open(ctx, loc, WithAlertHold(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}
		a, b := open(), open()
		eps := []string{"webhook:a"}
		if _, err := a.RecordMatches(ctx, "http://dump.test", []Evidence{match("c1", "s1")}, eps); err != nil {
			t.Fatal(err)
		}
		if held, err := a.ClaimDue(ctx, eps, 10, time.Minute); err != nil || len(held) != 0 {
			t.Fatalf("a held delivery was due: %+v, %v", held, err)
		}
		if err := a.ReleaseHeld(ctx); err != nil {
			t.Fatal(err)
		}
		first, err := a.ClaimDue(ctx, eps, 10, time.Minute)
		if err != nil || len(first) != 1 {
			t.Fatalf("released delivery: %+v, %v", first, err)
		}
		// Another worker finishes its run while a's attempt is in flight.
		if err := b.ReleaseHeld(ctx); err != nil {
			t.Fatal(err)
		}
		second, err := b.ClaimDue(ctx, eps, 10, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[bool]int{true: 0, false: 1}[a.Postgres()]; len(second) != want {
			t.Fatalf("after a second release, another claimer got %d deliveries, want %d", len(second), want)
		}
	})
}

// An event whose hold ran out and that a worker has claimed is being
// sent: captures found after that go into a new event, never into the
// payload on its way out (which would mark them announced unsent).
func TestClaimedEventIsNotFolded(t *testing.T) {
	forEachBackend(t, func(t *testing.T, loc string) {
		ctx := context.Background()
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		s, err := Open(ctx, loc, WithAlertHold(time.Minute), WithClock(func() time.Time { return now }))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		eps := []string{"webhook:a"}
		first, err := s.RecordMatches(ctx, "http://dump.test", []Evidence{match("c1", "s1")}, eps)
		if err != nil {
			t.Fatal(err)
		}
		now = now.Add(2 * time.Minute) // the hold has run out
		claimed, err := s.ClaimDue(ctx, eps, 10, 10*time.Minute)
		if err != nil || len(claimed) != 1 || claimed[0].EventID != first.Event {
			t.Fatalf("claim: %+v, %v; want %s", claimed, err, first.Event)
		}
		if _, err := s.RecordMatches(ctx, "http://dump.test", []Evidence{match("c2", "s2")}, eps); err != nil {
			t.Fatal(err)
		}
		outs, err := s.Announce(ctx, eps)
		if err != nil || len(outs) != 1 {
			t.Fatalf("announce: %+v, %v", outs, err)
		}
		if outs[0].Event == first.Event {
			t.Fatalf("c2 was folded into %s, which a worker is sending", first.Event)
		}
		evs, err := s.Events(ctx, first.IncidentID)
		if err != nil || len(evs) != 2 || !slices.Equal(evs[0].NewCaptures, []string{"c1"}) || !slices.Equal(evs[1].NewCaptures, []string{"c2"}) {
			t.Fatalf("events: %+v, %v; want c1 then c2", evs, err)
		}
	})
}

// A role that may only read the tables is told which it cannot write.
func TestPrivilegesPostgres(t *testing.T) {
	srv := pgtest.Start(t)
	loc := srv.CreateDB(t)
	s := openTest(t, loc)
	if miss, err := s.MissingPrivileges(context.Background()); err != nil || len(miss) != 0 {
		t.Fatalf("the owner misses privileges %v, %v", miss, err)
	}
	db := pgtest.Name(loc)
	srv.Exec(t, db, `CREATE ROLE reader LOGIN; GRANT SELECT ON ALL TABLES IN SCHEMA public TO reader`)
	r := openTest(t, strings.Replace(loc, "leakwatch@", "reader@", 1))
	miss, err := r.MissingPrivileges(context.Background())
	if err != nil || len(miss) < 8 || !slices.Contains(miss, "incidents") {
		t.Fatalf("reader misses %v, %v", miss, err)
	}
}
