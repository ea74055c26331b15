package feature

import (
	"math"
	"math/rand/v2"
)

// A copy resized to another aspect ratio (a picture squeezed into a
// square post, stretched to a banner) and then cropped is not a
// similarity of the capture: a similarity explains it only near the
// points it was fitted to, so the inliers cluster there and neither the
// decision nor the homography (refineWarp), which grows from those
// inliers, sees the rest. An affine map explains it everywhere. It is
// found from the correspondences the best similarity explains loosely,
// where the stretched ones still are: three of them determine an affine
// map, the one most correspondences agree with is refined by least
// squares, and it serves the site reading as a homography does.

// Bounds of an affine hypothesis.
const (
	// affineTrials is the number of triples drawn from the loose set.
	affineTrials = 64
	// maxStretch bounds the ratio of an affine map's two axis scales:
	// an aspect ratio changed from 4:3 to 16:9 or 1:1 is 1.33; a map
	// stretched further fits unrelated points too easily.
	maxStretch = 2.0
	// minTriangle is the least area of a triple in the capture, as a
	// fraction of the capture's area: three close or nearly collinear
	// points determine an affine map badly.
	minTriangle = 0.01
	// affineTol is an affine map's position tolerance, as a multiple
	// of the similarity's.
	affineTol = 2.0
	// minAffineSpan is the least extent of an affine map's inliers
	// along each axis of the capture, as a fraction of it. It is lower
	// than a homography's (minWarpSpan): an affine map has no
	// perspective terms to bend the parts of the capture far from its
	// inliers, and the squeeze that makes a copy affine also costs it
	// correspondences, so its inliers cover less.
	minAffineSpan = 0.3
	// looseTol is the position tolerance of the loose set, as a
	// fraction of the capture's diagonal in the query (the first
	// tolerance of the similarity's own refinement).
	looseTol = 0.12
)

// fitAffine is the least-squares affine map through the correspondences
// idx (exact for three), as a homography, or false when they do not
// determine one.
func fitAffine(cs []Corr, idx []int) (Homography, bool) {
	if len(idx) < 3 {
		return Homography{}, false
	}
	var mx, my float64
	for _, i := range idx {
		mx += float64(cs[i].E.X)
		my += float64(cs[i].E.Y)
	}
	n := float64(len(idx))
	mx, my = mx/n, my/n
	// Normal equations of q = A (e - mean) + t, one 3x3 system per
	// query coordinate, sharing their matrix.
	var sxx, sxy, syy, sx, sy float64
	var bx, by [3]float64
	for _, i := range idx {
		x, y := float64(cs[i].E.X)-mx, float64(cs[i].E.Y)-my
		u, v := float64(cs[i].Q.X), float64(cs[i].Q.Y)
		sxx += x * x
		sxy += x * y
		syy += y * y
		sx += x
		sy += y
		bx[0], bx[1], bx[2] = bx[0]+x*u, bx[1]+y*u, bx[2]+u
		by[0], by[1], by[2] = by[0]+x*v, by[1]+y*v, by[2]+v
	}
	m := [3][3]float64{{sxx, sxy, sx}, {sxy, syy, sy}, {sx, sy, n}}
	rx, okx := solve3(m, bx)
	ry, oky := solve3(m, by)
	if !okx || !oky {
		return Homography{}, false
	}
	h := Homography{rx[0], rx[1], rx[2] - rx[0]*mx - rx[1]*my, ry[0], ry[1], ry[2] - ry[0]*mx - ry[1]*my, 0, 0, 1}
	for _, v := range h {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return Homography{}, false
		}
	}
	return h, true
}

// solve3 solves m x = b by Cramer's rule; false when m is near singular.
func solve3(m [3][3]float64, b [3]float64) ([3]float64, bool) {
	det := func(a [3][3]float64) float64 {
		return a[0][0]*(a[1][1]*a[2][2]-a[1][2]*a[2][1]) -
			a[0][1]*(a[1][0]*a[2][2]-a[1][2]*a[2][0]) +
			a[0][2]*(a[1][0]*a[2][1]-a[1][1]*a[2][0])
	}
	d := det(m)
	scale := math.Abs(m[0][0]*m[1][1]*m[2][2]) + 1e-300
	if math.Abs(d) <= 1e-9*scale {
		return [3]float64{}, false
	}
	var x [3]float64
	for c := range 3 {
		a := m
		for r := range 3 {
			a[r][c] = b[r]
		}
		x[c] = det(a) / d
	}
	return x, true
}

