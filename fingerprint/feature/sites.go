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
	l, best := -1, math.Inf(1)
	for i, s := range q.scale {
		if r := math.Abs(math.Log2(s / pred)); r < best {
			l, best = i, r
		}
	}
	if l < 0 || best > siteScaleTol {
		return 0, false
	}
	x, y := m.Apply(float64(e.X), float64(e.Y))
	sm := q.levels[l]
	lx := int(math.Round(x/q.sx[l] - 0.5))
	ly := int(math.Round(y/q.sy[l] - 0.5))
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
