package png

import "github.com/leakwatch/leakwatch/fingerprint/internal/area"

// lumaFunc writes the luma (0..255) of each pixel of an unfiltered row.
type lumaFunc func(dst []float32, row []byte)

func be16(b []byte) uint16 { return uint16(b[0])<<8 | uint16(b[1]) }

// newLumaFunc returns the luma of a row for a colour type and depth; trns
// says a tRNS chunk was present (image/png then returns another image
// type for grey and RGB files), palette is the PLTE chunk. The luma is
// what the fingerprint reads from the image image/png returns for the
// same file (its Gray, Gray16, NRGBA, RGBA, NRGBA64, RGBA64 or Paletted
// image): alpha ignored; 16-bit samples scaled by 1/257, except opaque
// 16-bit RGB, which image/png returns as RGBA64 and which is read
// through its 8 high bits.
func newLumaFunc(cfg Config, trns bool, palette []byte) lumaFunc {
	t := area.NewWeights()
	depth := cfg.Depth
	switch cfg.ColorType {
	case ctGray:
		switch {
		case depth == 16 && trns:
			return func(dst []float32, row []byte) {
				for i := range dst {
					v := be16(row[2*i:])
					dst[i] = area.RGB16(v, v, v)
				}
			}
		case depth == 16:
			return func(dst []float32, row []byte) {
				for i := range dst {
					dst[i] = float32(be16(row[2*i:])) / 257
				}
			}
		}
		scale := uint8(255 / (1<<depth - 1))
		var table [256]float32
		for v := range 1 << depth {
			g := uint8(v) * scale
			if trns {
				table[v] = t.RGB(g, g, g)
			} else {
				table[v] = float32(g)
			}
		}
		return packed(depth, &table)
	case ctPalette:
		// Indices past the palette read as black, as in image/png.
		var table [256]float32
		for i := range len(palette) / 3 {
			p := palette[3*i:]
			table[i] = t.RGB(p[0], p[1], p[2])
		}
		return packed(depth, &table)
	case ctGrayAlpha:
		if depth == 16 {
			return func(dst []float32, row []byte) {
				for i := range dst {
					v := be16(row[4*i:])
					dst[i] = area.RGB16(v, v, v)
				}
			}
		}
		return func(dst []float32, row []byte) {
			for i := range dst {
				v := row[2*i]
				dst[i] = t.RGB(v, v, v)
			}
		}
	}
	// RGB and RGBA.
	n := channels(cfg.ColorType)
	switch {
	case depth == 8:
		return func(dst []float32, row []byte) {
			for i := range dst {
				p := row[n*i : n*i+3 : n*i+3]
				dst[i] = t.RGB(p[0], p[1], p[2])
			}
		}
	case cfg.ColorType == ctRGB && !trns:
		return func(dst []float32, row []byte) {
			for i := range dst {
				p := row[6*i : 6*i+6 : 6*i+6]
				dst[i] = t.RGB(p[0], p[2], p[4])
			}
		}
	}
	return func(dst []float32, row []byte) {
		for i := range dst {
			p := row[2*n*i : 2*n*i+6 : 2*n*i+6]
			dst[i] = area.RGB16(be16(p[0:]), be16(p[2:]), be16(p[4:]))
		}
	}
}

// packed reads samples of depth 1, 2, 4 or 8 bits through a table.
func packed(depth int, table *[256]float32) lumaFunc {
	if depth == 8 {
		return func(dst []float32, row []byte) {
			for i := range dst {
				dst[i] = table[row[i]]
			}
		}
	}
	per := 8 / depth
	mask := byte(1<<depth - 1)
	return func(dst []float32, row []byte) {
		for i := range dst {
			shift := 8 - depth*(i%per+1)
			dst[i] = table[row[i/per]>>shift&mask]
		}
	}
}
