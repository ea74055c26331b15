package feature

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The adaptive tolerance rewards inliers that lie close to their model
// and costs at most the number of counts that could be tried when they
// lie at the fixed tolerance's edge; fewer or looser inliers are never
// more significant than more or tighter ones.
func TestAdaptiveToleranceRewardsPreciseInliers(t *testing.T) {
	o := VerifyOptions{Tests: 2e7, QueryW: 600, QueryH: 600, CaptureW: 512, CaptureH: 384}
	m := Similarity{Scale: 2}
	tol := posTol * m.Scale * math.Hypot(o.CaptureW, o.CaptureH)
	fixed := func(n, k int) float64 {
		pPos := math.Pi * tol * tol / (o.QueryW * o.QueryH)
		p := pPos * (2 * angleTol / (2 * math.Pi)) * (2 * scaleTol / scaleRange)
		return math.Log10(o.Tests) + math.Log10(float64(n*(n-1)/2)) + logBinomTail(n-2, k-2, p)
	}
	fill := func(k int, r float64) []float64 {
		res := make([]float64, k)
		for i := range res {
			res[i] = r
		}
		return res
	}
	const n = 40
	for _, k := range []int{4, 7, 12} {
		edge := logNFA(n, fill(k, tol), m, o)
		if want := fixed(n, k) + math.Log10(n-2); math.Abs(edge-want) > 1e-9 {
			t.Errorf("k=%d at the fixed tolerance: log NFA %.3f, want %.3f", k, edge, want)
		}
		tight := logNFA(n, fill(k, 0.2*tol), m, o)
		if tight >= edge-float64(k-2) {
			t.Errorf("k=%d within a fifth of the tolerance: log NFA %.2f, not clearly below %.2f", k, tight, edge)
		}
		floor := logNFA(n, fill(k, 0), m, o)
		if floor != logNFA(n, fill(k, minTolShare*tol), m, o) {
			t.Errorf("k=%d: residuals below the floor count as less than the floor", k)
		}
		if more := logNFA(n, fill(k+1, 0.2*tol), m, o); more >= tight {
			t.Errorf("k=%d: one more inlier gave log NFA %.2f, not below %.2f", k, more, tight)
		}
		mixed := append(fill(k, 0.2*tol), fill(3, tol)...)
		if got := logNFA(n, mixed, m, o); got > tight+1e-9 {
			t.Errorf("k=%d: three loose inliers more made the model less significant than the tight ones alone (%.2f, %.2f)", k, got, tight)
		}
	}
	if got := logNFA(n, fill(2, 0), m, o); got != math.Log10(o.Tests)+math.Log10(n*(n-1)/2) {
		t.Errorf("two inliers: log NFA %.2f, want the tests and hypotheses alone", got)
	}
}

// The residuals each inlier has against the similarity fitted to the
// others, computed from sums, are those of refitting without it.
func TestSimilarityResidualsOutMatchesRefits(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, mir := range []bool{false, true} {
		var cs []Corr
		var in []int
		m := Similarity{Scale: 1.3, Theta: 0.7, TX: 40, TY: -5, Mirrored: mir}
		for i := range 12 {
			x, y := 500*r.Float64(), 300*r.Float64()
			qx, qy := m.Apply(x, y)
			cs = append(cs, Corr{E: Point{X: float32(x), Y: float32(y)}, Q: Point{X: float32(qx + 3*r.NormFloat64()), Y: float32(qy + 3*r.NormFloat64())}})
			in = append(in, i)
		}
		fast := similarityResidualsOut(cs, in, mir)
		slow := residualsOut(cs, in, func(idx []int) (func(x, y float64) (float64, float64, bool), bool) {
			f, ok := fitSimilarity(cs, idx, mir)
			return func(x, y float64) (float64, float64, bool) { a, b := f.Apply(x, y); return a, b, true }, ok
		})
		for i := range fast {
			if math.Abs(fast[i]-slow[i]) > 1e-6 || fast[i] == 0 {
				t.Errorf("mirrored %v, inlier %d: %v from sums, %v refitted", mir, i, fast[i], slow[i])
			}
		}
	}
}
