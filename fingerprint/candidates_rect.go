package fingerprint

import (
	"math"
	"slices"
)

// Rectangle detection finds the sub-images a leaked copy may be shown in:
// a photo pasted into a collage or a forum page, a browser screenshot, a
// picture with a caption banner added above or below. Such a sub-image is
// bounded by long straight horizontal and vertical edges (or by the image
// border), which survive scaling and recompression.
//
// The detector works on the working plane (longer side at most 512):
//
//  1. the strength of the boundary between rows b-1 and b is half the
//     difference between the sums of the two rows on either side; a pixel
//     is an edge peak where it reaches edgeThreshold and is a maximum
//     across the boundary (columns likewise, on the transposed plane);
//  2. boundaries holding a long run of peaks become line positions, the
//     image borders included;
//  3. every rectangle on two vertical and two horizontal positions whose
//     four sides are each covered by peaks (one pixel of tolerance) over at
//     least sideCoverage of their length is accepted (a border side counts
//     as covered);
//  4. they are ranked: rectangles crossed by a gutter (a uniform strip of
//     the surrounding page colour, as between collage tiles or text lines)
//     last, rectangles on a uniform page first, then by the weakest side's
//     coverage and by area; near-duplicates are dropped and at most
//     maxRects kept.
//
// The ranking heuristics were tuned on the tuning seed's collages and
// screenshots (BENCHMARKS.md). Every loop is bounded: three streaming
// passes over the plane per orientation, at most maxLines positions each,
// and at most maxChecks coverage tests in the enumeration.
const (
	edgeThreshold = 6    // luma levels across a boundary
	minRectFrac   = 0.12 // a candidate's side, as a fraction of the image's
	minRectPx     = 12   // and in plane pixels
	sideCoverage  = 0.75
	runGap        = 2 // pixels of gap tolerated inside an edge run
	maxLines      = 128
	maxRects      = 32
	scoreBand     = 0.1
	// maxChecks and maxFound bound the enumeration on pathological inputs
	// (a page of ruled lines): it stops, keeping what it found.
	maxChecks = 1 << 18
	maxFound  = 1 << 14
	// A gutter is a strip at most gutterMax pixels wide whose luma varies
	// by at most gutterRange across it.
	gutterMax   = 12
	gutterRange = 6
	// gutterMatch is how far (in luma) a gutter's mean may be from the
	// mean of the ringWidth pixels around the rectangle.
	gutterMatch = 12
	ringWidth   = 2
	// framedSD is the largest standard deviation of a uniform ring.
	framedSD = 6
	// duplicateSide is the largest difference, in pixels, between the
	// corresponding sides of two rectangles that makes the lower-ranked one
	// a duplicate. It is small on purpose: a photo and the same photo plus
	// a gutter or a line of text below it differ by a few pixels only, and
	// only the first matches.
	duplicateSide = 1.5
)

// rectF is an axis-aligned rectangle [x0,x1) x [y0,y1) in plane pixels.
type rectF struct{ x0, y0, x1, y1 float64 }

func (r rectF) area() float64 { return math.Max(0, r.x1-r.x0) * math.Max(0, r.y1-r.y0) }

// near reports whether every side of r is within d of o's.
func (r rectF) near(o rectF, d float64) bool {
	return math.Abs(r.x0-o.x0) <= d && math.Abs(r.y0-o.y0) <= d && math.Abs(r.x1-o.x1) <= d && math.Abs(r.y1-o.y1) <= d
}

// edgeLines holds, for one orientation, the edge peaks of every boundary
// and their prefix counts. Boundary b lies between rows (columns) b-1 and
// b, for b in 1..n-1. Its strength is the difference between the means of
// the two rows on either side, so that an edge blurred over two pixels by
// resampling keeps its full contrast; a pixel is a peak where that
// strength reaches edgeThreshold and is a maximum across the boundary.
// Line positions come from runs of peaks at exactly one boundary (so two
// lines two pixels apart, like both sides of a narrow gutter, stay apart);
// coverage also accepts peaks one boundary away, so that a side a pixel off
// still counts.
type edgeLines struct {
	n, m  int     // boundaries 0..n, m pixels along each
	count []int32 // (n+1) x (m+1) prefix counts of the dilated peaks
	run   []int   // longest run of exact peaks per boundary
	// runNear is the longest run of dilated peaks: a line whose exact
	// position wavers by a pixel (a slightly slanted or noisy edge) has a
	// short exact run but a long dilated one.
	runNear []int
}

