package tiff

import (
	"image/color"

	"github.com/leakwatch/leakwatch/fingerprint/internal/area"
)

// lumaFunc writes the luma (0..255) of each pixel of a row (16-bit
// samples big-endian) to dst.
type lumaFunc func(dst []float32, row []byte)

// newLumaFunc returns the luma of a row of f. The luma is what the
// fingerprint reads from the image x/image/tiff returns for the same file:
// Gray or Gray16 (v*255/max for fewer than 8 bits, inverted for
// WhiteIsZero), Paletted (16-bit colour map entries through their high
// byte), opaque RGBA or RGBA64 (16-bit channels through their high byte),
// NRGBA or NRGBA64 for unassociated alpha (alpha ignored), premultiplied
// RGBA or RGBA64 for associated alpha (un-premultiplied as
// color.NRGBAModel does); CMYK as image.CMYK is read. Extra samples x/image
// refuses (grey with alpha, RGB with an unspecified fourth sample) are
// ignored.
func newLumaFunc(f *file) lumaFunc {
	t := area.NewWeights()
	spp, bps := f.SamplesPerPixel, f.BitsPerSample
	switch f.Photometric {
	case phWhiteIsZero, phBlackIsZero:
		inv := f.Photometric == phWhiteIsZero
		if bps == 16 {
			return func(dst []float32, row []byte) {
				for i := range dst {
					v := be16(row[2*spp*i:])
					if inv {
						v = 0xffff - v
					}
					dst[i] = float32(v) / 257
				}
			}
		}
		var table [256]float32
		top := 1<<bps - 1
		for v := range top + 1 {
			g := v * 0xff / top
			if inv {
				g = 0xff - g
			}
			table[v] = float32(g)
		}
		return packed(bps, spp, &table)
	case phPalette:
		var table [256]float32
		cm := f.ifd.fields[tagColorMap]
		n := cm.count / 3
		for i := range n {
			c := func(k int) uint8 { v, _ := cm.uint(f.ifd.bo, k); return uint8(v >> 8) }
			table[i] = t.RGB(c(i), c(i+n), c(i+2*n))
		}
		// Indices past the colour map read as black, as the fingerprint
		// reads a Paletted image (x/image/tiff refuses the file).
		return packed(bps, 1, &table)
	case phCMYK:
		return func(dst []float32, row []byte) {
			for i := range dst {
				p := row[spp*i : spp*i+4 : spp*i+4]
				dst[i] = t.RGB(color.CMYKToRGB(p[0], p[1], p[2], p[3]))
			}
		}
	}
	alpha := spp >= 4 && f.extra == 1
	straight := spp >= 4 && f.extra == 2
	if bps == 8 {
		return func(dst []float32, row []byte) {
			for i := range dst {
				p := row[spp*i : spp*i+3 : spp*i+3]
				if alpha {
					if a := row[spp*i+3]; a != 0xff {
						dst[i] = t.RGB(area.Unpremultiply(p[0], a), area.Unpremultiply(p[1], a), area.Unpremultiply(p[2], a))
						continue
					}
				}
				dst[i] = t.RGB(p[0], p[1], p[2])
			}
		}
	}
	return func(dst []float32, row []byte) {
		for i := range dst {
			p := row[2*spp*i:]
			r, g, b := be16(p), be16(p[2:]), be16(p[4:])
			switch {
			case straight:
				dst[i] = area.RGB16(r, g, b)
			case alpha:
				a := be16(p[6:])
				dst[i] = t.RGB(unpremultiply16(r, a), unpremultiply16(g, a), unpremultiply16(b, a))
			default:
				dst[i] = t.RGB(uint8(r>>8), uint8(g>>8), uint8(b>>8))
			}
		}
	}
}

func be16(b []byte) uint16 { return uint16(b[0])<<8 | uint16(b[1]) }

// packed reads the first of spp samples of depth 1, 2, 4 or 8 bits
// through a table.
func packed(bps, spp int, table *[256]float32) lumaFunc {
	if bps == 8 {
		return func(dst []float32, row []byte) {
			for i := range dst {
				dst[i] = table[row[spp*i]]
			}
		}
	}
	mask := byte(1<<bps - 1)
	return func(dst []float32, row []byte) {
		for i := range dst {
			bit := i * spp * bps
			dst[i] = table[row[bit/8]>>(8-bps-bit%8)&mask]
		}
	}
}

// unpremultiply16 is color.NRGBAModel's conversion of a 16-bit
// premultiplied channel to a straight 8-bit one.
func unpremultiply16(c, a uint16) uint8 {
	switch a {
	case 0xffff:
		return uint8(c >> 8)
	case 0:
		return 0
	}
	return uint8((uint32(c) * 0xffff / uint32(a)) >> 8)
}
