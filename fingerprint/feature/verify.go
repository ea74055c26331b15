package feature

import (
	"math"
	"slices"
)

// Point is an enrolled feature's geometry: position in the capture's
// pixels (at its enrolled size), scale and angle.
type Point struct {
	X, Y, Scale, Angle float32
}

// Corr is a tentative correspondence between an enrolled feature and a
// query keypoint whose descriptors are close.
type Corr struct {
	E Point
	Q Point
	// Mirrored says the query's mirrored descriptor matched: the copy is
	// a mirror image.
	Mirrored bool
	Dist     int
	// EI and QI identify the enrolled feature and the query keypoint, so
	// that each is used once.
	EI, QI int32
}

// Similarity maps capture pixels to query pixels: q = S*R(theta)*M*e + T,
// where M mirrors x when Mirrored.
type Similarity struct {
	Scale, Theta float64
	TX, TY       float64
	Mirrored     bool
}

// Apply maps a capture point into the query.
func (s Similarity) Apply(x, y float64) (float64, float64) {
	if s.Mirrored {
		x = -x
	}
	c, n := math.Cos(s.Theta), math.Sin(s.Theta)
	return s.Scale*(c*x-n*y) + s.TX, s.Scale*(n*x+c*y) + s.TY
}

// Verdict is the outcome of verifying one capture's correspondences.
type Verdict struct {
	Model   Similarity
	Inliers int
	// Tentative is the number of correspondences the capture had.
	Tentative int
	// LogNFA is log10 of the expected number of captures that would
	// reach as many inliers by chance in a bank of the tested size:
	// negative is significant.
	LogNFA float64
	// Rect is the capture's outline in the query under Model,
	// [x0, y0, x1, y1] (a squeezed copy's Warp may place it a little
	// differently along one axis).
	Rect [4]float64
	// MeanDist is the inliers' mean descriptor distance; Spread the
	// area of their bounding box in the capture, as a fraction of it.
	MeanDist, Spread float64
	// Visible counts the capture's features that the model places inside
	// the query.
	Visible int
	// Exclusive counts the inliers no other plausible capture claims.
	Exclusive int
	// Sites counts the capture's features the query could be read at,
	// where the model puts them; Agree those whose description there is
	// close to the enrolled one.
	Sites, Agree int
	// Warp, when set, is a homography or an affine map that explains the
	// inliers better than Model (a copy in perspective, or squeezed to
	// another aspect ratio): the site reading places features with it.
	// The decision uses Model.
	Warp *Homography
	// query keypoints of the inliers and their position residuals, and
	// the correspondence count and model the NFA was computed with
	inlierQ   []int32
	inlierRes []float64
	n         int
}

// at is the similarity the verdict's model applies around capture point
// (x, y): the model itself, or the homography's local similarity there.
func (v *Verdict) at(x, y float64) (Similarity, bool) {
	if v.Warp == nil {
		return v.Model, true
	}
	return v.Warp.local(x, y, v.Model.Mirrored)
}

// Geometry tolerances of an inlier: relative position error (as a
// fraction of the capture's size in the query), and the keypoint's own
// angle and scale against the model's.
const (
	posTol   = 0.02
	angleTol = 20 * math.Pi / 180
	scaleTol = 0.5 // log2
	// scaleRange is the span (log2) of model scales that are searched.
	scaleRange = 3.0
)

// VerifyOptions are the inputs of the decision that are not geometry.
type VerifyOptions struct {
	// Tests is the number of captures (times two, for mirror images) a
	// query is compared with: the multiple-testing factor of the NFA.
	Tests float64
	// QueryW and QueryH are the query's size in pixels.
	QueryW, QueryH float64
	// CaptureW and CaptureH are the capture's size in its enrolled pixels.
	CaptureW, CaptureH float64
	// Points are all of the capture's enrolled features (for Visible).
	Points []Point
	// MinScale is the smallest keypoint scale the query was searched at:
	// a capture feature the model shrinks below it could not have been
	// found.
	MinScale float64
}