// stretchOf is the ratio of the larger to the smaller axis scale of an
// affine map's linear part (its singular values).
func stretchOf(h *Homography) float64 {
	a, b, c, d := h[0], h[1], h[3], h[4]
	// Singular values of [[a b] [c d]]: sqrt of the eigenvalues of its
	// Gram matrix.
	s := a*a + b*b + c*c + d*d
	det := math.Abs(a*d - b*c)
	disc := math.Sqrt(math.Max(s*s-4*det*det, 0))
	lo := (s - disc) / 2
	if lo <= 1e-12 {
		return math.Inf(1)
	}
	return math.Sqrt((s + disc) / 2 / lo)
}

// triangleArea is the area of the capture triangle of three
// correspondences.
func triangleArea(cs []Corr, i, j, k int) float64 {
	ax, ay := float64(cs[j].E.X-cs[i].E.X), float64(cs[j].E.Y-cs[i].E.Y)
	bx, by := float64(cs[k].E.X-cs[i].E.X), float64(cs[k].E.Y-cs[i].E.Y)
	return math.Abs(ax*by-ay*bx) / 2
}

// refineAffine looks for an affine map among the correspondences loose
// (those a similarity m explains within looseTol) and returns it with
// the correspondences it explains within affineTol times the similarity's
// tolerance, when they are enough and spread over the capture. The
// tolerance is wider than the similarity's because the stretch that makes
// a copy affine also moves its corners, coarse ones most, by more than a
// similarity's copy does; the NFA pays for it (logNFAWarp).
func refineAffine(cs []Corr, geo []corrGeo, loose []int, m Similarity, o VerifyOptions) (Homography, []int, bool) {
	if len(loose) < minWarpInliers {
		return Homography{}, nil, false
	}
	tol := affineTol * posTol * m.Scale * math.Hypot(o.CaptureW, o.CaptureH)
	minArea := minTriangle * o.CaptureW * o.CaptureH
	// Deterministic: the same correspondences give the same verdict.
	r := rand.New(rand.NewPCG(uint64(len(cs)), uint64(len(loose))))
	var best Homography
	var bestIn, buf []int
	tri := make([]int, 3)
	for range affineTrials {
		i, j, k := loose[r.IntN(len(loose))], loose[r.IntN(len(loose))], loose[r.IntN(len(loose))]
		if i == j || j == k || i == k || triangleArea(cs, i, j, k) < minArea {
			continue
		}
		tri[0], tri[1], tri[2] = i, j, k
		h, ok := fitAffine(cs, tri)
		if !ok || stretchOf(&h) > maxStretch {
			continue
		}
		buf = inliersWarp(cs, geo, &h, m.Mirrored, tol, buf)
		if len(buf) > len(bestIn) {
			best, bestIn = h, append(bestIn[:0], buf...)
		}
	}
	if len(bestIn) < minWarpInliers {
		return Homography{}, nil, false
	}
	// Least squares on the inliers: the triple's map is exact at three
	// points only. The set grows first at a wider tolerance, where the
	// parts of the capture farthest from the loose set (which the
	// similarity chose) come in.
	cur := bestIn
	for _, tf := range []float64{1.5, 1, 1} {
		f, ok := fitAffine(cs, cur)
		if !ok || stretchOf(&f) > maxStretch {
			break
		}
		next := inliersWarp(cs, geo, &f, m.Mirrored, tf*tol, nil)
		if len(next) < minWarpInliers {
			break
		}
		best, cur = f, next
	}
	cur = inliersWarp(cs, geo, &best, m.Mirrored, tol, nil)
	if len(cur) < minWarpInliers || !spreadOut(cs, cur, o.CaptureW, o.CaptureH) {
		return Homography{}, nil, false
	}
	if fx, fy := extent(cs, cur, o.CaptureW, o.CaptureH); fx < minAffineSpan || fy < minAffineSpan {
		return Homography{}, nil, false
	}
	return best, cur, true
}
