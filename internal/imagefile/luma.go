package imagefile

import (
	"compress/lzw"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
)

// The canvas frames are composed on is their luma, one byte a pixel: all
// matching reads of a frame (a fourth of an RGBA canvas). A pixel's luma
// is 0.299 R + 0.587 G + 0.114 B of its straight colour, each product
// rounded to float32 before the sum (what the fingerprint reads from an
// RGBA image), rounded to a byte; a transparent pixel reads as black.

// lumaOf is the luma of a straight 8-bit colour.
func lumaOf(r, g, b uint8) float32 {
	return float32(0.299*float32(r)) + float32(0.587*float32(g)) + float32(0.114*float32(b))
}

func toByte(v float32) uint8 { return uint8(min(max(v+0.5, 0), 255)) }

// lumaCanvas allocates the w x h canvas after checking it against the
// limit.
func lumaCanvas(w, h int, opts Options) (*image.Gray, error) {
	if w <= 0 || h <= 0 {
		return nil, fmt.Errorf("%w: canvas %dx%d", ErrCorrupt, w, h)
	}
	if px := int64(w) * int64(h); px > opts.MaxPixels {
		return nil, fmt.Errorf("%w: %dx%d, limit %d pixels", ErrTooManyPixels, w, h, opts.MaxPixels)
	}
	return image.NewGray(image.Rect(0, 0, w, h)), nil
}

// clearGray makes r of the canvas transparent (black).
func clearGray(c *image.Gray, r image.Rectangle) {
	r = r.Intersect(c.Rect)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		clear(c.Pix[y*c.Stride+r.Min.X : y*c.Stride+r.Max.X])
	}
}

// gifImage is a GIF frame's image block, parsed: where it goes, the luma
// of its colours, its transparent index and its LZW data.
type gifImage struct {
	rect       image.Rectangle
	lum        []uint8 // per colour index; the transparent index included
	trans      int     // transparent index, or -1
	interlaced bool
	litWidth   int
	data       []byte // the data sub-blocks, through the terminator
}

var (
	errGIFTooMuch   = errors.New("too much image data")
	errGIFBadPixel  = errors.New("invalid pixel value")
	errGIFNotEnough = errors.New("not enough image data")
)

// parseGIFImage reads the frame's descriptor and colour tables the way
// image/gif does: the frame must lie within the screen, a colour table
// must exist, and a transparent index past the table enlarges it with
// transparent colours.
func parseGIFImage(screen []byte, f gifFrame) (gifImage, error) {
	b := f.image
	fields := b[9]
	g := gifImage{rect: f.rect, trans: -1, interlaced: fields&0x40 != 0}
	sw, sh := int(screen[6])|int(screen[7])<<8, int(screen[8])|int(screen[9])<<8
	if f.rect.Max.X > sw || f.rect.Max.Y > sh {
		return g, errors.New("frame bounds larger than image bounds")
	}
	var table []byte
	i := 10
	switch {
	case fields&0x80 != 0:
		n := 3 << (fields&7 + 1)
		table, i = b[i:i+n], i+n
	case screen[10]&0x80 != 0:
		table = screen[13:gifScreen(screen)]
	default:
		return g, errors.New("no color table")
	}
	if g.litWidth = int(b[i]); g.litWidth < 2 || g.litWidth > 8 {
		return g, fmt.Errorf("pixel size %d", g.litWidth)
	}
	g.data = b[i+1:]
	n := len(table) / 3
	if f.gce != nil && f.gce[3]&1 != 0 {
		g.trans = int(f.gce[6])
		n = max(n, g.trans+1)
	}
	g.lum = make([]uint8, n)
	for k := range len(table) / 3 {
		g.lum[k] = toByte(lumaOf(table[3*k], table[3*k+1], table[3*k+2]))
	}
	return g, nil
}

// subBlocks reads a chain of GIF data sub-blocks as one stream.
type subBlocks struct {
	b   []byte
	n   int // bytes left in the current sub-block
	end bool
}

func (s *subBlocks) ReadByte() (byte, error) {
	for s.n == 0 {
		if s.end || len(s.b) == 0 {
			s.end = true
			return 0, io.EOF
		}
		s.n, s.b = int(s.b[0]), s.b[1:]
		if s.n == 0 {
			s.end = true
			return 0, io.EOF
		}
		if s.n > len(s.b) {
			s.n = len(s.b) // walkGIF checked the chain; kept safe anyway
		}
	}
	c := s.b[0]
	s.b, s.n = s.b[1:], s.n-1
	return c, nil
}

func (s *subBlocks) Read(p []byte) (int, error) {
	for i := range p {
		c, err := s.ReadByte()
		if err != nil {
			return i, err
		}
		p[i] = c
	}
	return len(p), nil
}