// Verify finds the similarity that most correspondences agree with, in
// each orientation (direct and mirrored), and scores the best by its
// number of false alarms. Each correspondence proposes a model from its
// own scale, angle and position (a Hough vote); the best-supported
// proposals are refined by least squares on their inliers.
func Verify(cs []Corr, o VerifyOptions) Verdict {
	best := Verdict{Tentative: len(cs), LogNFA: math.Inf(1)}
	for _, mir := range []bool{false, true} {
		var sub []Corr
		for _, c := range cs {
			if c.Mirrored == mir {
				sub = append(sub, c)
			}
		}
		if len(sub) < 2 {
			continue
		}
		v := verifyOne(sub, mir, o)
		v.Tentative = len(cs)
		if v.LogNFA < best.LogNFA {
			best = v
		}
	}
	return best
}

func modelFrom(c Corr, mir bool) Similarity {
	ex, ea := float64(c.E.X), float64(c.E.Angle)
	qa := float64(c.Q.Angle)
	m := Similarity{Scale: float64(c.Q.Scale / c.E.Scale), Mirrored: mir}
	if mir {
		ex = -ex
		// Mirroring turns an orientation a into pi-a; the rotation then
		// adds theta: qa = theta + pi - ea.
		m.Theta = qa + ea - math.Pi
	} else {
		m.Theta = qa - ea
	}
	cth, sth := math.Cos(m.Theta), math.Sin(m.Theta)
	ey := float64(c.E.Y)
	m.TX = float64(c.Q.X) - m.Scale*(cth*ex-sth*ey)
	m.TY = float64(c.Q.Y) - m.Scale*(sth*ex+cth*ey)
	return m
}

func angleDiff(a, b float64) float64 {
	d := math.Mod(a-b, 2*math.Pi)
	if d < -math.Pi {
		d += 2 * math.Pi
	} else if d > math.Pi {
		d -= 2 * math.Pi
	}
	return math.Abs(d)
}

// corrGeo is what a correspondence says of the model on its own: the
// rotation and log2 scale its two keypoints imply.
type corrGeo struct{ theta, logScale float64 }

func geometry(cs []Corr, mir bool) []corrGeo {
	g := make([]corrGeo, len(cs))
	for i, c := range cs {
		g[i] = corrGeo{modelFrom(c, mir).Theta, math.Log2(float64(c.Q.Scale / c.E.Scale))}
	}
	return g
}

// inliers lists the correspondences m explains, each enrolled feature and
// query keypoint used once (the closest descriptor wins).
func inliers(cs []Corr, geo []corrGeo, m Similarity, tol float64, out []int) []int {
	out = out[:0]
	ls := math.Log2(m.Scale)
	cth, sth := math.Cos(m.Theta), math.Sin(m.Theta)
	for i, c := range cs {
		if math.Abs(geo[i].logScale-ls) > scaleTol {
			continue
		}
		x, y := float64(c.E.X), float64(c.E.Y)
		if m.Mirrored {
			x = -x
		}
		// The position test is the cheapest and the most selective.
		dx := m.Scale*(cth*x-sth*y) + m.TX - float64(c.Q.X)
		dy := m.Scale*(sth*x+cth*y) + m.TY - float64(c.Q.Y)
		if dx*dx+dy*dy > tol*tol {
			continue
		}
		if angleDiff(geo[i].theta, m.Theta) > angleTol {
			continue
		}
		out = append(out, i)
	}
	return unique(cs, out)
}

func unique(cs []Corr, idx []int) []int {
	if len(idx) < 2 {
		return idx
	}
	slices.SortFunc(idx, func(a, b int) int { return cs[a].Dist - cs[b].Dist })
	// A linear scan of those kept: inlier lists are short, and this runs
	// for every hypothesis, where maps cost more than the comparisons.
	out := idx[:0]
	for _, i := range idx {
		e, q := cs[i].EI, cs[i].QI
		if !slices.ContainsFunc(out, func(j int) bool { return cs[j].EI == e || cs[j].QI == q }) {
			out = append(out, i)
		}
	}
	return out
}

