package pdq

import (
	"image"
	"image/color"
	"sync"

	"github.com/leakwatch/leakwatch/fingerprint/internal/area"
)

// Luma returns the luma plane of img, row-major, w x h, with values in
// 0..255: Y = 0.299R + 0.587G + 0.114B computed in float32 from straight
// (non-premultiplied) 8-bit RGB, as the PDQ reference does. Grey images are
// copied as they are, like the reference's grey path, and 16-bit images keep
// their precision (scaled by 1/257). Alpha is ignored: the reference drops
// it without compositing. Images whose bounds hold more than 2^28 pixels
// give a nil plane and zero sizes.
func Luma(img image.Image) (luma []float32, w, h int) {
	b := img.Bounds()
	w, h = b.Dx(), b.Dy()
	if w <= 0 || h <= 0 || w > MaxLumaPixels/h {
		return nil, 0, 0
	}
	luma = make([]float32, w*h)
	cols := sampleCoords(nil, b.Min.X, w, w)
	rows := sampleCoords(nil, b.Min.Y, h, h)
	lumaInto(luma, img, cols, rows, nil)
	return luma, w, h
}

// LumaRows reads an image's luma one row at a time, with Luma's
// arithmetic, for callers that resample rows as they read them instead of
// holding the whole plane.
type LumaRows struct {
	img     image.Image
	minY    int
	cols    []int
	row     [1]int
	scratch []int
}

// NewLumaRows prepares to read img's rows.
func NewLumaRows(img image.Image) *LumaRows {
	b := img.Bounds()
	return &LumaRows{img: img, minY: b.Min.Y, cols: sampleCoords(nil, b.Min.X, b.Dx(), b.Dx())}
}

// Read writes the luma of row y (counted from the top of the image's
// bounds) to dst, which must hold the image's width.
func (r *LumaRows) Read(dst []float32, y int) {
	r.row[0] = r.minY + y
	r.scratch = lumaInto(dst, r.img, r.cols, r.row[:], r.scratch)
}

// sharedLumaTables holds the reference's luma products for every 8-bit
// value, each rounded to float32 (area.Weights). Looking them up gives the
// same sums as multiplying (products rounded before they are added, never
// fused, summed R+G then +B) several times faster, which matters at one
// call per pixel.
var sharedLumaTables = sync.OnceValue(area.NewWeights)

// rgb16Luma is the same luma for 16-bit channels, scaled to 0..255.
func rgb16Luma(r, g, b uint32) float32 {
	return (float32(0.299*float32(r)) + float32(0.587*float32(g)) + float32(0.114*float32(b))) / 257
}

