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

func (g *Gray) at(x, y int) uint8 { return g.Pix[y*g.W+x] }

// ResizeArea shrinks g to w x h by averaging the source area under each
// target pixel (exact fractional coverage), which keeps thin structures
// without aliasing. It never enlarges: w <= g.W and h <= g.H.
func ResizeArea(g *Gray, w, h int) *Gray {
	if w == g.W && h == g.H {
		return g
	}
	// Separable: rows first into float, then columns.
	tmp := make([]float32, w*g.H)
	xw := areaWeights(g.W, w)
	for y := 0; y < g.H; y++ {
		row := g.Pix[y*g.W : (y+1)*g.W]
		out := tmp[y*w : (y+1)*w]
		for _, c := range xw {
			out[c.dst] += c.wt * float32(row[c.src])
		}
	}
	dst := NewGray(w, h)
	acc := make([]float32, w)
	yw := areaWeights(g.H, h)
	cur := -1
	flush := func() {
		if cur < 0 {
			return
		}
		o := dst.Pix[cur*w : (cur+1)*w]
		for i, v := range acc {
			o[i] = clamp8(v)
			acc[i] = 0
		}
	}
	for _, c := range yw {
		if c.dst != cur {
			flush()
			cur = c.dst
		}
		src := tmp[c.src*w : (c.src+1)*w]
		for i, v := range src {
			acc[i] += c.wt * v
		}
	}
	flush()
	return dst
}

type areaWeight struct {
	src, dst int
	wt       float32
}

// areaWeights lists, in target order, the share of each source pixel in
// each target pixel when n source pixels are averaged into m.
func areaWeights(n, m int) []areaWeight {
	out := make([]areaWeight, 0, n+m)
	scale := float64(n) / float64(m)
	for d := 0; d < m; d++ {
		lo, hi := float64(d)*scale, float64(d+1)*scale
		for s := int(lo); s < n && float64(s) < hi; s++ {
			a := math.Max(lo, float64(s))
			b := math.Min(hi, float64(s+1))
			if b > a {
				out = append(out, areaWeight{src: s, dst: d, wt: float32((b - a) / scale)})
			}
		}
	}
	return out
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

// upsample2 doubles g with bilinear interpolation.
func upsample2(g *Gray) *Gray {
	w, h := g.W*2, g.H*2
	d := NewGray(w, h)
	for y := 0; y < h; y++ {
		fy := (float64(y)+0.5)/2 - 0.5
		y0 := clampi(int(math.Floor(fy)), 0, g.H-1)
		y1 := clampi(y0+1, 0, g.H-1)
		ty := float32(min(max(fy-float64(y0), 0), 1))
		for x := 0; x < w; x++ {
			fx := (float64(x)+0.5)/2 - 0.5
			x0 := clampi(int(math.Floor(fx)), 0, g.W-1)
			x1 := clampi(x0+1, 0, g.W-1)
			tx := float32(min(max(fx-float64(x0), 0), 1))
			a := float32(g.at(x0, y0))*(1-tx) + float32(g.at(x1, y0))*tx
			b := float32(g.at(x0, y1))*(1-tx) + float32(g.at(x1, y1))*tx
			d.Pix[y*w+x] = clamp8(a*(1-ty) + b*ty)
		}
	}
	return d
}