func verifyOne(cs []Corr, mir bool, o VerifyOptions) Verdict {
	capDiag := math.Hypot(o.CaptureW, o.CaptureH)
	best := Verdict{LogNFA: math.Inf(1)}
	var buf, bestIn []int
	// Each correspondence proposes a model; the proposals with the most
	// support are refined. The loose first tolerance absorbs the error
	// of a model taken from one keypoint's angle and scale.
	type prop struct {
		m Similarity
		n int
	}
	var props []prop
	geo := geometry(cs, mir)
	for _, c := range cs {
		m := modelFrom(c, mir)
		tol := looseTol * m.Scale * capDiag
		buf = inliers(cs, geo, m, tol, buf)
		if len(buf) >= 2 {
			props = append(props, prop{m, len(buf)})
		}
	}
	slices.SortFunc(props, func(a, b prop) int { return b.n - a.n })
	if len(props) > 8 {
		props = props[:8]
	}
	for _, p := range props {
		m := p.m
		tolF := looseTol
		var in []int
		for iter := 0; iter < 4; iter++ {
			in = inliers(cs, geo, m, tolF*m.Scale*capDiag, in)
			if len(in) < 2 {
				break
			}
			if fm, ok := fitSimilarity(cs, in, mir); ok {
				m = fm
			}
			tolF = max(posTol, tolF/2)
		}
		in = inliers(cs, geo, m, posTol*m.Scale*capDiag, in)
		if len(in) < 3 || !spreadOut(cs, in, o.CaptureW, o.CaptureH) {
			continue
		}
		res := similarityResidualsOut(cs, in, mir)
		nfa := logNFA(len(cs), res, m, o)
		if nfa < best.LogNFA {
			bestIn = append(bestIn[:0], in...)
			best = Verdict{Model: m, Inliers: len(in), LogNFA: nfa, Spread: spreadArea(cs, in, o.CaptureW, o.CaptureH), n: len(cs), inlierRes: res}
			for _, i := range in {
				best.inlierQ = append(best.inlierQ, cs[i].QI)
			}
			for _, i := range in {
				best.MeanDist += float64(cs[i].Dist)
			}
			best.MeanDist /= float64(len(in))
		}
	}
	if best.Inliers > 0 {
		// A homography or an affine map (refineAffine) whose extra
		// inliers pay for its parameters places the capture's features
		// better where the site reading looks for them. The decision
		// itself stays with the similarity: the map's freedom also
		// stretches one instance of a template (one car, one face) onto
		// another. Only a plausible model is read or matched (removing
		// shared inliers later only weakens it), so only its maps are
		// worth fitting.
		wnfa := math.Inf(1)
		var h Homography
		if best.LogNFA <= plausibleLogNFA {
			hw, hin, ok := refineWarp(cs, geo, bestIn, best.Model, o)
			if ok {
				h, wnfa = hw, logNFAWarp(len(cs), residualsOut(cs, hin, homographyFit(cs)), 1, best.Model, o)
			}
			loose := inliers(cs, geo, best.Model, looseTol*best.Model.Scale*capDiag, nil)
			if a, ain, aok := refineAffine(cs, geo, loose, best.Model, o); aok {
				if anfa := logNFAWarp(len(cs), residualsOut(cs, ain, affineFit(cs)), affineTol, best.Model, o); anfa < wnfa {
					h, wnfa = a, anfa
				}
			}
		}
		if wnfa < best.LogNFA {
			best.Warp = &h
		}
		best.Rect = outline(best.Model, o.CaptureW, o.CaptureH)
		for _, p := range o.Points {
			x, y := best.Model.Apply(float64(p.X), float64(p.Y))
			if x >= 0 && y >= 0 && x < o.QueryW && y < o.QueryH && float64(p.Scale)*best.Model.Scale >= 0.8*o.MinScale {
				best.Visible++
			}
		}
	}
	return best
}

// refineWarp fits a homography to a similarity's inliers and grows the
// set under it: points near the corners of a copy in perspective miss the
// similarity's tolerance but not the homography's. It reports the final
// inliers when the homography is mild and explains more than in.
func refineWarp(cs []Corr, geo []corrGeo, in []int, m Similarity, o VerifyOptions) (Homography, []int, bool) {
	if len(in) < minWarpInliers {
		return Homography{}, nil, false
	}
	capDiag := math.Hypot(o.CaptureW, o.CaptureH)
	cur := slices.Clone(in)
	var h Homography
	fitted := false
	for _, tf := range []float64{2 * posTol, 1.5 * posTol, posTol} {
		f, ok := fitHomography(cs, cur)
		if !ok || !f.mild(o.CaptureW, o.CaptureH, m.Mirrored) {
			break
		}
		next := inliersWarp(cs, geo, &f, m.Mirrored, tf*m.Scale*capDiag, nil)
		if len(next) < minWarpInliers {
			break
		}
		h, cur, fitted = f, next, true
	}
	if !fitted {
		return Homography{}, nil, false
	}
	cur = inliersWarp(cs, geo, &h, m.Mirrored, posTol*m.Scale*capDiag, cur)
	if len(cur) <= len(in) || !spreadOut(cs, cur, o.CaptureW, o.CaptureH) {
		return Homography{}, nil, false
	}
	// A homography is only as sure as the span of its points: fitted to
	// one small part of the capture (a plate, a face) it bends the rest
	// freely, and another photograph of that part then reads as a copy.
	if fx, fy := extent(cs, cur, o.CaptureW, o.CaptureH); fx < minWarpSpan || fy < minWarpSpan {
		return Homography{}, nil, false
	}
	return h, cur, true
}