// lumaInto writes to dst the luma of img at the points (cols[i], rows[j]),
// row-major, len(rows) x len(cols). Coordinates are absolute, inside the
// image's bounds. It has fast paths for the types the standard decoders and
// golang.org/x/image return; others go through color.NRGBAModel. scratch is
// a reusable buffer, returned possibly grown.
func lumaInto(dst []float32, img image.Image, cols, rows []int, scratch []int) []int {
	n := len(cols)
	min := img.Bounds().Min
	lt := sharedLumaTables()
	// xo[i] is the byte offset of column cols[i] within a row, for the
	// interleaved types; bpp is their bytes per pixel.
	offsets := func(bpp int) []int {
		scratch = grow(scratch, n)
		for i, x := range cols {
			scratch[i] = (x - min.X) * bpp
		}
		return scratch
	}
	switch m := img.(type) {
	case *image.YCbCr:
		scratch = lumaYCbCr(dst, m, cols, rows, scratch)
	case *image.NYCbCrA:
		scratch = lumaYCbCr(dst, &m.YCbCr, cols, rows, scratch)
	case *image.Gray:
		xo := offsets(1)
		for r, y := range rows {
			pix, d := m.Pix[(y-min.Y)*m.Stride:], dst[r*n:(r+1)*n]
			for i, o := range xo {
				d[i] = float32(pix[o])
			}
		}
	case *image.Gray16:
		xo := offsets(2)
		for r, y := range rows {
			pix, d := m.Pix[(y-min.Y)*m.Stride:], dst[r*n:(r+1)*n]
			for i, o := range xo {
				d[i] = float32(uint32(pix[o])<<8|uint32(pix[o+1])) / 257
			}
		}
	case *image.NRGBA:
		xo := offsets(4)
		for r, y := range rows {
			pix, d := m.Pix[(y-min.Y)*m.Stride:], dst[r*n:(r+1)*n]
			for i, o := range xo {
				p := pix[o : o+3 : o+3]
				d[i] = lt.RGB(p[0], p[1], p[2])
			}
		}
	case *image.RGBA:
		xo := offsets(4)
		for r, y := range rows {
			pix, d := m.Pix[(y-min.Y)*m.Stride:], dst[r*n:(r+1)*n]
			for i, o := range xo {
				p := pix[o : o+4 : o+4]
				if a := p[3]; a != 0xff {
					d[i] = lt.RGB(area.Unpremultiply(p[0], a), area.Unpremultiply(p[1], a), area.Unpremultiply(p[2], a))
				} else {
					d[i] = lt.RGB(p[0], p[1], p[2])
				}
			}
		}
	case *image.NRGBA64:
		xo := offsets(8)
		for r, y := range rows {
			pix, d := m.Pix[(y-min.Y)*m.Stride:], dst[r*n:(r+1)*n]
			for i, o := range xo {
				p := pix[o : o+6 : o+6]
				d[i] = rgb16Luma(uint32(p[0])<<8|uint32(p[1]), uint32(p[2])<<8|uint32(p[3]), uint32(p[4])<<8|uint32(p[5]))
			}
		}
	case *image.CMYK:
		xo := offsets(4)
		for r, y := range rows {
			pix, d := m.Pix[(y-min.Y)*m.Stride:], dst[r*n:(r+1)*n]
			for i, o := range xo {
				p := pix[o : o+4 : o+4]
				d[i] = lt.RGB(color.CMYKToRGB(p[0], p[1], p[2], p[3]))
			}
		}
	case *image.Paletted:
		// Convert the palette once: an index outside it reads as black.
		var table [256]float32
		for i, c := range m.Palette {
			if i == len(table) {
				break
			}
			if c != nil {
				nc := color.NRGBAModel.Convert(c).(color.NRGBA)
				table[i] = lt.RGB(nc.R, nc.G, nc.B)
			}
		}
		xo := offsets(1)
		for r, y := range rows {
			pix, d := m.Pix[(y-min.Y)*m.Stride:], dst[r*n:(r+1)*n]
			for i, o := range xo {
				d[i] = table[pix[o]]
			}
		}
	default:
		for r, y := range rows {
			d := dst[r*n : (r+1)*n]
			for i, x := range cols {
				c := img.At(x, y)
				if c == nil { // e.g. a Paletted image with no palette
					d[i] = 0
					continue
				}
				nc := color.NRGBAModel.Convert(c).(color.NRGBA)
				d[i] = lt.RGB(nc.R, nc.G, nc.B)
			}
		}
	}
	return scratch
}

// lumaYCbCr converts the sampled pixels of a YCbCr image to RGB with the
// standard library's JFIF arithmetic and takes their luma, as the reference
// does after its decoder's RGB conversion. Using Y directly would skip the
// conversion but ignores the clipping of saturated colours and the
// rounding to 8-bit RGB; on the 42 high-quality reference images it
// measured further from the C++ hashes (mean 0.57 bits, max 10, against
// 0.38 and 8).
func lumaYCbCr(dst []float32, m *image.YCbCr, cols, rows []int, scratch []int) []int {
	n := len(cols)
	lt := sharedLumaTables()
	// Both offsets are separable: YOffset(x, y) = yRow(y) + yCol(x), and
	// likewise for COffset, whatever the subsampling ratio.
	scratch = grow(scratch, 2*n)
	yCol, cCol := scratch[:n], scratch[n:2*n]
	x0, y0 := m.Rect.Min.X, m.Rect.Min.Y
	c00 := m.COffset(x0, y0)
	for i, x := range cols {
		yCol[i] = x - x0
		cCol[i] = m.COffset(x, y0) - c00
	}
	for r, y := range rows {
		yRow, cRow := (y-y0)*m.YStride, m.COffset(x0, y)
		ys, cbs, crs := m.Y[yRow:], m.Cb[cRow:], m.Cr[cRow:]
		d := dst[r*n : (r+1)*n]
		for i := range d {
			yy, co := ys[yCol[i]], cCol[i]
			d[i] = lt.RGB(color.YCbCrToRGB(yy, cbs[co], crs[co]))
		}
	}
	return scratch
}
