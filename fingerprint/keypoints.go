package fingerprint

import (
	"cmp"
	"math"
	"slices"
)

// Keypoints for uneven crops. A crop that cuts the borders unevenly lines
// up with no enrolled central region (PDQ tolerates about 1% of
// misalignment), so the frame of the copy has to be found from its content:
// blob-like keypoints (extrema of a difference-of-Gaussians scale space,
// as in SIFT) survive cropping, recompression and resizing at the same
// places relative to the picture. Pairs of keypoints frame patches whose
// PDQ hashes are enrolled with the pair's geometry; a query patch that hits
// one names a capture and the scale and offset of the copy, and the match
// is confirmed by hashing the query where that geometry puts an enrolled
// central region (localQuery.verify).

// keypoint is a scale-space extremum in plane coordinates.
type keypoint struct {
	x, y, sigma float64
	strength    float64 // |DoG| at the extremum
}

const (
	kpBaseSide  = 256 // long side of the detection image
	kpLevels    = 3   // scales per octave
	kpOctaves   = 3
	kpSigma0    = 1.6
	kpBorder    = 4   // detection-image pixels ignored at the border
	kpMinDoG    = 0.8 // on the 0-255 luma scale
	kpEdgeRatio = 10.0
)

// keypoints detects up to maxN of the strongest DoG extrema of p.
func (p *plane) keypoints(maxN int) []keypoint {
	scale := float64(max(p.w, p.h)) / kpBaseSide
	if scale < 1 {
		scale = 1
	}
	w0, h0 := max(1, int(math.Round(float64(p.w)/scale))), max(1, int(math.Round(float64(p.h)/scale)))
	if w0 < 32 || h0 < 32 {
		return nil
	}
	sx, sy := float64(p.w)/float64(w0), float64(p.h)/float64(h0)
	base := make([]float32, w0*h0)
	p.sampleGrid(0, 0, float64(p.w), float64(p.h), w0, h0, base)
	// The area average leaves about half a pixel of blur.
	img := gaussBlur(base, w0, h0, math.Sqrt(kpSigma0*kpSigma0-0.25))
	w, h := w0, h0
	var out []keypoint
	k := math.Pow(2, 1.0/kpLevels)
	for o := 0; o < kpOctaves && w >= 24 && h >= 24; o++ {
		gs := make([][]float32, kpLevels+3)
		gs[0] = img
		for i := 1; i < len(gs); i++ {
			prev := kpSigma0 * math.Pow(k, float64(i-1))
			gs[i] = gaussBlur(gs[i-1], w, h, prev*math.Sqrt(k*k-1))
		}
		dog := make([][]float32, len(gs)-1)
		for i := range dog {
			d := make([]float32, w*h)
			for j := range d {
				d[j] = gs[i+1][j] - gs[i][j]
			}
			dog[i] = d
		}
		f := float64(int(1) << o)
		for s := 1; s < len(dog)-1; s++ {
			for y := kpBorder; y < h-kpBorder; y++ {
				for x := kpBorder; x < w-kpBorder; x++ {
					v := dog[s][y*w+x]
					if math.Abs(float64(v)) < kpMinDoG || !isExtremum(dog, s, x, y, w) {
						continue
					}
					kp, ok := refineKeypoint(dog, s, x, y, w)
					if !ok {
						continue
					}
					sig := kpSigma0 * math.Pow(2, float64(o)+kp.sigma/kpLevels)
					// Octave o keeps every f-th pixel of the base image,
					// so its pixel x is the base pixel x*f, whose centre
					// is at x*f+0.5.
					out = append(out, keypoint{
						x:        (kp.x*f + 0.5) * sx,
						y:        (kp.y*f + 0.5) * sy,
						sigma:    sig * sx,
						strength: kp.strength,
					})
				}
			}
		}
		// Next octave: the level with twice the base blur, decimated.
		src := gs[kpLevels]
		nw, nh := w/2, h/2
		next := make([]float32, nw*nh)
		for y := 0; y < nh; y++ {
			for x := 0; x < nw; x++ {
				next[y*nw+x] = src[(2*y)*w+2*x]
			}
		}
		img, w, h = next, nw, nh
	}
	slices.SortFunc(out, func(a, b keypoint) int { return cmp.Compare(b.strength, a.strength) })
	if len(out) > maxN {
		out = out[:maxN]
	}
	return out
}

