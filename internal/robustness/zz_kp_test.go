package robustness

import (
	"image"
	"math"
	"sort"

	"github.com/leakwatch/leakwatch/fingerprint"
)

type plane struct {
	p    []float32
	w, h int
}

func (p plane) at(x, y int) float32 {
	x = min(max(x, 0), p.w-1)
	y = min(max(y, 0), p.h-1)
	return p.p[y*p.w+x]
}

func (p plane) bilinear(x, y float64) float32 {
	x -= 0.5
	y -= 0.5
	x0, y0 := int(math.Floor(x)), int(math.Floor(y))
	fx, fy := float32(x-float64(x0)), float32(y-float64(y0))
	a := p.at(x0, y0)*(1-fx) + p.at(x0+1, y0)*fx
	b := p.at(x0, y0+1)*(1-fx) + p.at(x0+1, y0+1)*fx
	return a*(1-fy) + b*fy
}

func gblur(src plane, sigma float64) plane {
	if sigma < 0.3 {
		return src
	}
	r := int(math.Ceil(3 * sigma))
	k := make([]float32, 2*r+1)
	var s float32
	for i := range k {
		d := float64(i - r)
		k[i] = float32(math.Exp(-d * d / (2 * sigma * sigma)))
		s += k[i]
	}
	for i := range k {
		k[i] /= s
	}
	w, h := src.w, src.h
	tmp := make([]float32, w*h)
	for y := 0; y < h; y++ {
		row := src.p[y*w : (y+1)*w]
		for x := 0; x < w; x++ {
			var acc float32
			for j, kv := range k {
				xx := min(max(x+j-r, 0), w-1)
				acc += row[xx] * kv
			}
			tmp[y*w+x] = acc
		}
	}
	out := make([]float32, w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var acc float32
			for j, kv := range k {
				yy := min(max(y+j-r, 0), h-1)
				acc += tmp[yy*w+x] * kv
			}
			out[y*w+x] = acc
		}
	}
	return plane{out, w, h}
}

func half(p plane) plane {
	w, h := p.w/2, p.h/2
	out := make([]float32, w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			out[y*w+x] = (p.p[2*y*p.w+2*x] + p.p[2*y*p.w+2*x+1] + p.p[(2*y+1)*p.w+2*x] + p.p[(2*y+1)*p.w+2*x+1]) / 4
		}
	}
	return plane{out, w, h}
}

var workSide = 256

func working(img image.Image) plane {
	l, w, h := fingerprint.Luma(img)
	s := float64(workSide) / float64(max(w, h))
	if s >= 1 {
		return plane{l, w, h}
	}
	tw, th := max(1, int(math.Round(float64(w)*s))), max(1, int(math.Round(float64(h)*s)))
	return plane{areaTo(l, w, h, tw, th), tw, th}
}

type kp struct {
	x, y, sigma float64 // working coords
	resp        float64
}

const (
	scalesPerOct = 3
	sigma0       = 1.6
)

var dogThresh = 0.02 * 255 / scalesPerOct