// rows decodes the frame's pixels a row at a time (one row in memory)
// and calls fn with each row and its y within the frame. Like image/gif,
// it fails when the data ends early, decodes to more pixels than the
// frame has, or holds an index past the colour table.
func (g gifImage) rows(fn func(y int, row []byte)) error {
	w, h := g.rect.Dx(), g.rect.Dy()
	zr := lzw.NewReader(&subBlocks{b: g.data}, lzw.LSB, g.litWidth)
	defer zr.Close()
	row := make([]byte, w)
	check := len(g.lum) < 256
	y, pass := 0, 0
	for range h {
		if _, err := io.ReadFull(zr, row); err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
				return errGIFNotEnough
			}
			return err
		}
		if check {
			for _, v := range row {
				if int(v) >= len(g.lum) {
					return errGIFBadPixel
				}
			}
		}
		fn(y, row)
		if !g.interlaced {
			y++
			continue
		}
		// Rows 0, 8, 16, ...; then 4, 12, ...; 2, 6, ...; 1, 3, ...
		step := [4]int{8, 8, 4, 2}
		for y += step[pass]; y >= h && pass < 3; {
			pass++
			y = [4]int{0, 4, 2, 1}[pass]
		}
	}
	var one [1]byte
	if n, err := zr.Read(one[:]); n != 0 || err != io.EOF && err != io.ErrUnexpectedEOF {
		if err != nil && n == 0 {
			return err
		}
		return errGIFTooMuch
	}
	return nil
}

// draw paints the frame's opaque pixels onto the canvas.
func (g gifImage) draw(c *image.Gray) error {
	return g.rows(func(y int, row []byte) {
		out := c.Pix[(g.rect.Min.Y+y)*c.Stride+g.rect.Min.X:][:len(row)]
		for x, v := range row {
			if int(v) != g.trans {
				out[x] = g.lum[v]
			}
		}
	})
}

// alphaCanvas is the WebP canvas: luma and alpha, two bytes a pixel (an
// animation's frames blend by their alpha).
type alphaCanvas struct {
	*image.Gray
	alpha []uint8
}

// frameRows returns a function writing the straight luma and the alpha
// of the pixels of row y of a decoded frame (frames are anchored at 0,0)
// from x0 on, with fast paths for the images x/image/webp returns.
func frameRows(img image.Image) func(y, x0 int, lum []float32, alpha []uint8) {
	switch m := img.(type) {
	case *image.YCbCr:
		return func(y, x0 int, lum []float32, alpha []uint8) {
			yrow := m.Y[m.YOffset(x0, y):]
			for x := range lum {
				ci := m.COffset(x0+x, y)
				lum[x], alpha[x] = lumaOf(color.YCbCrToRGB(yrow[x], m.Cb[ci], m.Cr[ci])), 0xff
			}
		}
	case *image.NYCbCrA:
		// Drawn through its premultiplied colour, a transparent pixel
		// loses it; an NRGBA frame's is copied as it is.
		return func(y, x0 int, lum []float32, alpha []uint8) {
			yrow, arow := m.Y[m.YOffset(x0, y):], m.A[m.AOffset(x0, y):]
			for x := range lum {
				if alpha[x] = arow[x]; alpha[x] == 0 {
					lum[x] = 0
					continue
				}
				ci := m.COffset(x0+x, y)
				lum[x] = lumaOf(color.YCbCrToRGB(yrow[x], m.Cb[ci], m.Cr[ci]))
			}
		}
	case *image.NRGBA:
		return func(y, x0 int, lum []float32, alpha []uint8) {
			row := m.Pix[m.PixOffset(x0, y):]
			for x := range lum {
				p := row[4*x : 4*x+4 : 4*x+4]
				lum[x], alpha[x] = lumaOf(p[0], p[1], p[2]), p[3]
			}
		}
	}
	return func(y, x0 int, lum []float32, alpha []uint8) {
		for x := range lum {
			c := color.NRGBAModel.Convert(img.At(x0+x, y)).(color.NRGBA)
			lum[x], alpha[x] = lumaOf(c.R, c.G, c.B), c.A
		}
	}
}

// put draws a decoded frame (anchored at 0,0) at r: replacing the canvas,
// or blended over it by its alpha (the straight luma of the result, as an
// RGBA canvas would hold it, within rounding).
func (c alphaCanvas) put(r image.Rectangle, img image.Image, blend bool) {
	read := frameRows(img)
	// A chunk of a row at a time, however wide the frame.
	const chunk = 4096
	lum, alpha := make([]float32, min(chunk, r.Dx())), make([]uint8, min(chunk, r.Dx()))
	for y := range r.Dy() {
		for x0 := 0; x0 < r.Dx(); x0 += chunk {
			n := min(chunk, r.Dx()-x0)
			read(y, x0, lum[:n], alpha[:n])
			o := (r.Min.Y+y)*c.Stride + r.Min.X + x0
			blendRow(c.Pix[o:o+n], c.alpha[o:o+n], lum[:n], alpha[:n], blend)
		}
	}
}

// blendRow puts a run of a frame's pixels (straight luma and alpha) onto
// the canvas's.
func blendRow(cl, ca []uint8, lum []float32, alpha []uint8, blend bool) {
	for x, sl := range lum {
		switch sa := alpha[x]; {
		case !blend || sa == 0xff:
			cl[x], ca[x] = toByte(sl), sa
		case sa == 0:
		default:
			s, d := float32(sa)/255, float32(ca[x])/255
			out := s + d*(1-s)
			cl[x] = toByte((sl*s + float32(cl[x])*d*(1-s)) / out)
			ca[x] = toByte(out * 255)
		}
	}
}

// clear makes r transparent.
func (c alphaCanvas) clear(r image.Rectangle) {
	r = r.Intersect(c.Rect)
	clearGray(c.Gray, r)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		clear(c.alpha[y*c.Stride+r.Min.X : y*c.Stride+r.Max.X])
	}
}
