package feature

import "math"

// siteDistance is the distance between an enrolled feature's descriptor
// and the query's own description of the place model m puts the feature
// at, at the predicted scale and orientation: the smallest over the
// neighbouring pixels, which absorbs the model's error. ok is false when
// the place is outside the query or at a scale the query was not
// described at.
func (q *Query) siteDistance(e Point, d Descriptor, m Similarity) (dist int, ok bool) {
	pred := m.Scale * float64(e.Scale)
	// The nearest level in log scale, compared as ratios: this runs for
	// every site read, over every level.
	l, best := -1, math.Inf(1)
	for i := range q.readingLevels() {
		r := q.levelScale(i) / pred
		if r < 1 {
			r = 1 / r
		}
		if r < best {
			l, best = i, r
		}
	}
	if l < 0 || best > math.Exp2(siteScaleTol) {
		return 0, false
	}
	x, y := m.Apply(float64(e.X), float64(e.Y))
	sm, sx, sy := q.level(l)
	lx := int(math.Round(x/sx - 0.5))
	ly := int(math.Round(y/sy - 0.5))
	if lx < border+1 || ly < border+1 || lx >= sm.W-border-1 || ly >= sm.H-border-1 {
		return 0, false
	}
	var qa float64
	if m.Mirrored {
		qa = m.Theta + math.Pi - float64(e.Angle)
	} else {
		qa = m.Theta + float64(e.Angle)
	}
	st := steering()
	p := &st.rot[angleBin(qa)]
	if m.Mirrored {
		p = &st.mir[angleBin(qa)]
	}
	dist = descBits
	for dy := -1; dy <= 1; dy++ {
		for dx := -1; dx <= 1; dx++ {
			dist = min(dist, describe(sm, lx+dx, ly+dy, p).Distance(d))
		}
	}
	return dist, true
}

// siteScaleTol is how far (log2) the predicted scale may be from the
// nearest level described.
const siteScaleTol = 0.35

// Placement is a model that another comparison (a whole-image or region
// hash) implies: an affine map from capture pixels to query pixels,
// q = (A0 x + A1 y + A2, A3 x + A4 y + A5). A map with a negative
// determinant shows the capture mirrored.
type Placement [6]float64

// Reading is what a capture's features read like where a placement puts
// them: Sites is how many of them the query shows at a scale it was
// described at, Agree how many read close to the enrolled descriptor.
type Reading struct {
	Sites, Agree int
}

// Decides reports whether enough sites were read for the reading to
// decide anything.
func (r Reading) Decides() bool { return r.Sites >= minSites }

// Share is the fraction of the sites read that agree.
func (r Reading) Share() float64 { return float64(r.Agree) / float64(max(r.Sites, 1)) }

// Contradicts reports whether the reading is evidence against the
// placement: enough sites were read, and fewer than share of them agree.
func (r Reading) Contradicts(share float64) bool {
	return r.Decides() && r.Share() < share
}

// Read reads capture c's features (the common ones excepted) in the query
// where p puts them.
func (ix *Index) Read(query *Query, c int, p Placement) Reading {
	if c < 0 || c >= ix.Captures() || len(query.levels) == 0 {
		return Reading{}
	}
	h := Homography{p[0], p[1], p[2], p[3], p[4], p[5], 0, 0, 1}
	v := Verdict{Model: Similarity{Mirrored: p[0]*p[4]-p[1]*p[3] < 0}, Warp: &h}
	sites, agree, _ := ix.readSites(query, uint32(c), &v)
	return Reading{Sites: sites, Agree: agree}
}

// CaptureSize is capture c's size in its enrolled pixels, the frame of its
// features' coordinates.
func (ix *Index) CaptureSize(c int) (w, h float64) { return ix.size(uint32(c)) }
