package fingerprint

import (
	"image"
	"math"
	"sync"

	"github.com/leakwatch/leakwatch/fingerprint/pdq"
)

// The matching hashes (whole image, enrolled regions, query candidates) are
// all PDQ hashes of a 64x64 grid of exact area averages taken from one
// working plane: the image's luma, area-resampled so that its longer side
// is at most workingMaxSide. A 64x64 input is what the PDQ reference hashes
// without its own resampling front end (Jarosz filter after a
// nearest-neighbour shrink to 512), so each of these hashes is Meta's PDQ
// of a 64x64 area-resampled copy of the (sub-)image.
//
// Why not the reference front end: its filter and decimation are not
// mirror-symmetric, so the hash of a flipped or rotated copy is only close
// to the dihedral variant computed from the original's coefficients. On our
// generated suite that gap reached 32 bits for mirrored and 40 bits for
// 180-degree-rotated documents and textures; with exact area averages it is
// 0, and resize-by-half distances fell from at most 24 to at most 4, while
// the distances between unrelated images did not move (BENCHMARKS.md).
const (
	workingMaxSide = 512
	gridSide       = 64
)

// plane is a working luma plane with its summed-area table.
type plane struct {
	pix  []float32
	w, h int
	// sat is (w+1) x (h+1): sat[y*(w+1)+x] is the sum of pix over
	// [0,x) x [0,y). The integral of the piecewise-constant image over
	// [0,x] x [0,y] is bilinear inside each pixel, so interpolating sat
	// bilinearly gives exact area integrals at fractional coordinates.
	sat []float64
}

// planeFromImage builds the working plane of img. It reports false for
// empty images or images whose bounds hold more than pdq.MaxLumaPixels.
func planeFromImage(img image.Image) (*plane, bool) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 || w > pdq.MaxLumaPixels/h {
		return nil, false
	}
	tw, th := workingSize(w, h)
	p := &plane{w: tw, h: th, pix: make([]float32, tw*th)}
	rs := newAreaResampler(w, tw)
	ry := newAreaResampler(h, th)
	row := make([]float32, w)
	// acc holds the two plane rows a source row can touch.
	acc := [2][]float32{make([]float32, tw), make([]float32, tw)}
	lr := pdq.NewLumaRows(img)
	out := 0 // the plane row acc[0] accumulates
	for y := 0; y < h; y++ {
		switch m := img.(type) {
		case *image.YCbCr:
			// Y is JFIF luma with the same weights as ours; using it
			// directly skips a colour conversion per pixel.
			ys := m.Y[m.YOffset(b.Min.X, b.Min.Y+y):]
			for x := range row {
				row[x] = float32(ys[x])
			}
		case *image.Gray:
			gs := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := range row {
				row[x] = float32(gs[x])
			}
		default:
			lr.Read(row, y)
		}
		line := rs.apply(row)
		d := ry.dst[y]
		if d != out {
			// Plane rows are completed in order.
			copy(p.pix[out*tw:(out+1)*tw], acc[0])
			acc[0], acc[1] = acc[1], acc[0]
			clear(acc[1])
			out = d
		}
		w0, w1 := ry.w0[y], ry.w1[y]
		for x, v := range line {
			acc[0][x] += w0 * v
		}
		if w1 != 0 {
			for x, v := range line {
				acc[1][x] += w1 * v
			}
		}
	}
	copy(p.pix[out*tw:(out+1)*tw], acc[0])
	if out+1 < th {
		copy(p.pix[(out+1)*tw:(out+2)*tw], acc[1])
	}
	p.buildSAT()
	return p, true
}

// planeFromLuma wraps a w x h luma plane (values 0..255), resampling it to
// the working size. It is what tests and fuzzers drive directly.
func planeFromLuma(luma []float32, w, h int) (*plane, bool) {
	if w <= 0 || h <= 0 || len(luma) < w*h || w > pdq.MaxLumaPixels/h {
		return nil, false
	}
	g := &image.Gray{Pix: make([]uint8, w*h), Stride: w, Rect: image.Rect(0, 0, w, h)}
	for i, v := range luma[:w*h] {
		g.Pix[i] = uint8(min(max(v, 0), 255) + 0.5)
	}
	return planeFromImage(g)
}

// workingSize returns the plane size for a w x h image: the image's own
// size, or scaled down so that its longer side is workingMaxSide.
func workingSize(w, h int) (int, int) {
	if w <= workingMaxSide && h <= workingMaxSide {
		return w, h
	}
	s := float64(workingMaxSide) / float64(max(w, h))
	tw := min(workingMaxSide, max(1, int(math.Round(float64(w)*s))))
	th := min(workingMaxSide, max(1, int(math.Round(float64(h)*s))))
	return tw, th
}