// isExtremum reports whether dog[s][x,y] is above or below all 26
// neighbours.
func isExtremum(dog [][]float32, s, x, y, w int) bool {
	v := dog[s][y*w+x]
	isMax, isMin := true, true
	for ds := -1; ds <= 1; ds++ {
		d := dog[s+ds]
		for dy := -1; dy <= 1; dy++ {
			row := (y + dy) * w
			for dx := -1; dx <= 1; dx++ {
				if ds == 0 && dy == 0 && dx == 0 {
					continue
				}
				n := d[row+x+dx]
				if n >= v {
					isMax = false
				}
				if n <= v {
					isMin = false
				}
				if !isMax && !isMin {
					return false
				}
			}
		}
	}
	return true
}

// refineKeypoint fits a quadratic to the 3x3x3 neighbourhood, rejects
// edge-like responses, and returns the sub-pixel position (x, y in
// detection pixels, sigma as a fractional level) and strength.
func refineKeypoint(dog [][]float32, s, x, y, w int) (keypoint, bool) {
	at := func(ds, dx, dy int) float64 { return float64(dog[s+ds][(y+dy)*w+x+dx]) }
	v := at(0, 0, 0)
	gx := (at(0, 1, 0) - at(0, -1, 0)) / 2
	gy := (at(0, 0, 1) - at(0, 0, -1)) / 2
	gs := (at(1, 0, 0) - at(-1, 0, 0)) / 2
	hxx := at(0, 1, 0) + at(0, -1, 0) - 2*v
	hyy := at(0, 0, 1) + at(0, 0, -1) - 2*v
	hss := at(1, 0, 0) + at(-1, 0, 0) - 2*v
	hxy := (at(0, 1, 1) - at(0, -1, 1) - at(0, 1, -1) + at(0, -1, -1)) / 4
	hxs := (at(1, 1, 0) - at(1, -1, 0) - at(-1, 1, 0) + at(-1, -1, 0)) / 4
	hys := (at(1, 0, 1) - at(1, 0, -1) - at(-1, 0, 1) + at(-1, 0, -1)) / 4
	// Edge test on the spatial Hessian.
	tr, det := hxx+hyy, hxx*hyy-hxy*hxy
	if det <= 0 || tr*tr*kpEdgeRatio >= (kpEdgeRatio+1)*(kpEdgeRatio+1)*det {
		return keypoint{}, false
	}
	// Solve H d = -g (3x3, Cramer's rule).
	a := [3][3]float64{{hxx, hxy, hxs}, {hxy, hyy, hys}, {hxs, hys, hss}}
	b := [3]float64{-gx, -gy, -gs}
	d3 := det3(a)
	if math.Abs(d3) < 1e-12 {
		return keypoint{}, false
	}
	var off [3]float64
	for c := 0; c < 3; c++ {
		m := a
		for r := 0; r < 3; r++ {
			m[r][c] = b[r]
		}
		off[c] = det3(m) / d3
	}
	if math.Abs(off[0]) > 0.75 || math.Abs(off[1]) > 0.75 || math.Abs(off[2]) > 0.75 {
		return keypoint{}, false
	}
	val := v + 0.5*(gx*off[0]+gy*off[1]+gs*off[2])
	return keypoint{x: float64(x) + off[0], y: float64(y) + off[1], sigma: float64(s) + off[2], strength: math.Abs(val)}, true
}

func det3(m [3][3]float64) float64 {
	return m[0][0]*(m[1][1]*m[2][2]-m[1][2]*m[2][1]) -
		m[0][1]*(m[1][0]*m[2][2]-m[1][2]*m[2][0]) +
		m[0][2]*(m[1][0]*m[2][1]-m[1][1]*m[2][0])
}