// newEdgeLines builds the lines between the n rows of an n x m row-major
// plane (for vertical lines, pass the transposed plane). It streams over
// the boundaries keeping three rows of strengths and of peaks.
func newEdgeLines(pix []float32, n, m int) *edgeLines {
	// Rolling windows: st[k] holds the strengths of boundary b-1+k, pk[k]
	// its peaks; spare receives boundary b+2.
	var st [3][]float32
	var pk [3][]bool
	for k := range 3 {
		st[k] = make([]float32, m)
		pk[k] = make([]bool, m)
	}
	spare := make([]float32, m)
	edgeStrength(pix, n, m, 0, st[0])
	edgeStrength(pix, n, m, 1, st[1])
	edgeStrength(pix, n, m, 2, st[2])
	edgePeaks(st[0], st[1], st[2], pk[1])
	e := &edgeLines{n: n, m: m, count: make([]int32, (n+1)*(m+1)), run: make([]int, n+1), runNear: make([]int, n+1)}
	for b := 1; b < n; b++ {
		edgeStrength(pix, n, m, b+2, spare)
		if b+1 < n {
			edgePeaks(st[1], st[2], spare, pk[2])
		} else {
			clear(pk[2])
		}
		cnt := e.count[b*(m+1) : (b+1)*(m+1)]
		above, here, below := pk[0][:m], pk[1][:m], pk[2][:m]
		runLen, gap, best := 0, 0, 0
		nearLen, nearGap, nearBest := 0, 0, 0
		c := int32(0)
		for j := 0; j < m; j++ {
			exact := here[j]
			if exact || above[j] || below[j] {
				c++
				nearLen += nearGap + 1
				nearGap = 0
				nearBest = max(nearBest, nearLen)
			} else if nearLen > 0 {
				nearGap++
				if nearGap > runGap {
					nearLen, nearGap = 0, 0
				}
			}
			cnt[j+1] = c
			if exact {
				runLen += gap + 1
				gap = 0
				best = max(best, runLen)
			} else if runLen > 0 {
				gap++
				if gap > runGap {
					runLen, gap = 0, 0
				}
			}
		}
		e.run[b], e.runNear[b] = best, nearBest
		st[0], st[1], st[2], spare = st[1], st[2], spare, st[0]
		pk[0], pk[1], pk[2] = pk[1], pk[2], pk[0]
	}
	return e
}

// edgeStrength writes the strengths of boundary b of an n x m plane into
// dst: half the difference between the sums of the two rows on either
// side (rows clamped at the borders); the border boundaries 0 and n have
// none.
func edgeStrength(pix []float32, n, m, b int, dst []float32) {
	if b <= 0 || b >= n {
		clear(dst)
		return
	}
	row := func(i int) []float32 {
		i = min(max(i, 0), n-1)
		return pix[i*m : i*m+m]
	}
	r0, r1, r2, r3 := row(b-2), row(b-1), row(b), row(b+1)
	dst = dst[:m]
	r0, r1, r3 = r0[:m], r1[:m], r3[:m]
	for j := range dst {
		d := (r2[j] + r3[j] - r1[j] - r0[j]) * 0.5
		// |d| by clearing the sign bit: a branch on the sign of an image
		// difference is a coin toss. (-0 becomes +0, which compares the
		// same.)
		dst[j] = math.Float32frombits(math.Float32bits(d) &^ (1 << 31))
	}
}

// edgePeaks marks where cur reaches edgeThreshold and is a maximum across
// the boundary (ties go to the earlier boundary).
func edgePeaks(prev, cur, next []float32, dst []bool) {
	prev, next, dst = prev[:len(cur)], next[:len(cur)], dst[:len(cur)]
	for j, d := range cur {
		// Evaluated in full, without short-circuit branches.
		a, b, c := d >= edgeThreshold, d >= prev[j], d > next[j]
		dst[j] = b2i(a)&b2i(b)&b2i(c) != 0
	}
}

// transpose returns the m x n transpose of an n x m row-major plane.
func transpose(pix []float32, n, m int) []float32 {
	out := make([]float32, n*m)
	for i := 0; i < n; i++ {
		row := pix[i*m : (i+1)*m]
		for j, v := range row {
			out[j*n+i] = v
		}
	}
	return out
}

