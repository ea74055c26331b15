package feature

import (
	"image"
	"math"
)

// Gray is an 8-bit grey image, row-major without padding.
type Gray struct {
	Pix  []uint8
	W, H int
}

// NewGray returns a black w x h image.
func NewGray(w, h int) *Gray { return &Gray{Pix: make([]uint8, w*h), W: w, H: h} }

// ResizeArea shrinks g to w x h by averaging the source area under each
// target pixel (exact fractional coverage), which keeps thin structures
// without aliasing. It never enlarges: w <= g.W and h <= g.H.
func ResizeArea(g *Gray, w, h int) *Gray {
	if w == g.W && h == g.H {
		return g
	}
	// Separable: rows first into float, then columns. Each target's sum
	// is taken in source order, starting from zero, so that the result
	// does not depend on how the passes are arranged. Source rows are
	// shrunk when the columns first need them, into a ring holding the
	// rows one target row reads.
	xs, ys := areaWeights(g.W, w), areaWeights(g.H, h)
	ringN := 1
	for d := range h {
		ringN = max(ringN, ys.start[d+1]-ys.start[d])
	}
	ring := make([]float32, ringN*w)
	next := 0
	row := func(y int) []float32 {
		for ; next <= y; next++ {
			src := g.Pix[next*g.W : (next+1)*g.W]
			out := ring[(next%ringN)*w : (next%ringN+1)*w]
			xs.apply(src, out)
		}
		return ring[(y%ringN)*w : (y%ringN+1)*w]
	}
	dst := NewGray(w, h)
	var acc []float32
	for d := range h {
		o := dst.Pix[d*w : (d+1)*w]
		k0, k1 := ys.start[d], ys.start[d+1]
		switch k1 - k0 {
		case 1:
			w0, r0 := ys.wt[k0], row(ys.src[k0])[:w]
			for i := range o {
				o[i] = clamp8(w0 * r0[i])
			}
		case 2:
			w0, r0 := ys.wt[k0], row(ys.src[k0])[:w]
			w1, r1 := ys.wt[k0+1], row(ys.src[k0+1])[:w]
			for i := range o {
				o[i] = clamp8(w0*r0[i] + w1*r1[i])
			}
		case 3:
			w0, r0 := ys.wt[k0], row(ys.src[k0])[:w]
			w1, r1 := ys.wt[k0+1], row(ys.src[k0+1])[:w]
			w2, r2 := ys.wt[k0+2], row(ys.src[k0+2])[:w]
			for i := range o {
				o[i] = clamp8(w0*r0[i] + w1*r1[i] + w2*r2[i])
			}
		default:
			if acc == nil {
				acc = make([]float32, w)
			}
			clear(acc)
			for k := k0; k < k1; k++ {
				wt, r := ys.wt[k], row(ys.src[k])[:w]
				for i := range acc {
					acc[i] += wt * r[i]
				}
			}
			for i, v := range acc {
				o[i] = clamp8(v)
			}
		}
	}
	return dst
}

// areaTable lists, for each target pixel d, the source pixels
// src[start[d]:start[d+1]] (in increasing order) and their shares wt.
type areaTable struct {
	start []int
	src   []int
	wt    []float32
	// pad is the same with three taps per target, when no target has
	// more (the common shrinks by less than 2).
	pad []areaTap
}

// apply writes into out the weighted sums of src that t describes.
func (t *areaTable) apply(src []uint8, out []float32) {
	if t.pad != nil {
		// Every target has exactly three taps, the missing ones with
		// weight 0 at the end (adding +0 leaves a sum unchanged), so the
		// loop has no data-dependent branch.
		p := t.pad[:3*len(out)]
		for d := range out {
			tp := p[3*d : 3*d+3]
			out[d] = tp[0].wt*float32(src[tp[0].src]) + tp[1].wt*float32(src[tp[1].src]) + tp[2].wt*float32(src[tp[2].src])
		}
		return
	}
	for d := range out {
		var s float32
		for k := t.start[d]; k < t.start[d+1]; k++ {
			s += t.wt[k] * float32(src[t.src[k]])
		}
		out[d] = s
	}
}