// areaResampler maps n source samples onto m destination samples
// (1 <= m <= n) with exact fractional coverage: destination d is the mean of
// the source over [d*n/m, (d+1)*n/m). Each source sample overlaps at most
// two destination samples, dst[i] and dst[i]+1, with weights w0[i] and
// w1[i] that sum to m/n.
type areaResampler struct {
	m      int
	dst    []int
	w0, w1 []float32
	out    []float32
}

func newAreaResampler(n, m int) *areaResampler {
	r := &areaResampler{m: m, dst: make([]int, n), w0: make([]float32, n), w1: make([]float32, n), out: make([]float32, m)}
	step := float64(n) / float64(m)
	for i := 0; i < n; i++ {
		a, b := float64(i)/step, float64(i+1)/step
		d := min(int(a), m-1)
		r.dst[i] = d
		if cut := float64(d + 1); b > cut && d+1 < m {
			r.w0[i], r.w1[i] = float32(cut-a), float32(b-cut)
		} else {
			r.w0[i] = float32(b - a)
		}
	}
	return r
}

// apply resamples one row into a buffer that the next call reuses.
func (r *areaResampler) apply(src []float32) []float32 {
	if len(src) == r.m {
		return src
	}
	out := r.out
	clear(out)
	for i, v := range src {
		d := r.dst[i]
		out[d] += r.w0[i] * v
		if w := r.w1[i]; w != 0 {
			out[d+1] += w * v
		}
	}
	return out
}

func (p *plane) buildSAT() {
	w1 := p.w + 1
	p.sat = make([]float64, w1*(p.h+1))
	for y := 0; y < p.h; y++ {
		var run float64
		prev, cur := p.sat[y*w1:(y+1)*w1], p.sat[(y+1)*w1:(y+2)*w1]
		for x := 0; x < p.w; x++ {
			run += float64(p.pix[y*p.w+x])
			cur[x+1] = prev[x+1] + run
		}
	}
}

// integral returns the integral of the plane over [0,x] x [0,y], with x and
// y clamped to the plane.
func (p *plane) integral(x, y float64) float64 {
	x = math.Min(math.Max(x, 0), float64(p.w))
	y = math.Min(math.Max(y, 0), float64(p.h))
	x0, y0 := int(x), int(y)
	if x0 >= p.w {
		x0 = p.w - 1
	}
	if y0 >= p.h {
		y0 = p.h - 1
	}
	fx, fy := x-float64(x0), y-float64(y0)
	w1 := p.w + 1
	a := p.sat[y0*w1+x0]
	b := p.sat[y0*w1+x0+1]
	c := p.sat[(y0+1)*w1+x0]
	d := p.sat[(y0+1)*w1+x0+1]
	return a*(1-fx)*(1-fy) + b*fx*(1-fy) + c*(1-fx)*fy + d*fx*fy
}

// boxMean is the exact mean of the plane over the axis-aligned box
// [x0,x1) x [y0,y1) (clamped to the plane).
func (p *plane) boxMean(x0, y0, x1, y1 float64) float32 {
	x0, x1 = math.Max(x0, 0), math.Min(x1, float64(p.w))
	y0, y1 = math.Max(y0, 0), math.Min(y1, float64(p.h))
	area := (x1 - x0) * (y1 - y0)
	if area <= 1e-9 {
		return p.pix[min(int(y0), p.h-1)*p.w+min(int(x0), p.w-1)]
	}
	s := p.integral(x1, y1) - p.integral(x0, y1) - p.integral(x1, y0) + p.integral(x0, y0)
	return float32(s / area)
}

// quad is a rectangle in plane coordinates, possibly turned: centre,
// width and height along its own axes, and the angle (radians, clockwise
// in y-down coordinates) of its x axis.
type quad struct {
	cx, cy, w, h, angle float64
}

// rectQuad is the axis-aligned quad covering [x0,x1) x [y0,y1).
func rectQuad(x0, y0, x1, y1 float64) quad {
	return quad{cx: (x0 + x1) / 2, cy: (y0 + y1) / 2, w: x1 - x0, h: y1 - y0}
}

// inside reports whether every corner of q lies within the plane, with a
// tolerance of tol plane pixels.
func (p *plane) inside(q quad, tol float64) bool {
	c, s := math.Cos(q.angle), math.Sin(q.angle)
	for _, k := range [4][2]float64{{-1, -1}, {1, -1}, {-1, 1}, {1, 1}} {
		u, v := k[0]*q.w/2, k[1]*q.h/2
		x, y := q.cx+u*c-v*s, q.cy+u*s+v*c
		if x < -tol || y < -tol || x > float64(p.w)+tol || y > float64(p.h)+tol {
			return false
		}
	}
	return true
}