// minWarpSpan is the least extent of a homography's inliers along each
// axis of the capture, as a fraction of it.
const minWarpSpan = 0.4

// minWarpInliers is the fewest inliers a homography is fitted to: its 8
// parameters need 4, and a few more keep one wrong point from bending it.
const minWarpInliers = 8

// inliersWarp lists the correspondences h explains, with h's local
// similarity as the reference for each keypoint's scale and angle (geo:
// what each correspondence says of them on its own). The position test
// comes first: it is the cheapest and the most selective.
func inliersWarp(cs []Corr, geo []corrGeo, h *Homography, mir bool, tol float64, out []int) []int {
	out = out[:0]
	for i, c := range cs {
		ex, ey := float64(c.E.X), float64(c.E.Y)
		px, py, ok := h.Apply(ex, ey)
		if !ok {
			continue
		}
		dx, dy := px-float64(c.Q.X), py-float64(c.Q.Y)
		if dx*dx+dy*dy > tol*tol {
			continue
		}
		l, ok := h.local(ex, ey, mir)
		if !ok {
			continue
		}
		if math.Abs(geo[i].logScale-math.Log2(l.Scale)) > scaleTol {
			continue
		}
		if angleDiff(geo[i].theta, l.Theta) > angleTol {
			continue
		}
		out = append(out, i)
	}
	return unique(cs, out)
}

// fitSimilarity is the least-squares similarity through the inliers.
func fitSimilarity(cs []Corr, idx []int, mir bool) (Similarity, bool) {
	n := float64(len(idx))
	var mex, mey, mqx, mqy float64
	for _, i := range idx {
		ex := float64(cs[i].E.X)
		if mir {
			ex = -ex
		}
		mex += ex
		mey += float64(cs[i].E.Y)
		mqx += float64(cs[i].Q.X)
		mqy += float64(cs[i].Q.Y)
	}
	mex, mey, mqx, mqy = mex/n, mey/n, mqx/n, mqy/n
	var a, b, d float64
	for _, i := range idx {
		ex := float64(cs[i].E.X)
		if mir {
			ex = -ex
		}
		ex, ey := ex-mex, float64(cs[i].E.Y)-mey
		qx, qy := float64(cs[i].Q.X)-mqx, float64(cs[i].Q.Y)-mqy
		a += ex*qx + ey*qy
		b += ex*qy - ey*qx
		d += ex*ex + ey*ey
	}
	if d <= 1e-9 {
		return Similarity{}, false
	}
	sc := math.Hypot(a, b) / d
	th := math.Atan2(b, a)
	if sc <= 0 || math.IsNaN(sc) {
		return Similarity{}, false
	}
	c, s := math.Cos(th), math.Sin(th)
	return Similarity{Scale: sc, Theta: th, Mirrored: mir,
		TX: mqx - sc*(c*mex-s*mey), TY: mqy - sc*(s*mex+c*mey)}, true
}