type areaTap struct {
	src int32
	wt  float32
}

// areaWeights gives the share of each source pixel in each target pixel
// when n source pixels are averaged into m.
func areaWeights(n, m int) areaTable {
	t := areaTable{start: make([]int, 1, m+1), src: make([]int, 0, n+m), wt: make([]float32, 0, n+m)}
	scale := float64(n) / float64(m)
	for d := 0; d < m; d++ {
		lo, hi := float64(d)*scale, float64(d+1)*scale
		for s := int(lo); s < n && float64(s) < hi; s++ {
			a := math.Max(lo, float64(s))
			b := math.Min(hi, float64(s+1))
			if b > a {
				t.src = append(t.src, s)
				t.wt = append(t.wt, float32((b-a)/scale))
			}
		}
		t.start = append(t.start, len(t.src))
	}
	most := 0
	for d := range m {
		most = max(most, t.start[d+1]-t.start[d])
	}
	if most == 2 || most == 3 {
		t.pad = make([]areaTap, 3*m)
		for d := range m {
			k0, k1 := t.start[d], t.start[d+1]
			for j := range 3 {
				k := min(k0+j, k1-1)
				t.pad[3*d+j] = areaTap{src: int32(t.src[k])}
				if k0+j < k1 {
					t.pad[3*d+j].wt = t.wt[k]
				}
			}
		}
	}
	return t
}

func clamp8(v float32) uint8 {
	switch {
	case v <= 0:
		return 0
	case v >= 255:
		return 255
	}
	return uint8(v + 0.5)
}

// boxBlur returns g smoothed by a (2r+1)-wide box filter, twice (a tent
// close to a Gaussian of sigma ~ 0.8r), with edges clamped. The descriptor
// compares smoothed intensities so that single-pixel noise and JPEG ringing
// do not flip its bits.
func boxBlur(g *Gray, r int) *Gray {
	a := boxPass(g, r)
	return boxPass(a, r)
}

func boxPass(g *Gray, r int) *Gray {
	w, h := g.W, g.H
	n := 2*r + 1
	nn := uint32(n * n)
	half := nn / 2
	dst := NewGray(w, h)
	if w == 0 || h == 0 {
		return dst
	}
	// Horizontal window sums of the rows the vertical window covers, in a
	// ring: rows are summed once, when the window first reaches them.
	ringN := 2*r + 2
	ring := make([]uint16, ringN*w)
	rowSum := func(y int) []uint16 { return ring[(y%ringN)*w : (y%ringN+1)*w] }
	next := 0
	need := func(y int) []uint16 {
		for ; next <= y; next++ {
			hsum(g.Pix[next*w:(next+1)*w], rowSum(next), r)
		}
		return rowSum(y)
	}
	// div[s] is the rounded mean of a window summing to s; the table
	// replaces a division per pixel when it is small.
	var div []uint8
	if nn <= 17*17 {
		div = make([]uint8, 255*nn+1)
		for s := range div {
			div[s] = uint8((uint32(s) + half) / nn)
		}
	}
	acc := make([]uint32, w)
	for i := -r; i <= r; i++ {
		for x, v := range need(clampi(i, 0, h-1)) {
			acc[x] += uint32(v)
		}
	}
	for y := 0; y < h; y++ {
		out := dst.Pix[y*w : (y+1)*w]
		if div != nil {
			for x, s := range acc[:len(out)] {
				out[x] = div[s]
			}
		} else {
			for x, s := range acc[:len(out)] {
				out[x] = uint8((s + half) / nn)
			}
		}
		if y == h-1 {
			break
		}
		add, sub := need(clampi(y+r+1, 0, h-1)), rowSum(clampi(y-r, 0, h-1))
		add, sub = add[:len(acc)], sub[:len(acc)]
		for x := range acc {
			acc[x] += uint32(add[x]) - uint32(sub[x])
		}
	}
	return dst
}