// detect finds DoG extrema.
func detect(wk plane) ([]kp, []plane) {
	var out []kp
	var octBase []plane
	base := gblur(wk, math.Sqrt(sigma0*sigma0-0.25))
	for oct := 0; oct < 4; oct++ {
		if base.w < 16 || base.h < 16 {
			break
		}
		octBase = append(octBase, base)
		gs := []plane{base}
		k := math.Pow(2, 1.0/scalesPerOct)
		for s := 1; s < scalesPerOct+3; s++ {
			sPrev := sigma0 * math.Pow(k, float64(s-1))
			sTot := sPrev * k
			gs = append(gs, gblur(gs[s-1], math.Sqrt(sTot*sTot-sPrev*sPrev)))
		}
		dogs := make([]plane, len(gs)-1)
		for i := range dogs {
			d := make([]float32, base.w*base.h)
			for j := range d {
				d[j] = gs[i+1].p[j] - gs[i].p[j]
			}
			dogs[i] = plane{d, base.w, base.h}
		}
		w, h := base.w, base.h
		for s := 1; s < len(dogs)-1; s++ {
			for y := 2; y < h-2; y++ {
				for x := 2; x < w-2; x++ {
					v := dogs[s].p[y*w+x]
					if math.Abs(float64(v)) < dogThresh*0.8 {
						continue
					}
					isMax, isMin := true, true
					for ds := -1; ds <= 1 && (isMax || isMin); ds++ {
						for dy := -1; dy <= 1; dy++ {
							for dx := -1; dx <= 1; dx++ {
								if ds == 0 && dy == 0 && dx == 0 {
									continue
								}
								u := dogs[s+ds].p[(y+dy)*w+x+dx]
								if u >= v {
									isMax = false
								}
								if u <= v {
									isMin = false
								}
							}
						}
					}
					if !isMax && !isMin {
						continue
					}
					D := dogs[s]
					dxx := float64(D.p[y*w+x+1] + D.p[y*w+x-1] - 2*v)
					dyy := float64(D.p[(y+1)*w+x] + D.p[(y-1)*w+x] - 2*v)
					dxy := float64(D.p[(y+1)*w+x+1]-D.p[(y+1)*w+x-1]-D.p[(y-1)*w+x+1]+D.p[(y-1)*w+x-1]) / 4
					tr, det := dxx+dyy, dxx*dyy-dxy*dxy
					if det <= 0 || tr*tr/det > 12.1 {
						continue
					}
					gx := float64(D.p[y*w+x+1]-D.p[y*w+x-1]) / 2
					gy := float64(D.p[(y+1)*w+x]-D.p[(y-1)*w+x]) / 2
					gs_ := float64(dogs[s+1].p[y*w+x]-dogs[s-1].p[y*w+x]) / 2
					dss := float64(dogs[s+1].p[y*w+x] + dogs[s-1].p[y*w+x] - 2*v)
					// solve 2x2 for x,y offset; scale separately
					ox := -(dyy*gx - dxy*gy) / det
					oy := -(dxx*gy - dxy*gx) / det
					os := 0.0
					if dss != 0 {
						os = -gs_ / dss
					}
					if math.Abs(ox) > 1 || math.Abs(oy) > 1 || math.Abs(os) > 1 {
						continue
					}
					val := float64(v) + 0.5*(gx*ox+gy*oy+gs_*os)
					if math.Abs(val) < dogThresh {
						continue
					}
					f := math.Pow(2, float64(oct))
					out = append(out, kp{
						x: (float64(x) + ox + 0.5) * f, y: (float64(y) + oy + 0.5) * f,
						sigma: sigma0 * math.Pow(k, float64(s)+os) * f,
						resp:  math.Abs(val),
					})
				}
			}
		}
		base = half(gs[scalesPerOct])
	}
	return out, octBase
}

var maxKP = 30
var pairMin, pairMax = 4.0, 12.0
var patchMul = 1.2
var minQual = 50

type frame struct{ cx, cy, ux, uy, side float64 }

type patchHash struct {
	f    frame
	vm   float64
	v    fingerprint.PDQDihedral
	octs []plane
	wk   plane
	h      fingerprint.PDQDihedral
	ctx    fingerprint.PDQDihedral
	hasCtx bool
	a, b   kp
}

var sideLo, sideHi = 0.3, 0.6
var maxPairs = 48

func pairHashes(img image.Image) []patchHash  { return pairHashesR(img, sideLo, sideHi, maxPairs) }
func queryHashes(img image.Image) []patchHash { return pairHashesR(img, 0.12, 1.0, 2*maxPairs) }