// coverage is the fraction of [j0,j1) covered at boundary b; the borders
// (b = 0 or n) count as fully covered.
func (e *edgeLines) coverage(b, j0, j1 int) float64 {
	if b <= 0 || b >= e.n {
		return 1
	}
	if j1 <= j0 {
		return 0
	}
	row := e.count[b*(e.m+1):]
	return float64(row[j1]-row[j0]) / float64(j1-j0)
}

// strength ranks a line position for enumeration: borders first, then by
// dilated run.
func (e *edgeLines) strength(b int) int {
	if b <= 0 || b >= e.n {
		return e.m + 1
	}
	return e.runNear[b]
}

// positions returns the line positions: the borders and the boundaries
// whose dilated run is at least minRun and whose exact run is not shorter
// than their neighbours' (so a line is kept once, at its most frequent
// position, while two lines two pixels apart both stay), longest first, at
// most maxLines of them.
func (e *edgeLines) positions(minRun int) []int {
	var ps []int
	for b := 1; b < e.n; b++ {
		r := e.run[b]
		if e.runNear[b] < minRun || r == 0 || r < e.run[b-1] || (b+1 < e.n && r <= e.run[b+1]) {
			continue
		}
		ps = append(ps, b)
	}
	slices.SortStableFunc(ps, func(a, b int) int { return e.runNear[b] - e.runNear[a] })
	if len(ps) > maxLines {
		ps = ps[:maxLines]
	}
	ps = append(ps, 0, e.n)
	slices.Sort(ps)
	return ps
}

// detectRects returns candidate sub-image rectangles of a w x h luma plane,
// in its pixel coordinates, best first. The whole plane is never returned.
// It never panics: a plane too small or shorter than w*h gives nil.
func detectRects(pix []float32, w, h int) []rectF {
	found := findRects(pix, w, h)
	var out []rectF
	for _, f := range found {
		dup := false
		for _, o := range out {
			if f.r.near(o, duplicateSide) {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, f.r)
			if len(out) == maxRects {
				break
			}
		}
	}
	return out
}

// scoredRect is a detected rectangle with the coverage of its weakest side.
type scoredRect struct {
	r     rectF
	score float64
	// composite marks a rectangle crossed by a gutter: two parallel
	// lines close together running all the way across it, as between the
	// tiles of a collage or the lines of a text. It is more likely several
	// things side by side than one picture, so it ranks after the others.
	composite bool
	// framed marks a rectangle with a uniform ring around it.
	framed bool
}

// findRects returns every accepted rectangle, best first.
func findRects(pix []float32, w, h int) []scoredRect {
	if w < 2*minRectPx || h < 2*minRectPx || w > workingMaxSide || h > workingMaxSide || len(pix) < w*h {
		return nil
	}
	// Horizontal lines lie between rows: across index = y, along = x.
	pix = pix[:w*h]
	tr := transpose(pix, h, w)
	hl := newEdgeLines(pix, h, w)
	vl := newEdgeLines(tr, w, h)
	minW := max(minRectPx, int(minRectFrac*float64(w)))
	minH := max(minRectPx, int(minRectFrac*float64(h)))
	ys := hl.positions(minW)
	xs := vl.positions(minH)
	hg := findGutters(ys, pix, w)
	vg := findGutters(xs, tr, h)
	sat := make([]float64, (w+1)*(h+1))
	sat2 := make([]float64, (w+1)*(h+1))
	for y := 0; y < h; y++ {
		var run, run2 float64
		for x := 0; x < w; x++ {
			v := float64(pix[y*w+x])
			run += v
			run2 += v * v
			sat[(y+1)*(w+1)+x+1] = sat[y*(w+1)+x+1] + run
			sat2[(y+1)*(w+1)+x+1] = sat2[y*(w+1)+x+1] + run2
		}
	}
	// Enumerate the left side by decreasing strength (borders first), so
	// that when the work bound cuts the enumeration short, what was left
	// out rests on the weakest lines.
	lefts := slices.Clone(xs)
	slices.SortStableFunc(lefts, func(a, b int) int { return vl.strength(b) - vl.strength(a) })

	var found []scoredRect
	var rowsOK []int
	checks := 0 // coverage evaluations, bounded by maxChecks
pairs:
	for _, xa := range lefts {
		for _, xb := range xs {
			if xb-xa < minW {
				continue
			}
			rowsOK = rowsOK[:0]
			for _, y := range ys {
				if hl.coverage(y, xa, xb) >= sideCoverage {
					rowsOK = append(rowsOK, y)
				}
			}
			checks += len(ys)
			for i, ya := range rowsOK {
				for _, yb := range rowsOK[i+1:] {
					if checks++; checks > maxChecks || len(found) == maxFound {
						break pairs
					}
					if yb-ya < minH || (xa == 0 && xb == w && ya == 0 && yb == h) {
						continue
					}
					cl, cr := vl.coverage(xa, ya, yb), vl.coverage(xb, ya, yb)
					if cl < sideCoverage || cr < sideCoverage {
						continue
					}
					score := min(cl, cr, hl.coverage(ya, xa, xb), hl.coverage(yb, xa, xb))
					r := rectF{float64(xa), float64(ya), float64(xb), float64(yb)}
					rg := ringStats(sat, sat2, w, h, r)
					comp := crossedByGutter(hl, hg, ya, yb, xa, xb, rg) || crossedByGutter(vl, vg, xa, xb, ya, yb, rg)
					found = append(found, scoredRect{r, score, comp, rg.framed()})
				}
			}
		}
	}
	// Rank: rectangles crossed by a gutter last; framed ones first; then
	// by the weakest side's coverage in bands of scoreBand (so that a
	// pixel or two of missing edge does not decide); then larger first,
	// since an embedded picture is usually the main content of its page.
	band := func(s float64) int { return int(s / scoreBand) }
	slices.SortStableFunc(found, func(a, b scoredRect) int {
		if a.composite != b.composite {
			if b.composite {
				return -1
			}
			return 1
		}
		if a.framed != b.framed {
			if a.framed {
				return -1
			}
			return 1
		}
		if ba, bb := band(a.score), band(b.score); ba != bb {
			return bb - ba
		}
		switch aa, ba := a.r.area(), b.r.area(); {
		case aa > ba:
			return -1
		case aa < ba:
			return 1
		}
		return 0
	})
	return found
}

