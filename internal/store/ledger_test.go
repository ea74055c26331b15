package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/leakwatch/leakwatch/internal/attribution"
)

func caps(prefix string, lo, hi int) []string {
	var out []string
	for i := lo; i < hi; i++ {
		out = append(out, fmt.Sprintf("%s-%05d", prefix, i))
	}
	return out
}

func mustAdd(t *testing.T, s *Store, ts ...Transfer) []bool {
	t.Helper()
	added, err := s.AddTransfers(context.Background(), ts)
	if err != nil {
		t.Fatal(err)
	}
	return added
}

func holds(t *testing.T, s *Store) map[string]int {
	t.Helper()
	rs, err := s.Recipients(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]int{}
	for _, r := range rs {
		m[r.Name] = r.Holds
	}
	return m
}

func universe(t *testing.T, s *Store) int {
	t.Helper()
	var n int
	if err := s.db.QueryRow(`SELECT captures FROM ledger_totals`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestLedgerAddIdempotentConflictRevoke(t *testing.T) {
	forEachBackend(t, func(t *testing.T, loc string) {
		ctx := context.Background()
		s := openTest(t, loc)
		a := Transfer{ID: "T1", Recipient: "Acme", Date: "2026-01-02", Note: "contract 7", Captures: caps("c", 0, 10)}
		b := Transfer{ID: "T2", Recipient: "Bolt", Date: "2026-01-03", Captures: caps("c", 5, 15)}
		if got := mustAdd(t, s, a, b); !slices.Equal(got, []bool{true, true}) {
			t.Fatalf("added %v", got)
		}
		// The same transfer again, captures in another order and repeated:
		// nothing changes.
		again := a
		again.Captures = append(slices.Clone(a.Captures), a.Captures[0])
		slices.Reverse(again.Captures)
		if got := mustAdd(t, s, again); got[0] {
			t.Fatal("identical transfer added twice")
		}
		if h, u := holds(t, s), universe(t, s); h["Acme"] != 10 || h["Bolt"] != 10 || u != 15 {
			t.Fatalf("holds %v, universe %d", h, u)
		}
		// The same ID with other contents is refused, whole call rolled back.
		changed := a
		changed.Captures = caps("c", 0, 11)
		c := Transfer{ID: "T3", Recipient: "Core", Date: "2026-01-04", Captures: caps("c", 100, 105)}
		if _, err := s.AddTransfers(ctx, []Transfer{c, changed}); !errors.Is(err, ErrConflict) {
			t.Fatalf("changed transfer: %v, want ErrConflict", err)
		}
		if ts, _ := s.Transfers(ctx, "Core"); len(ts) != 0 {
			t.Fatalf("rolled-back transfer recorded: %+v", ts)
		}
		// A second transfer of some of the same captures to Acme, then
		// revoking the first: Acme keeps what the second gave.
		mustAdd(t, s, Transfer{ID: "T4", Recipient: "Acme", Date: "2026-02-01", Captures: caps("c", 8, 12)})
		if h, u := holds(t, s), universe(t, s); h["Acme"] != 12 || u != 15 {
			t.Fatalf("after T4: holds %v, universe %d", h, u)
		}
		if err := s.RevokeTransfer(ctx, "T1", "wrong recipient"); err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeTransfer(ctx, "T1", "again"); !errors.Is(err, ErrRevoked) {
			t.Fatalf("second revoke: %v", err)
		}
		if err := s.RevokeTransfer(ctx, "nope", "x"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown revoke: %v", err)
		}
		// c-00000..04 were only Acme's through T1: gone from the universe.
		if h, u := holds(t, s), universe(t, s); h["Acme"] != 4 || h["Bolt"] != 10 || u != 10 {
			t.Fatalf("after revoke: holds %v, universe %d", h, u)
		}
		// History: the revoked transfer is still listed with its captures.
		ts, err := s.Transfers(ctx, "Acme")
		if err != nil {
			t.Fatal(err)
		}
		if len(ts) != 2 || ts[0].ID != "T1" || ts[0].Revoked == nil || ts[0].Revoked.Reason != "wrong recipient" || ts[0].Count != 10 || ts[0].Note != "contract 7" {
			t.Fatalf("history %+v", ts)
		}
		if got, _ := s.TransferCaptures(ctx, "T1"); !slices.Equal(got, caps("c", 0, 10)) {
			t.Fatalf("T1 captures %v", got)
		}
		// A revoked ID cannot be reused with other contents either.
		if _, err := s.AddTransfers(ctx, []Transfer{changed}); !errors.Is(err, ErrConflict) {
			t.Fatalf("reuse of revoked ID: %v", err)
		}
	})
}

func TestLedgerCanaryExclusive(t *testing.T) {
	forEachBackend(t, func(t *testing.T, loc string) {
		ctx := context.Background()
		s := openTest(t, loc)
		mustAdd(t, s, Transfer{ID: "K1", Recipient: "Acme", Date: "2026-01-02", Canary: true, Captures: []string{"k1", "k2"}})
		for _, tr := range []Transfer{
			{ID: "X1", Recipient: "Bolt", Date: "2026-01-02", Captures: []string{"c1", "k2"}},
			{ID: "K2", Recipient: "Bolt", Date: "2026-01-02", Canary: true, Captures: []string{"k1"}},
		} {
			if _, err := s.AddTransfers(ctx, []Transfer{tr}); !errors.Is(err, ErrConflict) {
				t.Errorf("%s: %v, want ErrConflict", tr.ID, err)
			}
		}
		mustAdd(t, s, Transfer{ID: "X2", Recipient: "Bolt", Date: "2026-01-02", Captures: []string{"c1"}})
		if _, err := s.AddTransfers(ctx, []Transfer{{ID: "K3", Recipient: "Acme", Date: "2026-01-02", Canary: true, Captures: []string{"c1"}}}); !errors.Is(err, ErrConflict) {
			t.Errorf("canary of a capture Bolt holds: %v", err)
		}
		rs, _ := s.Recipients(ctx)
		if len(rs) != 2 || rs[0].Name != "Acme" || rs[0].Canaries != 2 || rs[0].Holds != 2 {
			t.Errorf("recipients %+v", rs)
		}
	})
}

func TestIncidentAttributionAndCanaries(t *testing.T) {
	forEachBackend(t, func(t *testing.T, loc string) {
		ctx := context.Background()
		s := openTest(t, loc)
		if _, err := s.RecordMatches(ctx, "http://dump.test", []Evidence{match("c-00001", "s1"), match("k1", "s2")}, nil); err != nil {
			t.Fatal(err)
		}
		inc, err := s.Incident(ctx, IncidentID("http://dump.test"))
		if err != nil {
			t.Fatal(err)
		}
		if inc.Attribution != nil || inc.Canaries != nil || len(inc.Affected()) != 2 {
			t.Fatalf("empty ledger: attribution %+v canaries %v", inc.Attribution, inc.Canaries)
		}
		mustAdd(t, s,
			Transfer{ID: "T1", Recipient: "Acme", Date: "2026-01-02", Captures: caps("c", 0, 50)},
			Transfer{ID: "K1", Recipient: "Bolt", Date: "2026-01-02", Canary: true, Captures: []string{"k1"}})
		inc, err = s.Incident(ctx, "inc_")
		if err != nil {
			t.Fatal(err)
		}
		if a := inc.Attribution; a == nil || a.Verdict != attribution.VerdictCanary || !slices.Equal(a.Named, []string{"Bolt"}) {
			t.Fatalf("attribution %+v", inc.Attribution)
		}
		if !slices.Equal(inc.Canaries, []string{"k1"}) {
			t.Fatalf("canaries %v", inc.Canaries)
		}
		// The export for notifying people leaves the canary out.
		if aff := inc.Affected(); len(aff) != 1 || aff[0].CaptureID != "c-00001" {
			t.Fatalf("affected %+v", aff)
		}
		// The webhook payload carries the attribution.
		if _, err := s.RecordMatches(ctx, "http://other.test", []Evidence{match("c-00002", "s3")}, []string{"webhook:a"}); err != nil {
			t.Fatal(err)
		}
		due, err := s.DueFor(ctx, []string{"webhook:a"}, 10)
		if err != nil || len(due) != 1 {
			t.Fatalf("due %v, %v", due, err)
		}
		var ev EventData
		if err := json.Unmarshal(due[0].Payload, &ev); err != nil {
			t.Fatal(err)
		}
		if a := ev.Incident.Attribution; a == nil || a.Verdict != attribution.VerdictInconclusive || a.Recipients[0].Recipient != "Acme" {
			t.Fatalf("payload attribution %+v", ev.Incident.Attribution)
		}
	})
}

func TestRunCaptures(t *testing.T) {
	forEachBackend(t, func(t *testing.T, loc string) {
		ctx := context.Background()
		s := openTest(t, loc)
		r1, _ := s.BeginRun(ctx, "x")
		if _, err := s.RecordMatches(ctx, "http://a.test", []Evidence{match("c1", "s1"), match("c2", "s2")}, nil); err != nil {
			t.Fatal(err)
		}
		_ = s.FinishRun(ctx, r1, "ok", "")
		r2, _ := s.BeginRun(ctx, "x")
		if _, err := s.RecordMatches(ctx, "http://b.test", []Evidence{match("c3", "s3"), match("c2", "s2b")}, nil); err != nil {
			t.Fatal(err)
		}
		_ = s.FinishRun(ctx, r2, "ok", "")
		id, got, err := s.RunCaptures(ctx, 0)
		if err != nil || id != r2 || !slices.Equal(got, []string{"c2", "c3"}) {
			t.Fatalf("latest run %d: %v %v", id, got, err)
		}
		if _, got, _ := s.RunCaptures(ctx, r1); !slices.Equal(got, []string{"c1", "c2"}) {
			t.Fatalf("run 1: %v", got)
		}
		// A dismissed incident's matches are false positives: not leaked.
		if _, err := s.Dismiss(ctx, IncidentID("http://b.test"), "look-alike"); err != nil {
			t.Fatal(err)
		}
		if _, got, _ := s.RunCaptures(ctx, 0); len(got) != 0 {
			t.Fatalf("latest run after dismissal: %v", got)
		}
	})
}

// benchLedger fills a store with recipients transfers totalling rows
// capture-recipient rows over a universe of captures, some captures given
// to several recipients.
func benchLedger(b *testing.B, rows int) (*Store, []string) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(b.TempDir(), "lw.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	const recipients = 50
	universe := rows * 2 / 3
	r := rand.New(rand.NewPCG(1, 2))
	var ts []Transfer
	per := rows / recipients
	for i := range recipients {
		// Each recipient gets a contiguous block and a random spread.
		start := r.IntN(universe - per)
		seen := map[int]bool{}
		cs := make([]string, 0, per)
		for j := 0; len(cs) < per; j++ {
			k := start + j
			if j >= per/2 {
				k = r.IntN(universe)
			}
			if !seen[k] {
				seen[k] = true
				cs = append(cs, fmt.Sprintf("cap-%07d", k))
			}
		}
		ts = append(ts, Transfer{ID: fmt.Sprintf("T%02d", i), Recipient: fmt.Sprintf("recipient-%02d", i), Date: "2026-01-01", Captures: cs})
	}
	if _, err := s.AddTransfers(ctx, ts); err != nil {
		b.Fatal(err)
	}
	// The leak: 1,000 captures, 900 sampled from recipient 7's transfer.
	leak := slices.Clone(ts[7].Captures)
	r.Shuffle(len(leak), func(i, j int) { leak[i], leak[j] = leak[j], leak[i] })
	leak = leak[:900]
	for len(leak) < 1000 {
		leak = append(leak, fmt.Sprintf("cap-%07d", r.IntN(universe)))
	}
	return s, leak
}

// BenchmarkAttribute1e6 attributes a leak of 1,000 captures against a
// ledger of 10^6 capture-recipient rows (50 recipients).
func BenchmarkAttribute1e6(b *testing.B) {
	s, leak := benchLedger(b, 1_000_000)
	ctx := context.Background()
	b.ResetTimer()
	var res *attribution.Result
	for b.Loop() {
		var err error
		if res, err = s.Attribute(ctx, leak); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if res.Verdict != attribution.VerdictAttributed || res.Named[0] != "recipient-07" {
		b.Fatalf("attribution: %s", res.Summary)
	}
}

// TestAttributeFourRecipients runs the scenario through the
// store: four recipients with overlapping transfers (some captures given
// to two or three), a canary each.
func TestAttributeFourRecipients(t *testing.T) {
	forEachBackend(t, func(t *testing.T, loc string) {
		ctx := context.Background()
		s := openTest(t, loc)
		blocks := map[string][2]int{"A": {0, 500}, "B": {300, 800}, "C": {450, 1050}, "D": {1200, 2000}}
		for rec, b := range blocks {
			mustAdd(t, s, Transfer{ID: "T-" + rec, Recipient: rec, Date: "2026-01-01", Captures: caps("c", b[0], b[1])},
				Transfer{ID: "K-" + rec, Recipient: rec, Date: "2026-01-01", Canary: true, Captures: []string{"k-" + rec}})
		}
		r := rand.New(rand.NewPCG(3, 4))
		pick := func(lo, hi, n int) []string {
			all := caps("c", lo, hi)
			r.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
			return all[:n]
		}
		cases := []struct {
			name    string
			leak    []string
			verdict string
			named   []string
		}{
			{"30 of B's", pick(300, 800, 30), attribution.VerdictAttributed, []string{"B"}},
			{"only A and B had them", pick(300, 450, 30), attribution.VerdictAmbiguous, []string{"A", "B"}},
			{"a canary of C among A's", append(pick(0, 300, 29), "k-C"), attribution.VerdictCanary, []string{"C"}},
			{"never disclosed", caps("c", 1050, 1080), attribution.VerdictNeverDisclosed, nil},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				res, err := s.Attribute(ctx, tc.leak)
				if err != nil {
					t.Fatal(err)
				}
				named := slices.Clone(res.Named)
				slices.Sort(named)
				if res.Verdict != tc.verdict || !slices.Equal(named, tc.named) {
					t.Fatalf("%s %v: %s", res.Verdict, res.Named, res.Summary)
				}
				if tc.verdict == attribution.VerdictAttributed && res.Recipients[1].Log10P-res.Recipients[0].Log10P < 3 {
					t.Errorf("runner-up %+v within 1,000x of %+v", res.Recipients[1], res.Recipients[0])
				}
			})
		}
	})
}

// A canary transfer recorded for a misspelt recipient and revoked leaves
// its canaries free to be recorded for the right one, and a leak of them
// then names that recipient.
func TestRevokedCanaryCanBeReissued(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, filepath.Join(t.TempDir(), "lw.db"))
	canaries := caps("k", 0, 3)
	mustAdd(t, s, Transfer{ID: "K1", Recipient: "Northgte", Date: "2026-01-02", Canary: true, Captures: canaries})
	if err := s.RevokeTransfer(ctx, "K1", "recipient misspelt"); err != nil {
		t.Fatal(err)
	}
	mustAdd(t, s, Transfer{ID: "K2", Recipient: "Northgate", Date: "2026-01-02", Canary: true, Captures: canaries})
	res, err := s.Attribute(ctx, canaries[:1])
	if err != nil {
		t.Fatal(err)
	}
	if res == nil || len(res.Canaries) != 1 || res.Canaries[0].Recipient != "Northgate" {
		t.Fatalf("attribution of a reissued canary: %+v", res)
	}
}
