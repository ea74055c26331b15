package fingerprint

import (
	"math"

	"github.com/leakwatch/leakwatch/fingerprint/feature"
	"github.com/leakwatch/leakwatch/fingerprint/pdq"
)

// Local invariant features (package feature) are the general route: a
// capture is found wherever enough of its features sit where one
// similarity (rotation, scale, shift, mirror) puts them, whatever else
// the copy went through.

// DefaultFeatures is the number of features enrolled per capture: each
// costs feature.FeatureBytes in the bank file (BENCHMARKS.md, "Bank size").
const DefaultFeatures = 64

// AlgoFeatures names a match made by the feature route.
const AlgoFeatures Algorithm = "features"

// ViaFeatures is Match.Via for the feature route.
const ViaFeatures = "features"

// grayOf area-samples the plane to at most maxSide on its longest side.
func (p *plane) grayOf(maxSide int) (*feature.Gray, float64) {
	s := 1.0
	if m := max(p.w, p.h); m > maxSide {
		s = float64(m) / float64(maxSide)
	}
	gw, gh := max(1, int(math.Round(float64(p.w)/s))), max(1, int(math.Round(float64(p.h)/s)))
	cells := make([]float32, gw*gh)
	p.sampleGrid(0, 0, float64(p.w), float64(p.h), gw, gh, cells)
	g := feature.NewGray(gw, gh)
	for i, v := range cells {
		g.Pix[i] = uint8(min(max(v, 0), 255) + 0.5)
	}
	return g, float64(p.w) / float64(gw)
}

// queryFeatures describes the query for the feature route.
type queryFeatures struct {
	q       *feature.Query
	toQuery float64 // grey pixels -> query pixels
}

// features describes the query for the feature route, once.
func (lq *localQuery) features() *queryFeatures {
	lq.featOnce.Do(func() {
		o := feature.QueryOptions()
		g, s := lq.p.grayOf(o.MaxSide)
		// s maps grey pixels to plane pixels; the plane may be smaller
		// than the query image (or than its source, when it was
		// decoded reduced).
		s *= float64(lq.imgW) / float64(lq.p.w)
		lq.feat = &queryFeatures{q: feature.ExtractQuery(g, o), toQuery: s}
	})
	return lq.feat
}

// enrollFeatures describes a capture: its n most distinctive, spread
// features on a grid of at most 512 pixels.
func enrollFeatures(p *plane, n int) feature.CaptureSet {
	if n <= 0 {
		return feature.CaptureSet{}
	}
	o := feature.EnrollOptions()
	g, _ := p.grayOf(o.MaxSide)
	kps := feature.Select(feature.Extract(g, o), n, g.W, g.H)
	return feature.Encode(kps, g.W, g.H)
}

// Features counts the enrolled local features.
func (b *Bank) Features() int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	n, _ := b.featureCounts()
	return n
}

// featureCounts counts the enrolled features and the captures that have
// any, from the index when it holds them. The caller holds b.mu.
func (b *Bank) featureCounts() (features, captures int) {
	if b.feat == nil && b.featIx != nil {
		for c := range b.featIx.Captures() {
			if k := b.featIx.SetLen(c); k > 0 {
				features += k
				captures++
			}
		}
		return features, captures
	}
	for _, c := range b.feat {
		features += len(c.Features)
		if len(c.Features) > 0 {
			captures++
		}
	}
	return features, captures
}

// featCaptures is the number of captures featSet answers for. The
// caller holds b.mu.
func (b *Bank) featCaptures() int {
	if b.feat == nil && b.featIx != nil {
		return b.featIx.Captures()
	}
	return len(b.feat)
}

// featSet is capture ci's features: the bank's, or a copy of the
// index's once it holds the only one. The caller holds b.mu.
func (b *Bank) featSet(ci int) feature.CaptureSet {
	if b.feat == nil && b.featIx != nil {
		return b.featIx.Set(ci)
	}
	return b.feat[ci]
}

// featSets is every capture's features: the bank's list, or, once the
// index is built and holds the only copy, a copy of the index's. The
// caller holds b.mu.
func (b *Bank) featSets() []feature.CaptureSet {
	if b.feat == nil && b.featIx != nil {
		return b.featIx.Sets()
	}
	return b.feat
}

func (b *Bank) featureIndex() *feature.Index {
	b.mu.RLock()
	ix := b.featIx
	b.mu.RUnlock()
	if ix != nil {
		return ix
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.featIx == nil {
		b.featIx = feature.NewIndex(b.feat)
		// The index holds the features in its own order; the bank keeps
		// no second copy (featSets).
		b.feat = nil
	}
	return b.featIx
}

// matchFeatures offers the captures the query's features match.
func (m *BankMatcher) matchFeatures(ix *feature.Index, q *queryFeatures, offer func(uint32, Match)) feature.SearchStats {
	hits, st := ix.Search(q.q, m.opts.Features)
	for _, h := range hits {
		offer(uint32(h.Capture), featureMatch(h.Verdict, q))
	}
	return st
}

// featureMatch describes a feature-route verdict as a Match (without the
// capture's ID and kind).
func featureMatch(v feature.Verdict, q *queryFeatures) Match {
	r := [4]int{
		int(math.Floor(max(v.Rect[0], 0) * q.toQuery)), int(math.Floor(max(v.Rect[1], 0) * q.toQuery)),
		int(math.Ceil(min(v.Rect[2], float64(q.q.W)) * q.toQuery)), int(math.Ceil(min(v.Rect[3], float64(q.q.H)) * q.toQuery)),
	}
	variant := pdq.Original.String()
	if v.Model.Mirrored {
		variant = "mirrored"
	}
	return Match{Algorithm: AlgoFeatures, Distance: -1, Variant: variant, Via: ViaFeatures,
		Rect: &r, Inliers: v.Inliers, LogNFA: math.Round(v.LogNFA*10) / 10,
		Rotation: math.Round(v.Model.Theta*1800/math.Pi) / 10, Scale: math.Round(v.Model.Scale*1000) / 1000,
		Perspective: v.Warp != nil, SitesRead: v.Sites, SitesAgree: v.Agree}
}