// gutter is a strip between two nearby line positions a < b whose pixels
// are nearly uniform, like the page showing between two tiles of a collage
// or between two lines of text. uniform holds prefix counts, along the
// lines, of the positions where the strip is uniform.
type gutter struct {
	a, b    int
	uniform []int32
	sum     []float64 // prefix sums of the strip's mean across, along the lines
}

// mean is the strip's mean luma over [t0,t1).
func (g *gutter) mean(t0, t1 int) float64 { return (g.sum[t1] - g.sum[t0]) / float64(t1-t0) }

// findGutters returns the gutters between consecutive positions in pos
// (sorted) of an n x m row-major plane, lines between rows.
func findGutters(pos []int, pix []float32, m int) []gutter {
	var out []gutter
	for k := 1; k < len(pos); k++ {
		a, b := pos[k-1], pos[k]
		// The strip's first and last pixels may be blended with the
		// edges; only the ones between them are tested.
		if b-a < 3 || b-a > gutterMax {
			continue
		}
		g := gutter{a: a, b: b, uniform: make([]int32, m+1), sum: make([]float64, m+1)}
		lo := slices.Clone(pix[(a+1)*m : (a+2)*m])
		hi := slices.Clone(lo)
		tot := make([]float64, m)
		for i := a + 1; i < b-1; i++ {
			for j, v := range pix[i*m : (i+1)*m] {
				lo[j], hi[j] = min(lo[j], v), max(hi[j], v)
				tot[j] += float64(v)
			}
		}
		for j := range m {
			g.uniform[j+1] = g.uniform[j]
			if hi[j]-lo[j] <= gutterRange {
				g.uniform[j+1]++
			}
			g.sum[j+1] = g.sum[j] + tot[j]/float64(b-a-2)
		}
		out = append(out, g)
	}
	return out
}

// crossedByGutter reports whether the rectangle spanning [lo,hi] across
// the lines and [t0,t1) along them holds a gutter from side to side: both
// of its lines (one may be the rectangle's own side) cover the span at
// least sideCoverage, so does the strip's uniformity, and the strip has
// the colour of the page around the rectangle (outside, when known):
// smooth bands inside a picture, like wood grain, are not gutters.
func crossedByGutter(e *edgeLines, gs []gutter, lo, hi, t0, t1 int, around ring) bool {
	if t1 <= t0 || !around.known {
		return false
	}
	for i := range gs {
		g := &gs[i]
		if g.a < lo || g.b > hi || (g.a == lo && g.b == hi) {
			continue
		}
		if float64(g.uniform[t1]-g.uniform[t0])/float64(t1-t0) >= sideCoverage &&
			math.Abs(g.mean(t0, t1)-around.mean) <= gutterMatch &&
			e.coverage(g.a, t0, t1) >= sideCoverage && e.coverage(g.b, t0, t1) >= sideCoverage {
			return true
		}
	}
	return false
}

