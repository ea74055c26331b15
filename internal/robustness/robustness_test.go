package robustness

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/leakwatch/leakwatch/fingerprint"
)

// knownGaps are transforms whose target the policy does not reach, with
// the reason; BENCHMARKS.md reports their numbers. None at present.
var knownGaps = map[string]string{}

// TestHeldOutSeed runs a small suite on the held-out seed and checks the
// recall targets, grouped by target so that a handful of queries per
// transform still gives a meaningful bound, and that nothing unrelated
// matches.
func TestHeldOutSeed(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and hashes a few hundred images")
	}
	rep, err := Run(context.Background(), Options{Seed: HeldOutSeed, N: 1, HardNegatives: 2, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	type group struct{ queries, matched int }
	groups := map[float64]*group{}
	for _, r := range rep.Rows {
		if r.Wrong > 0 {
			t.Errorf("%s: %d queries matched another capture", r.Transform, r.Wrong)
		}
		if why, gap := knownGaps[r.Transform]; gap {
			t.Logf("%s: recall %.0f%% (known gap: %s)", r.Transform, 100*r.Recall, why)
			continue
		}
		if r.Target == 0 {
			continue
		}
		g := groups[r.Target]
		if g == nil {
			g = &group{}
			groups[r.Target] = g
		}
		g.queries += r.Queries
		g.matched += r.Matched
		if r.Matched < r.Queries {
			t.Logf("%s missed %v", r.Transform, r.Missed)
		}
	}
	for target, g := range groups {
		if recall := float64(g.matched) / float64(g.queries); recall < target {
			t.Errorf("transforms with target %.0f%%: recall %.1f%% (%d/%d)", 100*target, 100*recall, g.matched, g.queries)
		}
	}
	n := rep.Negatives
	if n.FalseMatches != 0 {
		t.Errorf("%d false matches: %v", n.FalseMatches, n.Examples)
	}
	if n.HardNegatives == 0 || n.Unhashable == 0 {
		t.Errorf("negatives %+v: want hard negatives and unhashable near-flat scenes", n)
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
