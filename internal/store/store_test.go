package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func openTest(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func match(capture, sha string) Evidence {
	return Evidence{CaptureID: capture, Kind: "face", URL: "http://dump.test/" + sha + ".jpg", Page: "http://dump.test/", SHA256: sha, Algorithm: "pdq", Distance: 4, Quality: 90, Variant: "original"}
}

func TestIncidentLifecycleAndOutbox(t *testing.T) {
	forEachBackend(t, func(t *testing.T, loc string) {
		ctx := context.Background()
		path := loc
		s := openTest(t, path)
		eps := []string{"webhook:a", "webhook:b"}

		announce := func() []Outcome {
			outs, err := s.Announce(ctx, eps)
			if err != nil {
				t.Fatal(err)
			}
			return outs
		}
		steps := []struct {
			name        string
			before      func()
			matches     []Evidence
			wantCreated bool
			wantNew     []string
			wantEvent   bool // written at once by RecordMatches
			wantUpdate  bool // written by the following Announce
		}{
			{"first sighting", nil, []Evidence{match("c1", "s1"), match("c2", "s2")}, true, []string{"c1", "c2"}, true, false},
			{"same again", nil, []Evidence{match("c1", "s1")}, false, nil, false, false},
			{"same capture, new copy", nil, []Evidence{match("c1", "s9")}, false, nil, false, false},
			{"grows", nil, []Evidence{match("c3", "s3")}, false, []string{"c3"}, false, true},
			{"acknowledged and grows", func() { mustStatus(t, s, StatusAcknowledged) }, []Evidence{match("c4", "s4")}, false, []string{"c4"}, false, true},
			{"resolved, a known copy still online", func() { mustStatus(t, s, StatusResolved) }, []Evidence{match("c1", "s1")}, false, nil, false, false},
			{"resolved, the same again", nil, []Evidence{match("c1", "s1"), match("c2", "s2")}, false, nil, false, false},
			{"resolved, a new file re-appears", nil, []Evidence{match("c1", "s8")}, false, nil, true, false},
		}
		var events []string
		for _, st := range steps {
			if st.before != nil {
				st.before()
			}
			out, err := s.RecordMatches(ctx, "http://dump.test", st.matches, eps)
			if err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			if out.Created != st.wantCreated || len(out.NewCaptures) != len(st.wantNew) {
				t.Fatalf("%s: outcome %+v", st.name, out)
			}
			if (out.Event != "") != st.wantEvent {
				t.Fatalf("%s: event %q, want one: %v", st.name, out.Event, st.wantEvent)
			}
			if out.Event != "" {
				events = append(events, out.Event)
			}
			outs := announce()
			if (len(outs) == 1) != st.wantUpdate || len(outs) > 1 {
				t.Fatalf("%s: announce %+v, want update: %v", st.name, outs, st.wantUpdate)
			}
			for _, o := range outs {
				events = append(events, o.Event)
			}
		}
		// Growth batched over several recordings yields one update.
		for _, c := range []string{"c5", "c6", "c7"} {
			if _, err := s.RecordMatches(ctx, "http://dump.test", []Evidence{match(c, c)}, eps); err != nil {
				t.Fatal(err)
			}
		}
		outs := announce()
		if len(outs) != 1 || len(outs[0].NewCaptures) != 3 {
			t.Fatalf("batched announce %+v", outs)
		}
		events = append(events, outs[0].Event)
		inc, err := s.Incident(ctx, IncidentID("http://dump.test")[:10])
		if err != nil {
			t.Fatal(err)
		}
		if len(inc.Captures) != 7 || inc.Status != StatusNew || inc.Version != len(events) {
			t.Fatalf("incident %+v", inc)
		}
		due, err := s.DueFor(ctx, eps, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(due) != len(events)*len(eps) {
			t.Fatalf("%d deliveries due, want %d", len(due), len(events)*len(eps))
		}
		seen := map[string]bool{}
		for _, e := range events {
			if seen[e] {
				t.Fatalf("event id %s reused", e)
			}
			seen[e] = true
		}
		// Deliver one, fail one permanently, retry one later: reopen and check
		// that the state survived.
		if err := s.MarkDelivered(ctx, due[0].EventID, due[0].Endpoint); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkAttempt(ctx, due[1].EventID, due[1].Endpoint, errors.New("410"), time.Time{}); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkAttempt(ctx, due[2].EventID, due[2].Endpoint, errors.New("503"), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		s.Close()
		s2 := openTest(t, path)
		due2, _ := s2.DueFor(ctx, eps, 100)
		if len(due2) != len(due)-3 {
			t.Fatalf("after reopen %d due, want %d", len(due2), len(due)-3)
		}
		counts, _ := s2.DeliveryCounts(ctx)
		if counts[DeliveryDelivered] != 1 || counts[DeliveryFailed] != 1 {
			t.Fatalf("counts %v", counts)
		}
	})
}

func mustStatus(t *testing.T, s *Store, st string) {
	t.Helper()
	if _, err := s.SetStatus(context.Background(), IncidentID("http://dump.test"), st); err != nil {
		t.Fatal(err)
	}
}

func TestSchemaTooNewRefused(t *testing.T) {
	forEachBackend(t, func(t *testing.T, loc string) {
		path := loc
		s := openTest(t, path)
		if _, err := s.db.Exec(`INSERT INTO schema_migrations(version, applied_at) VALUES (999, 'x')`); err != nil {
			t.Fatal(err)
		}
		s.Close()
		if _, err := Open(context.Background(), path); !errors.Is(err, ErrSchemaTooNew) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestSeenAssetCache(t *testing.T) {
	forEachBackend(t, func(t *testing.T, loc string) {
		ctx := context.Background()
		s := openTest(t, loc)
		if _, _, ok, _ := s.SeenAsset(ctx, "abc"); ok {
			t.Fatal("empty cache hit")
		}
		if err := s.RecordAsset(ctx, "abc", []byte{1, 2}, ""); err != nil {
			t.Fatal(err)
		}
		fp, msg, ok, err := s.SeenAsset(ctx, "abc")
		if err != nil || !ok || msg != "" || len(fp) != 2 {
			t.Fatalf("got %v %q %v %v", fp, msg, ok, err)
		}
	})
}

// Several processes (here: connections) opening a new store at once must
// not race on the migrations.
func TestConcurrentOpenMigratesOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, loc string) {
		path := loc
		errs := make(chan error, 6)
		for i := 0; i < 6; i++ {
			go func() {
				s, err := Open(context.Background(), path)
				if err == nil {
					s.Close()
				}
				errs <- err
			}()
		}
		for i := 0; i < 6; i++ {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		s := openTest(t, path)
		if v, _ := s.SchemaVersion(context.Background()); v != len(migrations) {
			t.Fatalf("schema version %d, want %d", v, len(migrations))
		}
	})
}