// logNFA is log10 of the number of false alarms of a similarity whose
// inliers (among n correspondences) lie at position residuals res: tests
// x hypotheses x P[Binomial(n-2, p) >= k-2], where p is the chance that an
// unrelated correspondence agrees with a model in position (a disc of the
// tolerance within the query), angle and scale. As in Moisan and Stival's
// ORSA, the position tolerance adapts to the model: j inliers within the
// j-th smallest residual are tried for every j, the most significant is
// kept, and the n-2 counts that could have been tried are paid for. A
// copy's inliers sit within a few pixels while the fixed tolerance is 2%
// of the capture's size in the query, so a deep crop (the capture far
// larger than the query) proves itself with fewer inliers. Each residual
// is measured against the model fitted without that inlier
// (residualsOut): a model fitted to a point is close to it whether or not
// the point belongs to a copy.
func logNFA(n int, res []float64, m Similarity, o VerifyOptions) float64 {
	hyp := math.Log10(math.Max(float64(n)*float64(n-1)/2, 1))
	return adaptiveLogNFA(n, res, 2, hyp, posTol*m.Scale*math.Hypot(o.CaptureW, o.CaptureH), o)
}

// logNFAWarp is logNFA for a homography or affine map refined from a
// similarity hypothesis, with inliers counted within tf times the
// similarity's position tolerance: the hypotheses are the same pairs,
// counted three times (the similarity, the homography or the affine map
// may be kept), and the map's extra parameters are paid for with two
// more inliers that come free, as four points determine a homography.
// An affine map (three points) is charged as a homography, which is
// conservative.
func logNFAWarp(n int, res []float64, tf float64, m Similarity, o VerifyOptions) float64 {
	if n < 5 || len(res) < 5 {
		return math.Inf(1)
	}
	hyp := math.Log10(1.5 * float64(n) * float64(n-1))
	return adaptiveLogNFA(n, res, 4, hyp, tf*posTol*m.Scale*math.Hypot(o.CaptureW, o.CaptureH), o)
}

// minTolShare is the smallest adaptive position tolerance, as a share of
// the fixed one: keypoints are located to about a pixel of their level,
// and a tolerance far below that would reward a fit's rounding.
const minTolShare = 0.1

// adaptiveLogNFA is the NFA of inliers at residuals res (query pixels)
// among n correspondences, of a model that free of them determine, with
// hyp (log10) hypotheses, at the best position tolerance up to tol.
func adaptiveLogNFA(n int, res []float64, free int, hyp, tol float64, o VerifyOptions) float64 {
	k := len(res)
	if k <= free || n <= free {
		// Too few inliers to test anything: the NFA of k = free, which
		// is the number of tests and hypotheses.
		return math.Log10(math.Max(o.Tests, 1)) + hyp
	}
	sorted := slices.Clone(res)
	slices.Sort(sorted)
	area := math.Max(o.QueryW*o.QueryH, 1)
	best := math.Inf(1)
	for j := free + 1; j <= k; j++ {
		t := min(tol, max(sorted[j-1], minTolShare*tol))
		pPos := math.Min(1, math.Pi*t*t/area)
		p := pPos * (2 * angleTol / (2 * math.Pi)) * (2 * scaleTol / scaleRange)
		best = math.Min(best, logBinomTail(n-free, j-free, p))
	}
	return math.Log10(math.Max(o.Tests, 1)) + hyp + math.Log10(float64(n-free)) + best
}

// similarityResidualsOut is residualsOut for the least-squares
// similarity (fitSimilarity), from sums that drop one inlier at a time.
func similarityResidualsOut(cs []Corr, in []int, mir bool) []float64 {
	res := make([]float64, 0, len(in))
	pt := func(i int) (ex, ey, qx, qy float64) {
		ex = float64(cs[i].E.X)
		if mir {
			ex = -ex
		}
		return ex, float64(cs[i].E.Y), float64(cs[i].Q.X), float64(cs[i].Q.Y)
	}
	var sx, sy, su, sv, sa, sb, sd float64
	for _, i := range in {
		ex, ey, qx, qy := pt(i)
		sx, sy, su, sv = sx+ex, sy+ey, su+qx, sv+qy
		sa += ex*qx + ey*qy
		sb += ex*qy - ey*qx
		sd += ex*ex + ey*ey
	}
	n := float64(len(in) - 1)
	for _, i := range in {
		ex, ey, qx, qy := pt(i)
		x, y, u, v := sx-ex, sy-ey, su-qx, sv-qy
		a := sa - (ex*qx + ey*qy) - (x*u+y*v)/n
		b := sb - (ex*qy - ey*qx) - (x*v-y*u)/n
		d := sd - (ex*ex + ey*ey) - (x*x+y*y)/n
		if n < 2 || d <= 1e-9 {
			res = append(res, math.Inf(1))
			continue
		}
		// q = s R e + t with s R = [[a -b] [b a]] / d, through the means.
		ra, rb := a/d, b/d
		px := ra*(ex-x/n) - rb*(ey-y/n) + u/n
		py := rb*(ex-x/n) + ra*(ey-y/n) + v/n
		res = append(res, math.Hypot(px-qx, py-qy))
	}
	return res
}