// hsum writes the sums of the (2r+1)-wide windows of row, edges clamped.
func hsum(row []uint8, out []uint16, r int) {
	w := len(row)
	out = out[:w]
	var s uint32
	for i := -r; i <= r; i++ {
		s += uint32(row[clampi(i, 0, w-1)])
	}
	// Steps from x to x+1 add row[x+r+1] and drop row[x-r]; only those
	// near the edges clamp.
	lo, hi := min(r, w), max(min(w-1-r, w), min(r, w))
	for x := 0; x < lo; x++ {
		out[x] = uint16(s)
		s += uint32(row[clampi(x+r+1, 0, w-1)]) - uint32(row[clampi(x-r, 0, w-1)])
	}
	for x := lo; x < hi; x++ {
		out[x] = uint16(s)
		s += uint32(row[x+r+1]) - uint32(row[x-r])
	}
	for x := hi; x < w; x++ {
		out[x] = uint16(s)
		s += uint32(row[clampi(x+r+1, 0, w-1)]) - uint32(row[clampi(x-r, 0, w-1)])
	}
}

func clampi(v, lo, hi int) int {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

// GrayFromImage converts img to grey (Rec. 601 luma), for tests and tools;
// the fingerprint pipeline builds its own from its luma plane.
func GrayFromImage(img image.Image) *Gray {
	b := img.Bounds()
	g := NewGray(b.Dx(), b.Dy())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, gg, bb, _ := img.At(x, y).RGBA()
			g.Pix[(y-b.Min.Y)*g.W+x-b.Min.X] = uint8((299*r + 587*gg + 114*bb + 500*257) / (1000 * 257))
		}
	}
	return g
}

// upsample2 doubles g with bilinear interpolation. Each output pixel is
// (sum of wy*wx*p)/16 over its 2x2 source neighbours, with weights in
// quarters (3 and 1, or 4 and 0 at the first row and column), which is
// exact in integers.
func upsample2(g *Gray) *Gray {
	w, h := g.W*2, g.H*2
	d := NewGray(w, h)
	if w == 0 || h == 0 {
		return d
	}
	xi, xw := upTaps(w, g.W)
	yi, yw := upTaps(h, g.H)
	// Source rows interpolated across, two at a time (the rows one output
	// row reads are consecutive).
	var hr [2][]int32
	hr[0], hr[1] = make([]int32, w), make([]int32, w)
	done := [2]int{-1, -1}
	across := func(sy int) []int32 {
		r := hr[sy%2]
		if done[sy%2] != sy {
			src := g.Pix[sy*g.W : (sy+1)*g.W]
			for x := range r {
				r[x] = int32(int(src[xi[x][0]])*xw[x][0] + int(src[xi[x][1]])*xw[x][1])
			}
			done[sy%2] = sy
		}
		return r
	}
	for y := 0; y < h; y++ {
		a, b := across(yi[y][0]), across(yi[y][1])
		wy0, wy1 := int32(yw[y][0]), int32(yw[y][1])
		out := d.Pix[y*w : (y+1)*w]
		a, b = a[:len(out)], b[:len(out)]
		for x := range out {
			out[x] = uint8((a[x]*wy0 + b[x]*wy1 + 8) >> 4)
		}
	}
	return d
}

// upTaps lists, for each of the n = 2m output positions, its two source
// positions and their weights in quarters.
func upTaps(n, m int) (idx [][2]int, wt [][2]int) {
	idx, wt = make([][2]int, n), make([][2]int, n)
	for x := range n {
		f := (float64(x)+0.5)/2 - 0.5
		x0 := clampi(int(math.Floor(f)), 0, m-1)
		t := min(max(f-float64(x0), 0), 1)
		q := int(t * 4) // t is 0, 1/4 or 3/4
		idx[x] = [2]int{x0, clampi(x0+1, 0, m-1)}
		wt[x] = [2]int{4 - q, q}
	}
	return idx, wt
}
