package bmp

import (
	"context"
	"encoding/binary"
	"image"

	"github.com/leakwatch/leakwatch/fingerprint/internal/area"
	"github.com/leakwatch/leakwatch/fingerprint/internal/decodeerr"
)

// Options choose the reduction and bound the work of one decode.
type Options struct {
	// Denom reduces the image: the output is ceil(w/Denom) x
	// ceil(h/Denom), each pixel the mean luma of the Denom x Denom
	// pixels it covers (fewer at the right and bottom edges). 0 or 1
	// keeps the full size.
	Denom int
	// MaxPixels bounds width*height as the header declares it.
	MaxPixels int64
	// MaxOutPixels bounds the output's width*height (after Denom).
	MaxOutPixels int64
}

// Default bounds.
const (
	DefaultMaxPixels    = 50_000_000
	DefaultMaxOutPixels = 16 << 20
)

// Config describes a file from its headers.
type Config struct {
	Width, Height, BitsPerPixel int
	// TopDown is true when the first row in the file is the top one.
	TopDown bool
	// offset is where the pixels start, colours the palette (BGRX).
	offset  int
	colours []byte
}

// Header sizes.
const (
	fileHeader = 14
	infoHeader = 40
	v4Header   = 108
	v5Header   = 124
)

// DecodeConfig reads the headers of a BMP file and checks that this
// package can decode it and that the file holds all its rows.
func DecodeConfig(data []byte) (Config, error) {
	if len(data) < fileHeader+4 || string(data[:2]) != "BM" {
		return Config{}, errs.Formatf("not a BMP file")
	}
	le := binary.LittleEndian
	offset, info := uint64(le.Uint32(data[10:])), int(le.Uint32(data[14:]))
	if info != infoHeader && info != v4Header && info != v5Header {
		return Config{}, errs.Unsupportedf("header of %d bytes", info)
	}
	if len(data) < fileHeader+info {
		return Config{}, errs.Formatf("truncated header")
	}
	h := data[fileHeader:]
	w, ht := int64(int32(le.Uint32(h[4:]))), int64(int32(le.Uint32(h[8:])))
	c := Config{Width: int(w), Height: int(ht)}
	if ht < 0 {
		c.Height, c.TopDown = int(-ht), true
	}
	if w <= 0 || ht == 0 {
		return Config{}, errs.Formatf("image size %dx%d", w, ht)
	}
	planes, bpp, compression := le.Uint16(h[12:]), int(le.Uint16(h[14:])), le.Uint32(h[16:])
	// Bit fields in the standard layout are what no compression means.
	if compression == 3 && info > infoHeader && le.Uint32(h[40:]) == 0xff0000 && le.Uint32(h[44:]) == 0xff00 &&
		le.Uint32(h[48:]) == 0xff && le.Uint32(h[52:]) == 0xff000000 {
		compression = 0
	}
	if planes != 1 || compression != 0 {
		return Config{}, errs.Unsupportedf("%d planes, compression %d", planes, compression)
	}
	c.BitsPerPixel = bpp
	switch bpp {
	case 1, 2, 4, 8:
		n := uint64(le.Uint32(h[32:]))
		if n == 0 {
			n = 1 << bpp
		}
		if n > 1<<bpp {
			return Config{}, errs.Unsupportedf("%d colours for %d bits", n, bpp)
		}
		at := uint64(fileHeader + info)
		if at+4*n > uint64(len(data)) || offset < at+4*n {
			return Config{}, errs.Formatf("palette of %d colours at %d, pixels at %d", n, at, offset)
		}
		c.colours = data[at : at+4*n]
	case 24, 32:
		if offset < uint64(fileHeader+info) {
			return Config{}, errs.Formatf("pixels at %d, inside the header", offset)
		}
	default:
		return Config{}, errs.Unsupportedf("%d bits per pixel", bpp)
	}
	if rows := uint64(rowBytes(c)) * uint64(c.Height); offset > uint64(len(data)) || rows > uint64(len(data))-offset {
		return Config{}, errs.Formatf("%d rows of %d bytes at %d, past the end", c.Height, rowBytes(c), offset)
	}
	c.offset = int(offset)
	return c, nil
}

// rowBytes is a row's size in the file, padded to four bytes.
func rowBytes(c Config) int {
	return int((int64(c.Width)*int64(c.BitsPerPixel)+31)/32) * 4
}

// Decode reads a BMP file held in memory into a grey image of its luma,
// reduced by o.Denom.
func Decode(ctx context.Context, data []byte, o Options) (*image.Gray, error) {
	o.Denom = max(o.Denom, 1)
	o.MaxPixels = decodeerr.Default(o.MaxPixels, DefaultMaxPixels)
	o.MaxOutPixels = decodeerr.Default(o.MaxOutPixels, DefaultMaxOutPixels)
	c, err := DecodeConfig(data)
	if err != nil {
		return nil, err
	}
	w, h, d := c.Width, c.Height, o.Denom
	if px := int64(w) * int64(h); px > o.MaxPixels {
		return nil, errs.Limit("pixels", px, o.MaxPixels)
	}
	if px := int64((w+d-1)/d) * int64((h+d-1)/d); px > o.MaxOutPixels {
		return nil, errs.Limit("output pixels", px, o.MaxOutPixels)
	}
	luma := newLumaFunc(c)
	sum := area.New(w, h, d)
	n := rowBytes(c)
	for i := range h {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		y := h - 1 - i
		if c.TopDown {
			y = i
		}
		sum.AddPacked(data[c.offset+i*n:][:n], w, c.BitsPerPixel, 0, 1, y, luma)
	}
	return sum.Gray(), nil
}

// newLumaFunc returns the luma of a row: what the fingerprint reads from
// x/image/bmp's Paletted, RGBA or NRGBA image (alpha ignored; a palette
// index past the colours, which x/image/bmp refuses, reads as black).
func newLumaFunc(c Config) func(dst []float32, row []byte) {
	t := area.NewWeights()
	switch c.BitsPerPixel {
	case 24, 32:
		n := c.BitsPerPixel / 8
		return func(dst []float32, row []byte) {
			for i := range dst {
				p := row[n*i : n*i+3 : n*i+3]
				dst[i] = t.RGB(p[2], p[1], p[0])
			}
		}
	}
	var table [256]float32
	for i := range len(c.colours) / 4 {
		p := c.colours[4*i:]
		table[i] = t.RGB(p[2], p[1], p[0])
	}
	bpp := c.BitsPerPixel
	mask := byte(1<<bpp - 1)
	return func(dst []float32, row []byte) {
		for i := range dst {
			bit := i * bpp
			dst[i] = table[row[bit/8]>>(8-bpp-bit%8)&mask]
		}
	}
}