// mapFit fits a map to the correspondences idx.
type mapFit func(idx []int) (func(x, y float64) (float64, float64, bool), bool)

func homographyFit(cs []Corr) mapFit {
	return func(idx []int) (func(x, y float64) (float64, float64, bool), bool) {
		h, ok := fitHomography(cs, idx)
		return h.Apply, ok
	}
}

func affineFit(cs []Corr) mapFit {
	return func(idx []int) (func(x, y float64) (float64, float64, bool), bool) {
		h, ok := fitAffine(cs, idx)
		return h.Apply, ok
	}
}

// residualsOut are the distances, in query pixels, between where the map
// fitted to the other inliers puts each inlier's enrolled feature and
// the query keypoint it matched (leave one out). An inlier whose
// neighbours determine no map is as far as can be (+Inf).
func residualsOut(cs []Corr, in []int, fit mapFit) []float64 {
	res := make([]float64, 0, len(in))
	rest := make([]int, 0, len(in))
	for a, i := range in {
		rest = append(append(rest[:0], in[:a]...), in[a+1:]...)
		f, ok := fit(rest)
		if !ok {
			res = append(res, math.Inf(1))
			continue
		}
		qx, qy, ok := f(float64(cs[i].E.X), float64(cs[i].E.Y))
		if !ok {
			res = append(res, math.Inf(1))
			continue
		}
		res = append(res, math.Hypot(qx-float64(cs[i].Q.X), qy-float64(cs[i].Q.Y)))
	}
	return res
}

// logBinomTail is log10 P[Binomial(n, p) >= k].
func logBinomTail(n, k int, p float64) float64 {
	if k <= 0 {
		return 0
	}
	if k > n || p <= 0 {
		return math.Inf(-1)
	}
	lp, lq := math.Log(p), math.Log1p(-p)
	lg := func(x int) float64 { v, _ := math.Lgamma(float64(x) + 1); return v }
	var terms []float64
	mx := math.Inf(-1)
	for j := k; j <= n; j++ {
		t := lg(n) - lg(j) - lg(n-j) + float64(j)*lp + float64(n-j)*lq
		terms = append(terms, t)
		mx = math.Max(mx, t)
	}
	var s float64
	for _, t := range terms {
		s += math.Exp(t - mx)
	}
	return (mx + math.Log(s)) / math.Ln10
}

func outline(m Similarity, w, h float64) [4]float64 {
	r := [4]float64{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)}
	for _, c := range [][2]float64{{0, 0}, {w, 0}, {0, h}, {w, h}} {
		x, y := m.Apply(c[0], c[1])
		r[0], r[1] = math.Min(r[0], x), math.Min(r[1], y)
		r[2], r[3] = math.Max(r[2], x), math.Max(r[3], y)
	}
	return r
}

// Minimum extent of the inliers in the capture, as fractions of its
// sides and area. A copy shows some expanse of the capture; one object
// that another photograph can show too (the same plate on another car,
// the same face in another shot) covers a small patch of it, however many
// of its features agree.
const (
	minSpreadSide = 0.15
	minSpreadArea = 0.06
)

// extent is the inliers' bounding box in the capture, as fractions of
// its width and height.
func extent(cs []Corr, in []int, w, h float64) (fx, fy float64) {
	x0, y0, x1, y1 := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, i := range in {
		x, y := float64(cs[i].E.X), float64(cs[i].E.Y)
		x0, y0, x1, y1 = math.Min(x0, x), math.Min(y0, y), math.Max(x1, x), math.Max(y1, y)
	}
	return (x1 - x0) / w, (y1 - y0) / h
}

func spreadArea(cs []Corr, in []int, w, h float64) float64 {
	fx, fy := extent(cs, in, w, h)
	return fx * fy
}

func spreadOut(cs []Corr, in []int, w, h float64) bool {
	fx, fy := extent(cs, in, w, h)
	return fx >= minSpreadSide && fy >= minSpreadSide && fx*fy >= minSpreadArea
}