// sample fills g with the 64x64 grid of q: each cell is the exact area mean
// of the axis-aligned box of the cell's size centred on the cell's centre.
// For an axis-aligned quad that is the exact area average of the cell; for
// the small angles we sample turned quads at, the box differs from the
// turned cell only at its corners.
func (p *plane) sample(q quad, g *[gridSide * gridSide]float32) {
	if q.angle == 0 {
		p.sampleGrid(q.cx-q.w/2, q.cy-q.h/2, q.w, q.h, gridSide, gridSide, g[:])
		return
	}
	c, s := math.Cos(q.angle), math.Sin(q.angle)
	cw, ch := q.w/gridSide, q.h/gridSide
	area := cw * ch
	fast := p.inside(quad{cx: q.cx, cy: q.cy, w: q.w + cw, h: q.h + ch, angle: q.angle}, -1)
	for j := 0; j < gridSide; j++ {
		v := (float64(j)+0.5)*ch - q.h/2
		for i := 0; i < gridSide; i++ {
			u := (float64(i)+0.5)*cw - q.w/2
			x, y := q.cx+u*c-v*s, q.cy+u*s+v*c
			if fast && area > 1e-9 {
				x0, y0, x1, y1 := x-cw/2, y-ch/2, x+cw/2, y+ch/2
				sum := p.integralIn(x1, y1) - p.integralIn(x0, y1) - p.integralIn(x1, y0) + p.integralIn(x0, y0)
				g[j*gridSide+i] = float32(sum / area)
			} else {
				g[j*gridSide+i] = p.boxMean(x-cw/2, y-ch/2, x+cw/2, y+ch/2)
			}
		}
	}
}

// integralIn is integral for 0 <= x < w and 0 <= y < h (no clamping).
func (p *plane) integralIn(x, y float64) float64 {
	x0, y0 := int(x), int(y)
	fx, fy := x-float64(x0), y-float64(y0)
	w1 := p.w + 1
	i := y0*w1 + x0
	a, b := p.sat[i], p.sat[i+1]
	c, d := p.sat[i+w1], p.sat[i+w1+1]
	top := a + (b-a)*fx
	return top + (c+(d-c)*fx-top)*fy
}

// sampleGrid fills g (nx x ny, row-major) with the exact area means of the
// cells of the box [x0, x0+w) x [y0, y0+h), sharing each cell corner's
// integral with its neighbours.
func (p *plane) sampleGrid(x0, y0, w, h float64, nx, ny int, g []float32) {
	cw, ch := w/float64(nx), h/float64(ny)
	area := cw * ch
	// Column positions: integer part and fraction, clamped to the plane.
	xi := make([]int, nx+1)
	xf := make([]float64, nx+1)
	for i := range xi {
		x := math.Min(math.Max(x0+float64(i)*cw, 0), float64(p.w))
		k := min(int(x), p.w-1)
		xi[i], xf[i] = k, x-float64(k)
	}
	w1 := p.w + 1
	rowIntegral := func(y float64, dst []float64) {
		y = math.Min(math.Max(y, 0), float64(p.h))
		k := min(int(y), p.h-1)
		fy := y - float64(k)
		r0, r1 := p.sat[k*w1:(k+1)*w1], p.sat[(k+1)*w1:(k+2)*w1]
		for i, c := range xi {
			f := xf[i]
			top := r0[c] + (r0[c+1]-r0[c])*f
			bot := r1[c] + (r1[c+1]-r1[c])*f
			dst[i] = top + (bot-top)*fy
		}
	}
	prev, cur := make([]float64, nx+1), make([]float64, nx+1)
	rowIntegral(y0, prev)
	for j := 1; j <= ny; j++ {
		rowIntegral(y0+float64(j)*ch, cur)
		out := g[(j-1)*nx : j*nx]
		for i := range out {
			v := cur[i+1] - cur[i] - prev[i+1] + prev[i]
			if area > 1e-12 {
				out[i] = float32(v / area)
			} else {
				out[i] = p.boxMean(x0+float64(i)*cw, y0+float64(j-1)*ch, x0+float64(i+1)*cw, y0+float64(j)*ch)
			}
		}
		prev, cur = cur, prev
	}
}

var gridPool = sync.Pool{New: func() any { return new([gridSide * gridSide]float32) }}

// hashQuad returns the PDQ hash and quality of q's 64x64 grid.
func (p *plane) hashQuad(q quad) pdq.Result {
	g := gridPool.Get().(*[gridSide * gridSide]float32)
	defer gridPool.Put(g)
	p.sample(q, g)
	return pdq.HashLuma(g[:], gridSide, gridSide)
}

// hashQuadAll is hashQuad with the eight dihedral variants.
func (p *plane) hashQuadAll(q quad) pdq.Dihedral {
	g := gridPool.Get().(*[gridSide * gridSide]float32)
	defer gridPool.Put(g)
	p.sample(q, g)
	return pdq.HashAllLuma(g[:], gridSide, gridSide)
}

// whole is the quad covering the plane.
func (p *plane) whole() quad { return rectQuad(0, 0, float64(p.w), float64(p.h)) }