// gaussBlur blurs a w x h image with a separable Gaussian of the given
// sigma, clamping at the borders.
func gaussBlur(src []float32, w, h int, sigma float64) []float32 {
	r := max(1, int(math.Ceil(3*sigma)))
	kern := make([]float32, 2*r+1)
	var sum float32
	for i := range kern {
		d := float64(i - r)
		kern[i] = float32(math.Exp(-d * d / (2 * sigma * sigma)))
		sum += kern[i]
	}
	for i := range kern {
		kern[i] /= sum
	}
	tmp := make([]float32, w*h)
	for y := 0; y < h; y++ {
		row := src[y*w : (y+1)*w]
		out := tmp[y*w : (y+1)*w]
		for x := 0; x < w; x++ {
			if x >= r && x+3 < w-r {
				// Four outputs at a time: four independent chains of
				// additions, each in the same order as one alone.
				seg := row[x-r : x+r+4]
				var a0, a1, a2, a3 float32
				for i, kv := range kern {
					s := seg[i : i+4]
					a0 += kv * s[0]
					a1 += kv * s[1]
					a2 += kv * s[2]
					a3 += kv * s[3]
				}
				out[x], out[x+1], out[x+2], out[x+3] = a0, a1, a2, a3
				x += 3
				continue
			}
			var acc float32
			if x >= r && x < w-r {
				seg := row[x-r : x+r+1]
				for i, kv := range kern {
					acc += kv * seg[i]
				}
			} else {
				for i, kv := range kern {
					xx := min(max(x+i-r, 0), w-1)
					acc += kv * row[xx]
				}
			}
			out[x] = acc
		}
	}
	dst := make([]float32, w*h)
	acc := make([]float32, w)
	rowAt := func(y, i int) []float32 {
		yy := min(max(y+i-r, 0), h-1)
		return tmp[yy*w : (yy+1)*w]
	}
	for y := 0; y < h; y++ {
		clear(acc)
		i := 0
		// Four taps per pass over the row: each sum still adds the taps
		// in order, with a quarter of the loads and stores.
		for ; i+4 <= len(kern); i += 4 {
			k0, k1, k2, k3 := kern[i], kern[i+1], kern[i+2], kern[i+3]
			r0, r1, r2, r3 := rowAt(y, i), rowAt(y, i+1), rowAt(y, i+2), rowAt(y, i+3)
			for x := range acc {
				a := acc[x]
				a += k0 * r0[x]
				a += k1 * r1[x]
				a += k2 * r2[x]
				a += k3 * r3[x]
				acc[x] = a
			}
		}
		for ; i < len(kern); i++ {
			kv, row := kern[i], rowAt(y, i)
			for x, v := range row {
				acc[x] += kv * v
			}
		}
		copy(dst[y*w:], acc)
	}
	return dst
}

// patchFrame is an axis-aligned square patch framed by a pair of
// keypoints: centred on their midpoint, its side patchSide times their
// distance d (plane coordinates).
type patchFrame struct {
	mx, my, d float64
}

const patchSide = 1.5

func (f patchFrame) quad() quad {
	s := patchSide * f.d
	return quad{cx: f.mx, cy: f.my, w: s, h: s}
}

// patchFrames pairs each keypoint with its nn nearest others at distances
// between dmin and dmax times the plane's long side, keeping the patches
// that lie inside the plane, at most maxN, strongest pairs first.
func (p *plane) patchFrames(kps []keypoint, nn int, dmin, dmax float64, maxN int) []patchFrame {
	long := float64(max(p.w, p.h))
	lo, hi := dmin*long, dmax*long
	type cand struct {
		j int
		d float64
	}
	seen := make(map[[2]int]bool)
	var out []patchFrame
	var cs []cand
	for i, a := range kps {
		cs = cs[:0]
		for j, b := range kps {
			if j == i {
				continue
			}
			d := math.Hypot(a.x-b.x, a.y-b.y)
			if d >= lo && d <= hi {
				cs = append(cs, cand{j, d})
			}
		}
		slices.SortFunc(cs, func(x, y cand) int { return cmp.Compare(x.d, y.d) })
		lim := len(cs)
		if nn > 0 {
			lim = min(nn, lim)
		}
		for _, c := range cs[:lim] {
			key := [2]int{min(i, c.j), max(i, c.j)}
			if seen[key] {
				continue
			}
			seen[key] = true
			b := kps[c.j]
			f := patchFrame{mx: (a.x + b.x) / 2, my: (a.y + b.y) / 2, d: c.d}
			if !p.inside(f.quad(), 0.5) {
				continue
			}
			out = append(out, f)
			if len(out) == maxN {
				return out
			}
		}
	}
	return out
}
