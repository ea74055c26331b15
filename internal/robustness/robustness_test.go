package robustness

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/leakwatch/leakwatch/fingerprint"
)

// TestFamilies runs every edit family on two kinds of capture and checks
// that they are wired up: about a third held out, no query matching
// another capture, no false match. Recall is only logged: the families'
// targets are for the local-feature matcher; `leakwatch robustness`
// measures them.
func TestFamilies(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and hashes a hundred images")
	}
	rep, err := Run(context.Background(), Options{Seed: HeldOutSeed, N: 1, Workers: 2, Families: true,
		Kinds: []string{"plate", "photo"}, Only: []string{"rotation", "mirror", "perspective", "crop", "overlay",
			"text", "tone", "screen", "layout", "combo", "aspect"}})
	if err != nil {
		t.Fatal(err)
	}
	var heldout int
	groups := map[string]bool{}
	for _, r := range rep.Rows {
		if r.Group == "" || r.Queries != 2 {
			t.Errorf("row %+v: want a family queried on two captures", r)
		}
		groups[r.Group] = true
		if r.Heldout {
			heldout++
		}
		if r.Wrong > 0 {
			t.Errorf("%s: %d queries matched another capture", r.Transform, r.Wrong)
		}
		t.Logf("%s/%s: %d/%d", r.Group, r.Transform, r.Matched, r.Queries)
	}
	if n := len(rep.Rows); n < 30 || len(groups) != 11 || heldout < n/4 || heldout > n/2 {
		t.Errorf("%d edit families in %d groups, %d held out: want 11 groups and about a third held out", n, len(groups), heldout)
	}
	if n := rep.Negatives; n.FalseMatches != 0 {
		t.Errorf("%d false matches: %v", n.FalseMatches, n.Examples)
	}
	if _, err := Run(context.Background(), Options{N: 1, Kinds: []string{"cat"}}); err == nil {
		t.Error("unknown capture kind accepted")
	}
	if _, err := Run(context.Background(), Options{N: 1, Only: []string{"nothing"}}); err == nil {
		t.Error("a selection of no transform accepted")
	}
}

// knownGaps are transforms whose floor the policy does not reach, with
// the reason; BENCHMARKS.md reports their numbers. None at present.
var knownGaps = map[string]string{}

