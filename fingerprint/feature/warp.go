package feature

import "math"

// Homography maps capture pixels to query pixels projectively:
// (x, y) -> ((h0 x + h1 y + h2) / w, (h3 x + h4 y + h5) / w) with
// w = h6 x + h7 y + h8. It is the model of a copy in perspective (a
// photograph of a screen or a print, a keystone correction) or stretched
// unevenly, which a similarity only approximates.
type Homography [9]float64

// Apply maps a capture point into the query; ok is false where the point
// is at or behind the horizon of the projection.
func (h *Homography) Apply(x, y float64) (qx, qy float64, ok bool) {
	w := h[6]*x + h[7]*y + h[8]
	if w <= 1e-9 {
		return 0, 0, false
	}
	return (h[0]*x + h[1]*y + h[2]) / w, (h[3]*x + h[4]*y + h[5]) / w, true
}

// local is the similarity closest to h around capture point (x, y): it
// maps the point where h does, with h's local scale and rotation (and its
// mirror, when mir). Features are compared and read with it.
func (h *Homography) local(x, y float64, mir bool) (Similarity, bool) {
	qx, qy, ok := h.Apply(x, y)
	if !ok {
		return Similarity{}, false
	}
	w := h[6]*x + h[7]*y + h[8]
	// Jacobian of the projection at (x, y).
	j00 := (h[0] - qx*h[6]) / w
	j01 := (h[1] - qx*h[7]) / w
	j10 := (h[3] - qy*h[6]) / w
	j11 := (h[4] - qy*h[7]) / w
	if mir {
		// J = S R M with M mirroring x: J M = S R.
		j00, j10 = -j00, -j10
	}
	det := j00*j11 - j01*j10
	if det <= 0 {
		return Similarity{}, false
	}
	m := Similarity{Scale: math.Sqrt(det), Theta: math.Atan2(j10-j01, j00+j11), Mirrored: mir}
	ex := x
	if mir {
		ex = -x
	}
	c, s := math.Cos(m.Theta), math.Sin(m.Theta)
	m.TX = qx - m.Scale*(c*ex-s*y)
	m.TY = qy - m.Scale*(s*ex+c*y)
	return m, true
}

// mild reports whether h is a plausible view of a w x h capture: defined
// over all of it, without a fold, and changing scale by at most maxWarp
// between its corners. A stronger warp fitted to a few points is more
// likely to explain unrelated points than a copy.
func (h *Homography) mild(w, ht float64, mir bool) bool {
	lo, hi := math.Inf(1), 0.0
	for _, c := range [4][2]float64{{0, 0}, {w, 0}, {0, ht}, {w, ht}} {
		m, ok := h.local(c[0], c[1], mir)
		if !ok {
			return false
		}
		lo, hi = math.Min(lo, m.Scale), math.Max(hi, m.Scale)
	}
	return hi <= maxWarp*lo
}

// maxWarp bounds the ratio of a homography's local scales over the
// capture: a keystone of 10% changes it by about 1.25, a screen
// photographed at an angle by up to 1.5.
const maxWarp = 1.8

// fitHomography is the least-squares homography through the inliers
// (algebraic error on coordinates normalised to their centroids and mean
// distance), or false when the points do not determine one.
func fitHomography(cs []Corr, idx []int) (Homography, bool) {
	if len(idx) < 5 {
		return Homography{}, false
	}
	norm := func(pt func(i int) (float64, float64)) (mx, my, s float64) {
		for _, i := range idx {
			x, y := pt(i)
			mx += x
			my += y
		}
		n := float64(len(idx))
		mx, my = mx/n, my/n
		for _, i := range idx {
			x, y := pt(i)
			s += math.Hypot(x-mx, y-my)
		}
		s /= n
		if s <= 1e-9 {
			return mx, my, 0
		}
		return mx, my, math.Sqrt2 / s
	}
	epx := func(i int) (float64, float64) { return float64(cs[i].E.X), float64(cs[i].E.Y) }
	qpx := func(i int) (float64, float64) { return float64(cs[i].Q.X), float64(cs[i].Q.Y) }
	emx, emy, es := norm(epx)
	qmx, qmy, qs := norm(qpx)
	if es == 0 || qs == 0 {
		return Homography{}, false
	}
	// Normal equations of the 8 unknowns (h8 = 1 in normalised
	// coordinates, where the model is close to a similarity).
	var a [8][9]float64
	add := func(r [8]float64, b float64) {
		for i := range 8 {
			for j := range 8 {
				a[i][j] += r[i] * r[j]
			}
			a[i][8] += r[i] * b
		}
	}
	for _, i := range idx {
		x, y := epx(i)
		u, v := qpx(i)
		x, y = (x-emx)*es, (y-emy)*es
		u, v = (u-qmx)*qs, (v-qmy)*qs
		add([8]float64{x, y, 1, 0, 0, 0, -x * u, -y * u}, u)
		add([8]float64{0, 0, 0, x, y, 1, -x * v, -y * v}, v)
	}
	var hn [8]float64
	if !solve8(&a, &hn) {
		return Homography{}, false
	}
	// h = Tq^-1 * Hn * Te, with Te and Tq the normalisations.
	n := [9]float64{hn[0], hn[1], hn[2], hn[3], hn[4], hn[5], hn[6], hn[7], 1}
	te := [9]float64{es, 0, -es * emx, 0, es, -es * emy, 0, 0, 1}
	tqi := [9]float64{1 / qs, 0, qmx, 0, 1 / qs, qmy, 0, 0, 1}
	h := Homography(mul3(mul3(tqi, n), te))
	if math.Abs(h[8]) < 1e-12 {
		return Homography{}, false
	}
	for i := range h {
		h[i] /= h[8]
	}
	for _, v := range h {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return Homography{}, false
		}
	}
	return h, true
}

func mul3(a, b [9]float64) (c [9]float64) {
	for i := range 3 {
		for j := range 3 {
			for k := range 3 {
				c[3*i+j] += a[3*i+k] * b[3*k+j]
			}
		}
	}
	return c
}

// solve8 solves the augmented 8x8 system by Gaussian elimination with
// partial pivoting; false when it is singular.
func solve8(a *[8][9]float64, x *[8]float64) bool {
	for c := range 8 {
		p := c
		for r := c + 1; r < 8; r++ {
			if math.Abs(a[r][c]) > math.Abs(a[p][c]) {
				p = r
			}
		}
		if math.Abs(a[p][c]) < 1e-12 {
			return false
		}
		a[c], a[p] = a[p], a[c]
		for r := c + 1; r < 8; r++ {
			f := a[r][c] / a[c][c]
			for k := c; k < 9; k++ {
				a[r][k] -= f * a[c][k]
			}
		}
	}
	for r := 7; r >= 0; r-- {
		s := a[r][8]
		for k := r + 1; k < 8; k++ {
			s -= a[r][k] * x[k]
		}
		x[r] = s / a[r][r]
	}
	return true
}

// homographyFrom is the homography equal to similarity m.
func homographyFrom(m Similarity) Homography {
	c, s := math.Cos(m.Theta), math.Sin(m.Theta)
	mx := 1.0
	if m.Mirrored {
		mx = -1
	}
	return Homography{m.Scale * c * mx, -m.Scale * s, m.TX, m.Scale * s * mx, m.Scale * c, m.TY, 0, 0, 1}
}
