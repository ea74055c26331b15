package area

import "image"

// Sum accumulates the luma of a w x h image into its reduction by d.
type Sum struct {
	w, h, d int
	ow, oh  int
	// acc sums the luma of the pixels each output pixel covers; at full
	// size (d == 1) each pixel is written once, straight into out.
	acc []float32
	out *image.Gray
	lum []float32 // one chunk's luma, for AddPacked
}

// chunk is how many pixels of a row AddPacked converts at a time: a
// multiple of 8, so that a chunk of packed samples starts on a byte, and
// of every reduction, so that it starts on a block edge.
const chunk = 4096

// New returns an empty Sum for a w x h image reduced by d (d < 1 is 1):
// the output is ceil(w/d) x ceil(h/d). The caller bounds the sizes.
func New(w, h, d int) *Sum {
	d = max(d, 1)
	s := &Sum{w: w, h: h, d: d, ow: (w + d - 1) / d, oh: (h + d - 1) / d}
	s.out = image.NewGray(image.Rect(0, 0, s.ow, s.oh))
	if d > 1 {
		s.acc = make([]float32, s.ow*s.oh)
	}
	return s
}

// Size is the output's width and height.
func (s *Sum) Size() (int, int) { return s.ow, s.oh }

// Row adds lum[j], the luma of pixel (x0+j*dx, y), for each j. Pixels
// outside the image (a tile's padding) are the caller's to leave out.
func (s *Sum) Row(lum []float32, x0, dx, y int) {
	d := s.d
	if d == 1 {
		out := s.out.Pix[y*s.out.Stride:]
		for j, v := range lum {
			out[x0+j*dx] = clamp(v + 0.5)
		}
		return
	}
	out := s.acc[(y/d)*s.ow:][:s.ow]
	if dx != 1 || x0%d != 0 {
		for j, v := range lum {
			out[(x0+j*dx)/d] += v
		}
		return
	}
	// A contiguous run starting on a block edge: sum each block's pixels
	// before adding them (most rows of most files).
	for ox := x0 / d; len(lum) > 0; ox++ {
		n := min(d, len(lum))
		var sum float32
		for _, v := range lum[:n] {
			sum += v
		}
		out[ox] += sum
		lum = lum[n:]
	}
}

// AddPacked adds the n pixels of a row of packed samples, bits bits a
// pixel, to pixels x0, x0+dx, ... of row y: luma writes the luma of the
// pixels starting at its row's first byte to dst. It converts a chunk of
// pixels at a time, so that a reader's buffers stay small however wide
// the image.
func (s *Sum) AddPacked(row []byte, n, bits, x0, dx, y int, luma func(dst []float32, row []byte)) {
	if s.lum == nil {
		s.lum = make([]float32, chunk)
	}
	for k := 0; k < n; k += chunk {
		m := min(chunk, n-k)
		luma(s.lum[:m], row[k*bits/8:])
		s.Row(s.lum[:m], x0+k*dx, dx, y)
	}
}

// Gray returns the reduced image: each pixel the mean of the luma added
// to it, divided by the pixels its block covers (fewer at the right and
// bottom edges).
func (s *Sum) Gray() *image.Gray {
	if s.d == 1 {
		return s.out
	}
	g, d := s.out, s.d
	for oy := range s.oh {
		bh := min(d, s.h-oy*d)
		for ox := range s.ow {
			bw := min(d, s.w-ox*d)
			g.Pix[oy*g.Stride+ox] = clamp(s.acc[oy*s.ow+ox]/float32(bw*bh) + 0.5)
		}
	}
	return g
}

func clamp(v float32) uint8 { return uint8(min(max(v, 0), 255)) }

// Weights holds the luma products the fingerprint uses for 8-bit
// channels (fingerprint/pdq, as the PDQ reference computes them): 0.299 R
// + 0.587 G + 0.114 B, each product rounded to float32 before the sum.
type Weights [3][256]float32

// NewWeights returns the tables.
func NewWeights() *Weights {
	var t Weights
	for v := range 256 {
		t[0][v] = float32(0.299 * float32(v))
		t[1][v] = float32(0.587 * float32(v))
		t[2][v] = float32(0.114 * float32(v))
	}
	return &t
}

// RGB is the luma of a straight 8-bit colour.
func (t *Weights) RGB(r, g, b uint8) float32 { return t[0][r] + t[1][g] + t[2][b] }

// Unpremultiply turns a premultiplied 8-bit channel into a straight one
// the way color.NRGBAModel does.
func Unpremultiply(c, a uint8) uint8 {
	switch a {
	case 0xff:
		return c
	case 0:
		return 0
	}
	c16, a16 := uint32(c)*0x101, uint32(a)*0x101
	return uint8((c16 * 0xffff / a16) >> 8)
}

// RGB16 is the luma of a straight 16-bit colour, scaled to 0..255.
func RGB16(r, g, b uint16) float32 {
	return (float32(0.299*float32(r)) + float32(0.587*float32(g)) + float32(0.114*float32(b))) / 257
}