func pairHashesR(img image.Image, lo, hi float64, cap_ int) []patchHash {
	wk := working(img)
	mind := float64(min(wk.w, wk.h))
	kps, octs := detect(wk)
	sort.Slice(kps, func(i, j int) bool { return kps[i].resp > kps[j].resp })
	// drop near borders
	var sel []kp
	for _, p := range kps {
		m := 2 * p.sigma
		if p.x < m || p.y < m || p.x > float64(wk.w)-m || p.y > float64(wk.h)-m {
			continue
		}
		sel = append(sel, p)
		if len(sel) >= maxKP {
			break
		}
	}
	type pr struct {
		a, b kp
		s    float64
	}
	var prs []pr
	for i, a := range sel {
		for j, b := range sel {
			if j <= i {
				continue
			}
			r := a.sigma / b.sigma
			if r > 4 || r < 0.25 {
				continue
			}
			d := math.Hypot(b.x-a.x, b.y-a.y)
			side := patchMul * d
			if side < lo*mind || side > hi*mind {
				continue
			}
			prs = append(prs, pr{a, b, min(a.resp, b.resp)})
		}
	}
	sort.Slice(prs, func(i, j int) bool { return prs[i].s > prs[j].s })
	var out []patchHash
	buf := make([]float32, 64*64)
	for _, p := range prs {
		if len(out) >= cap_ {
			break
		}
		a, b := p.a, p.b
		{
			d := math.Hypot(b.x-a.x, b.y-a.y)
			side := patchMul * d
			cx, cy := (a.x+b.x)/2, (a.y+b.y)/2
			ux, uy := (b.x-a.x)/d, (b.y-a.y)/d
			// patch must lie inside
			hs := side / 2 * math.Sqrt2
			if cx-hs < 0 || cy-hs < 0 || cx+hs > float64(wk.w) || cy+hs > float64(wk.h) {
				// allow if rotated square corners inside
				ok := true
				for _, c := range [][2]float64{{-1, -1}, {1, -1}, {-1, 1}, {1, 1}} {
					px := cx + (c[0]*ux-c[1]*uy)*side/2
					py := cy + (c[0]*uy+c[1]*ux)*side/2
					if px < 0 || py < 0 || px > float64(wk.w) || py > float64(wk.h) {
						ok = false
					}
				}
				if !ok {
					continue
				}
			}
			ph := patchHash{a: a, b: b, f: frame{cx, cy, ux, uy, side}, octs: octs, wk: wk}
			ph.h = samplePatch(octs, cx, cy, ux, uy, side, buf)
			if ph.h.Quality < minQual {
				continue
			}
			cs := side * ctxMul
			if inside(wk, cx, cy, ux, uy, cs) {
				ph.ctx = samplePatch(octs, cx, cy, ux, uy, cs, buf)
				ph.hasCtx = ph.ctx.Quality >= minQual
			}
			out = append(out, ph)
		}
	}
	return out
}

var ctxMul = 2.0

func inside(wk plane, cx, cy, ux, uy, side float64) bool {
	for _, c := range [][2]float64{{-1, -1}, {1, -1}, {-1, 1}, {1, 1}} {
		px := cx + (c[0]*ux-c[1]*uy)*side/2
		py := cy + (c[0]*uy+c[1]*ux)*side/2
		if px < 0 || py < 0 || px > float64(wk.w) || py > float64(wk.h) {
			return false
		}
	}
	return true
}

func samplePatch(octs []plane, cx, cy, ux, uy, side float64, buf []float32) fingerprint.PDQDihedral {
	{
		step := side / 64
		// pick octave
		o := 0
		for o+1 < len(octs) && math.Pow(2, float64(o+1)) <= step {
			o++
		}
		src := octs[o]
		f := math.Pow(2, float64(o))
		for yy := 0; yy < 64; yy++ {
			for xx := 0; xx < 64; xx++ {
				u := (float64(xx) + 0.5 - 32) * step
				v := (float64(yy) + 0.5 - 32) * step
				px := cx + u*ux - v*uy
				py := cy + u*uy + v*ux
				buf[yy*64+xx] = src.bilinear(px/f, py/f)
			}
		}
		return fingerprint.PDQAllFromLuma(buf, 64, 64)
	}
}
