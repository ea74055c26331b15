package png

import (
	"context"
	"io"

	"github.com/leakwatch/leakwatch/fingerprint/internal/area"
)

// rows inflates, unfilters and reduces the image data.
type rows struct {
	cfg  Config
	sum  *area.Sum
	luma lumaFunc
}

// adam7 is the interlacing passes: x and y offset and step.
var adam7 = [7][4]int{
	{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2},
}

// read consumes every row of every pass from zr. Only two rows of the
// file are held: the one being unfiltered and the one above it.
func (r *rows) read(ctx context.Context, zr io.Reader) error {
	w, h := r.cfg.Width, r.cfg.Height
	bitsPP := r.cfg.Depth * channels(r.cfg.ColorType)
	bpp := max(1, bitsPP/8) // the filters' byte distance
	cur := make([]byte, 1+rowBytes(r.cfg, w))
	prev := make([]byte, 1+rowBytes(r.cfg, w))
	passes := [][4]int{{0, 0, 1, 1}}
	if r.cfg.Interlaced {
		passes = adam7[:]
	}
	for _, ps := range passes {
		x0, y0, dx, dy := ps[0], ps[1], ps[2], ps[3]
		pw, ph := (w-x0+dx-1)/dx, (h-y0+dy-1)/dy
		if pw <= 0 || ph <= 0 {
			continue
		}
		n := 1 + rowBytes(r.cfg, pw)
		clear(prev[:n])
		for i := range ph {
			if err := ctx.Err(); err != nil {
				return err
			}
			c := cur[:n]
			if _, err := io.ReadFull(zr, c); err != nil {
				return inflateErr(err)
			}
			if err := unfilter(c[0], c[1:], prev[1:n], bpp); err != nil {
				return err
			}
			r.sum.AddPacked(c[1:], pw, bitsPP, x0, dx, y0+i*dy, r.luma)
			cur, prev = prev, cur
		}
	}
	return nil
}

// unfilter reverses a row's filter in place (PNG specification, 9.2);
// prev is the unfiltered row above (zeros for a pass's first row).
func unfilter(ft byte, cur, prev []byte, bpp int) error {
	switch ft {
	case 0:
	case 1: // Sub
		for i := bpp; i < len(cur); i++ {
			cur[i] += cur[i-bpp]
		}
	case 2: // Up
		for i, p := range prev {
			cur[i] += p
		}
	case 3: // Average
		for i := range bpp {
			cur[i] += prev[i] / 2
		}
		for i := bpp; i < len(cur); i++ {
			cur[i] += byte((int(cur[i-bpp]) + int(prev[i])) / 2)
		}
	case 4: // Paeth
		for i := range bpp {
			cur[i] += prev[i]
		}
		for i := bpp; i < len(cur); i++ {
			cur[i] += paeth(cur[i-bpp], prev[i], prev[i-bpp])
		}
	default:
		return errs.Formatf("filter type %d", ft)
	}
	return nil
}

// paeth is the Paeth predictor of a (left), b (above) and c (above left).
func paeth(a, b, c byte) byte {
	p := int(a) + int(b) - int(c)
	pa, pb, pc := abs(p-int(a)), abs(p-int(b)), abs(p-int(c))
	switch {
	case pa <= pb && pa <= pc:
		return a
	case pb <= pc:
		return b
	}
	return c
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