// TestHeldOutSeed runs a small suite on the held-out seed and checks the
// floors (the earlier targets, which the matcher meets), grouped by floor
// so that a handful of queries per transform still gives a meaningful
// bound, and that nothing unrelated matches. The recall targets (Row.
// Target: 99% on the earlier suite, 95% on every edit family) are not
// met yet; rows below them are logged.
func TestHeldOutSeed(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and hashes a few hundred images")
	}
	rep, err := Run(context.Background(), Options{Seed: HeldOutSeed, N: 1, HardNegatives: 2, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	// Every capture has its whole-image hash, and no more than every
	// region can be skipped.
	if b := rep.BankStats; b.LowQualityRegions < 0 || b.LowQualityRegions > rep.Captures*fingerprint.RegionCount*2 || b.HashesPerCapture < 1 {
		t.Errorf("bank stats %+v for %d captures", b, rep.Captures)
	}
	// The per-kind counts split the same queries, the earlier suite's
	// and the families' apart.
	var rows, kinds [2][2]int // [suite, families][queries, matched]
	for _, r := range rep.Rows {
		f := 0
		if r.Group != "" {
			f = 1
		}
		rows[f][0] += r.Queries
		rows[f][1] += r.Matched
	}
	for _, k := range rep.Kinds {
		kinds[0][0] += k.Queries
		kinds[0][1] += k.Matched
		kinds[1][0] += k.FamilyQueries
		kinds[1][1] += k.FamilyMatched
	}
	if len(rep.Kinds) == 0 || kinds != rows {
		t.Errorf("per-kind recall %+v counts %v (suite, families: queries, matched), the rows %v", rep.Kinds, kinds, rows)
	}
	// Only missed queries count as listed for review, and only queries
	// listing something do.
	for _, r := range rep.Rows {
		if r.Reviewed < 0 || r.Reviewed > len(r.Missed) {
			t.Errorf("%s: %d reviewed, %d missed", r.Transform, r.Reviewed, len(r.Missed))
		}
	}
	for _, g := range rep.Negatives.Groups {
		if g.Reviewed < 0 || g.Reviewed > g.Queries-g.Unhashable {
			t.Errorf("%s: %d of %d queries listed a review", g.Name, g.Reviewed, g.Queries)
		}
	}
	type group struct{ queries, matched int }
	groups := map[Target]*group{}
	for _, r := range rep.Rows {
		if r.Wrong > 0 {
			t.Errorf("%s: %d queries matched another capture", r.Transform, r.Wrong)
		}
		if r.Recall < r.Target {
			t.Logf("%s: recall %.0f%% (%d/%d), target %.0f%%; missed %v", r.Transform, 100*r.Recall, r.Matched, r.Queries, 100*r.Target, r.Missed)
		}
		if why, gap := knownGaps[r.Transform]; gap {
			t.Logf("%s: recall %.0f%% (known gap: %s)", r.Transform, 100*r.Recall, why)
			continue
		}
		floor := floors[r.Transform]
		if floor == 0 {
			continue
		}
		g := groups[floor]
		if g == nil {
			g = &group{}
			groups[floor] = g
		}
		g.queries += r.Queries
		g.matched += r.Matched
	}
	for floor, g := range groups {
		if recall := float64(g.matched) / float64(g.queries); recall < float64(floor) {
			t.Errorf("transforms with floor %.0f%%: recall %.1f%% (%d/%d)", 100*floor, 100*recall, g.matched, g.queries)
		}
	}
	n := rep.Negatives
	if n.FalseMatches != 0 {
		t.Errorf("%d false matches: %v", n.FalseMatches, n.Examples)
	}
	if n.HardNegatives == 0 || n.Unhashable == 0 {
		t.Errorf("negatives %+v: want hard negatives and unhashable near-flat scenes", n)
	}
	for _, g := range n.Groups {
		if g.Queries == 0 {
			t.Errorf("no %s negatives queried", g.Name)
		}
	}

	if rep.Estimate.PerQuery >= 1e-3 {
		t.Errorf("estimated false-match rate %.1e per query against %.0e captures", rep.Estimate.PerQuery, rep.Estimate.BankSize)
	}
}

func TestRunRejectsBadOptions(t *testing.T) {
	if _, err := Run(context.Background(), Options{}); err == nil {
		t.Error("N = 0 accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, Options{N: 1}); err == nil {
		t.Error("cancelled context ignored")
	}
}

// TestEstimateOnKnownNormals feeds histograms drawn from known normals and
// checks the tail fit and the mixture estimate against the exact values.
func TestEstimateOnKnownNormals(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	d := newDistances()
	draw := func(class string, mu, sd float64, n int) {
		for range n {
			v := int(math.Round(mu + sd*r.NormFloat64()))
			d.record(CompareWhole, class, min(max(v, 0), 256))
		}
	}
	draw("a/a", 128, 8, 200000)
	draw("b/b", 100, 12, 50000)
	d.pairs[CompareWhole] = 250000 / 8
	cs := d.summaries()
	c := cs[0]
	if c.Kind != CompareWhole || c.N != 250000 || math.Abs(c.PerPair-8) > 1e-9 {
		t.Fatalf("summary %+v", c)
	}
	e := estimate(cs, fingerprint.MatchOptions{PDQRadius: 60})
	c = cs[0]
	want := 0.8*normalCDF((60.5-128)/8) + 0.2*normalCDF((60.5-100)/12)
	if rel := math.Abs(c.PRadius-want) / want; rel > 0.3 {
		t.Errorf("mixture estimate %.3g, exact %.3g", c.PRadius, want)
	}
	if c.Worst != "b/b" {
		t.Errorf("worst pair %q, want b/b", c.Worst)
	}
	// The lower 20% is dominated by the wider, lower normal: the tail fit
	// must be at least as pessimistic as the mixture at the radius.
	if c.PTail < c.PRadius {
		t.Errorf("tail fit %.3g below the mixture %.3g", c.PTail, c.PRadius)
	}
	if math.Abs(e.PerCapture-8*c.PRadius) > 1e-15 {
		t.Errorf("per capture %.3g, want %.3g", e.PerCapture, 8*c.PRadius)
	}
	// Readings scale the estimate by the share they let through, once
	// there are enough of them.
	for _, tc := range []struct {
		read, passed int
		rate         float64
	}{{minReadN - 1, 0, 1}, {100, 9, 10.0 / 101}} {
		d.readN[CompareWhole], d.readPass[CompareWhole] = tc.read, tc.passed
		cs := d.summaries()
		e := estimate(cs, fingerprint.MatchOptions{PDQRadius: 60})
		if cs[0].PassRate != tc.rate || math.Abs(e.PerCapture-8*cs[0].PRadius*tc.rate) > 1e-15 {
			t.Errorf("%d read, %d passed: pass rate %v, per capture %.3g; want %v, %.3g", tc.read, tc.passed, cs[0].PassRate, e.PerCapture, tc.rate, 8*cs[0].PRadius*tc.rate)
		}
	}
}

// TestExpTailRecoversExponentialTail builds a histogram whose CDF falls by
// a decade every 10 distances and checks the extrapolation below the
// measured range.
func TestExpTailRecoversExponentialTail(t *testing.T) {
	const n = 10_000_000
	F := func(d float64) float64 { return math.Pow(10, -5+0.1*(d-50)) }
	var h [257]int
	prev := 0
	for d := 40; d <= 256; d++ {
		c := int(math.Round(n * math.Min(F(float64(d)+0.5), 1)))
		if d == 256 {
			c = n
		}
		h[d] = c - prev
		prev = c
	}
	got, ok := expTail(&h, n, 31)
	if !ok {
		t.Fatal("no fit")
	}
	if want := F(31.5); math.Abs(math.Log10(got/want)) > 0.1 {
		t.Errorf("extrapolated %.3g, want %.3g", got, want)
	}
	var small [257]int
	small[100] = 5
	if _, ok := expTail(&small, 5, 31); ok {
		t.Error("fit from a single distance")
	}
}

// TestReportListsSectionsAndNegativeGroups checks that the table keeps
// the earlier suite, the tuned families and the held-out families apart
// and counts false matches per group of unrelated queries.
func TestReportListsSectionsAndNegativeGroups(t *testing.T) {
	rep := Report{
		Rows: []Row{
			{Transform: "jpeg30", Target: 0.99, Queries: 4, Matched: 4, Recall: 1},
			{Transform: "rotkeep3-15", Group: "rotation", Target: 0.95, Queries: 4, Matched: 1, Recall: 0.25},
			{Transform: "screenphoto", Group: "screen", Heldout: true, Target: 0.95, Queries: 4, Matched: 2, Recall: 0.5, Reviewed: 1, ReviewedOther: 3},
		},
		Kinds: []KindRecall{{Kind: "texture", Queries: 4, Matched: 4, FamilyQueries: 8, FamilyMatched: 3}},
		Negatives: Negatives{Queries: 9, HardNegatives: 4, FalseMatches: 1, Groups: []NegativeGroup{
			{Name: NegUnrelated, Queries: 5}, {Name: NegSameSubject, Queries: 2},
			{Name: NegSameTemplate, Queries: 2, MatchedQueries: 1, FalseMatches: 1}}},
	}
	var b strings.Builder
	if err := rep.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"earlier suite: 1 transforms, 100.0% found (4/4)",
		"edit families, tuned on: 1 transforms, 25.0% found (1/4)",
		"edit families, held out of tuning: 1 transforms, 50.0% found (2/4)",
		"| rotation: rotkeep3-15 | 95%    | 25.0% ✗ | 1/4",
		"| 1                  | 3                          |",
		"| same camera template | 2       | 0          | 1               | 1             |",
		"| texture      | 100.0% (4/4)  | 37.5% (3/8)   | 5                      |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if strings.Index(out, "rotkeep3-15") > strings.Index(out, "screenphoto") {
		t.Error("held-out family listed before a tuned one")
	}
}

func TestReviewsOwnAndOther(t *testing.T) {
	m := func(ids ...string) []fingerprint.Match {
		var out []fingerprint.Match
		for _, id := range ids {
			out = append(out, fingerprint.Match{CaptureID: id})
		}
		return out
	}
	for _, tc := range []struct {
		name       string
		review     []fingerprint.Match
		own, other bool
	}{
		{"none", nil, false, false},
		{"own", m("a"), true, false},
		{"other", m("b"), false, true},
		{"both", m("b", "a"), true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			own, other := reviews("a", tc.review)
			if own != tc.own || other != tc.other {
				t.Errorf("reviews(a, %v) = %v, %v; want %v, %v", tc.review, own, other, tc.own, tc.other)
			}
		})
	}
}

// TestLookalikeVehiclesNotConfused: generated vehicles of one body model
// at slightly different scales. A turned or keystoned copy of one also
// finds another through the features of the shared model (13 inliers,
// just over the share rule); the two are rivals over the same part of the
// query, and the look-alike reads clearly worse. The copy must find its
// own capture and no other.
func TestLookalikeVehiclesNotConfused(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and hashes a few dozen images")
	}
	for _, tc := range []struct {
		seed      uint64
		transform string
	}{{1, "rotkeep3-15"}, {2, "keystone"}} {
		t.Run(tc.transform, func(t *testing.T) {
			rep, err := Run(context.Background(), Options{Seed: tc.seed, N: 4, Kinds: []string{"vehicle"}, Only: []string{tc.transform}, Extras: true, Families: true, Workers: 2})
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Rows) != 1 {
				t.Fatalf("rows %+v", rep.Rows)
			}
			r := rep.Rows[0]
			if r.Wrong > 0 || r.Matched != r.Queries {
				t.Errorf("%s, seed %d: %d/%d found, confused %v", r.Transform, tc.seed, r.Matched, r.Queries, r.Confused)
			}
		})
	}
}