// ring describes the pixels within ringWidth outside a rectangle (clipped
// to the plane): their mean and standard deviation, known only when there
// are some.
type ring struct {
	mean, sd float64
	known    bool
}

// framed reports a uniform ring: the rectangle sits on a plain page, as a
// pasted picture does, rather than among more of the same content.
func (r ring) framed() bool { return r.known && r.sd <= framedSD }

// ringStats computes the ring of r from summed-area tables of the w x h
// plane and of its squares.
func ringStats(sat, sat2 []float64, w, h int, r rectF) ring {
	box := func(t []float64, x0, y0, x1, y1 int) (float64, int) {
		x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
		if x1 <= x0 || y1 <= y0 {
			return 0, 0
		}
		w1 := w + 1
		return t[y1*w1+x1] - t[y0*w1+x1] - t[y1*w1+x0] + t[y0*w1+x0], (x1 - x0) * (y1 - y0)
	}
	x0, y0, x1, y1 := int(r.x0), int(r.y0), int(r.x1), int(r.y1)
	outS, outN := box(sat, x0-ringWidth, y0-ringWidth, x1+ringWidth, y1+ringWidth)
	inS, inN := box(sat, x0, y0, x1, y1)
	out2, _ := box(sat2, x0-ringWidth, y0-ringWidth, x1+ringWidth, y1+ringWidth)
	in2, _ := box(sat2, x0, y0, x1, y1)
	n := float64(outN - inN)
	if n <= 0 {
		return ring{}
	}
	mean := (outS - inS) / n
	return ring{mean: mean, sd: math.Sqrt(math.Max(0, (out2-in2)/n-mean*mean)), known: true}
}

// refineRect moves each inner side of r (given in plane pixels) to the
// sub-pixel position of the strongest edge within ±radius pixels, as the
// centroid of the edge profile around its peak. For an ideal step edge
// inside pixel k the two differences at boundaries k and k+1 are
// proportional to the pixel's two shares, so the centroid is the edge's
// exact position. Sides on the plane border stay there.
func (p *plane) refineRect(r rectF, radius int) rectF {
	// profile returns the summed absolute difference across boundary b
	// (between index b-1 and b) along [t0,t1) of the other axis.
	profile := func(b, t0, t1, n int, at func(i, j int) float32) float64 {
		if b <= 0 || b >= n {
			return 0
		}
		var s float64
		for t := t0; t < t1; t++ {
			s += math.Abs(float64(at(b, t) - at(b-1, t)))
		}
		return s
	}
	refine := func(v float64, t0, t1, n, tn int, at func(i, j int) float32) float64 {
		b0 := int(math.Round(v))
		if b0 <= 0 || b0 >= n {
			return v
		}
		t0, t1 = max(0, t0), min(t1, tn)
		best, bestE := b0, -1.0
		for b := max(1, b0-radius); b <= min(n-1, b0+radius); b++ {
			if e := profile(b, t0, t1, n, at); e > bestE {
				best, bestE = b, e
			}
		}
		var sw, s float64
		for b := max(1, best-1); b <= min(n-1, best+1); b++ {
			e := profile(b, t0, t1, n, at)
			sw += e
			s += e * float64(b)
		}
		if sw == 0 {
			return v
		}
		return s / sw
	}
	// Sides are refined along their inner 80%, away from the corners.
	inset := func(a, b float64) (int, int) {
		d := (b - a) * 0.1
		return int(a + d), int(math.Ceil(b - d))
	}
	ty0, ty1 := inset(r.y0, r.y1)
	tx0, tx1 := inset(r.x0, r.x1)
	colAt := func(x, y int) float32 { return p.pix[y*p.w+x] }
	rowAt := func(y, x int) float32 { return p.pix[y*p.w+x] }
	out := r
	out.x0 = refine(r.x0, ty0, ty1, p.w, p.h, colAt)
	out.x1 = refine(r.x1, ty0, ty1, p.w, p.h, colAt)
	out.y0 = refine(r.y0, tx0, tx1, p.h, p.w, rowAt)
	out.y1 = refine(r.y1, tx0, tx1, p.h, p.w, rowAt)
	if out.x1-out.x0 < 1 || out.y1-out.y0 < 1 {
		return r
	}
	return out
}

func b2i(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}
