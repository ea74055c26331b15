package png

import (
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"io"
	"math"

	"github.com/leakwatch/leakwatch/fingerprint/internal/area"
	"github.com/leakwatch/leakwatch/fingerprint/internal/decodeerr"

	// About a fifth faster than compress/zlib at inflating image data,
	// which is most of a PNG decode.
	"github.com/klauspost/compress/zlib"
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
	// MaxChunks bounds the chunks read, IDAT included.
	MaxChunks int
	// MaxChunkBytes bounds one chunk other than IDAT (ancillary data:
	// text, ICC profiles, EXIF). Image data is bounded by the pixels
	// instead: it must inflate to exactly what the header implies.
	MaxChunkBytes int64
	// MaxRowBytes bounds one row of the file: the reader holds two, and
	// a row's luma, so an image of a few pixels' height and millions of
	// pixels' width cannot make it allocate what MaxPixels admits.
	MaxRowBytes int
}

// Default bounds.
const (
	DefaultMaxPixels     = 50_000_000
	DefaultMaxOutPixels  = 16 << 20
	DefaultMaxChunks     = 200_000
	DefaultMaxChunkBytes = 16 << 20
	DefaultMaxRowBytes   = 8 << 20 // a million 16-bit RGBA pixels
)

func (o Options) withDefaults() Options {
	o.Denom = max(o.Denom, 1)
	o.MaxPixels = decodeerr.Default(o.MaxPixels, DefaultMaxPixels)
	o.MaxOutPixels = decodeerr.Default(o.MaxOutPixels, DefaultMaxOutPixels)
	o.MaxChunks = decodeerr.Default(o.MaxChunks, DefaultMaxChunks)
	o.MaxChunkBytes = decodeerr.Default(o.MaxChunkBytes, DefaultMaxChunkBytes)
	o.MaxRowBytes = decodeerr.Default(o.MaxRowBytes, DefaultMaxRowBytes)
	return o
}

// Colour types.
const (
	ctGray      = 0
	ctRGB       = 2
	ctPalette   = 3
	ctGrayAlpha = 4
	ctRGBA      = 6
)

// Config describes a file from its header.
type Config struct {
	Width, Height int
	// Depth is the bits per sample, ColorType the PNG colour type.
	Depth, ColorType int
	Interlaced       bool
}

const signature = "\x89PNG\r\n\x1a\n"

// DecodeConfig reads the signature and header of a PNG.
func DecodeConfig(data []byte) (Config, error) {
	w := walker{data: data, p: len(signature), opt: Options{}.withDefaults()}
	return w.header()
}

// walker reads the chunks of a file held in memory, checking each CRC
// and the chunk bounds.
type walker struct {
	data  []byte
	p     int
	count int
	opt   Options
}

// next returns the next chunk's type and body.
func (w *walker) next() (string, []byte, error) {
	if w.count++; w.count > w.opt.MaxChunks {
		return "", nil, errs.Limit("chunks", int64(w.count), int64(w.opt.MaxChunks))
	}
	if len(w.data)-w.p < 12 {
		return "", nil, errs.Formatf("truncated chunk")
	}
	n := int64(binary.BigEndian.Uint32(w.data[w.p:]))
	typ := string(w.data[w.p+4 : w.p+8])
	if n > math.MaxInt32 {
		return "", nil, errs.Formatf("chunk length %d", n)
	}
	if typ != "IDAT" && n > w.opt.MaxChunkBytes {
		return "", nil, errs.Limit("chunk bytes", n, w.opt.MaxChunkBytes)
	}
	if n > int64(len(w.data)-w.p-12) {
		return "", nil, errs.Formatf("truncated %s chunk", printable(typ))
	}
	end := w.p + 8 + int(n)
	if crc32.ChecksumIEEE(w.data[w.p+4:end]) != binary.BigEndian.Uint32(w.data[end:]) {
		return "", nil, errs.Formatf("%s chunk checksum mismatch", printable(typ))
	}
	body := w.data[w.p+8 : end]
	w.p = end + 4
	return typ, body, nil
}

// printable keeps a chunk type from hostile bytes readable in a message.
func printable(typ string) string {
	for i := range len(typ) {
		if c := typ[i]; c < 'A' || c > 'z' || c > 'Z' && c < 'a' {
			return "invalid"
		}
	}
	return typ
}

func (w *walker) header() (Config, error) {
	if len(w.data) < len(signature) || string(w.data[:len(signature)]) != signature {
		return Config{}, errs.Formatf("not a PNG file")
	}
	typ, b, err := w.next()
	if err != nil {
		return Config{}, err
	}
	if typ != "IHDR" || len(b) != 13 {
		return Config{}, errs.Formatf("missing IHDR")
	}
	wd, ht := binary.BigEndian.Uint32(b[0:]), binary.BigEndian.Uint32(b[4:])
	c := Config{Width: int(wd), Height: int(ht), Depth: int(b[8]), ColorType: int(b[9]), Interlaced: b[12] == 1}
	if wd == 0 || ht == 0 || wd > math.MaxInt32 || ht > math.MaxInt32 {
		return Config{}, errs.Formatf("image size %dx%d", wd, ht)
	}
	if b[10] != 0 || b[11] != 0 || b[12] > 1 {
		return Config{}, errs.Formatf("compression %d, filter %d, interlace %d", b[10], b[11], b[12])
	}
	ok := false
	switch c.ColorType {
	case ctGray:
		ok = c.Depth == 1 || c.Depth == 2 || c.Depth == 4 || c.Depth == 8 || c.Depth == 16
	case ctPalette:
		ok = c.Depth == 1 || c.Depth == 2 || c.Depth == 4 || c.Depth == 8
	case ctRGB, ctGrayAlpha, ctRGBA:
		ok = c.Depth == 8 || c.Depth == 16
	}
	if !ok {
		return Config{}, errs.Formatf("bit depth %d, colour type %d", c.Depth, c.ColorType)
	}
	return c, nil
}

// channels is the samples per pixel of a colour type.
func channels(ct int) int {
	switch ct {
	case ctRGB:
		return 3
	case ctGrayAlpha:
		return 2
	case ctRGBA:
		return 4
	}
	return 1
}

// rowBytes is the size of a row of pw pixels, without its filter byte.
func rowBytes(cfg Config, pw int) int {
	return int((int64(pw)*int64(cfg.Depth*channels(cfg.ColorType)) + 7) / 8)
}

// Decode reads a PNG held in memory into a grey image of its luma,
// reduced by o.Denom.
func Decode(ctx context.Context, data []byte, o Options) (*image.Gray, error) {
	o = o.withDefaults()
	w := walker{data: data, p: len(signature), opt: o}
	cfg, err := w.header()
	if err != nil {
		return nil, err
	}
	if px := int64(cfg.Width) * int64(cfg.Height); px > o.MaxPixels {
		return nil, errs.Limit("pixels", px, o.MaxPixels)
	}
	if n := rowBytes(cfg, cfg.Width); n > o.MaxRowBytes {
		return nil, errs.Limit("row bytes", int64(n), int64(o.MaxRowBytes))
	}
	d := o.Denom
	ow, oh := (cfg.Width+d-1)/d, (cfg.Height+d-1)/d
	if px := int64(ow) * int64(oh); px > o.MaxOutPixels {
		return nil, errs.Limit("output pixels", px, o.MaxOutPixels)
	}
	// Chunks before the image data: the palette and transparency are
	// all that the luma depends on.
	var (
		palette []byte
		trns    bool
		first   []byte
	)
	for first == nil {
		if w.count&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		typ, b, err := w.next()
		if err != nil {
			return nil, err
		}
		switch typ {
		case "PLTE":
			if len(b)%3 != 0 || len(b) == 0 || len(b)/3 > 256 {
				return nil, errs.Formatf("PLTE of %d bytes", len(b))
			}
			palette = b
		case "tRNS":
			trns = true
		case "IDAT":
			first = b
		case "IEND":
			return nil, errs.Formatf("no image data")
		}
	}
	if cfg.ColorType == ctPalette && palette == nil {
		return nil, errs.Formatf("missing palette")
	}
	r := &rows{cfg: cfg, sum: area.New(cfg.Width, cfg.Height, d), luma: newLumaFunc(cfg, trns, palette)}
	idat := &idatReader{ctx: ctx, w: &w, cur: first}
	zr, err := zlib.NewReader(idat)
	if err != nil {
		return nil, inflateErr(err)
	}
	if err := r.read(ctx, zr); err != nil {
		return nil, err
	}
	// As image/png: the stream must end with the image (its checksum
	// included), and the file with IEND.
	var one [1]byte
	if n, err := zr.Read(one[:]); n != 0 || err != io.EOF && err != io.ErrUnexpectedEOF {
		if cerr := ctx.Err(); cerr != nil && errors.Is(err, cerr) {
			return nil, cerr // stopped while reading the stream's end
		}
		return nil, errs.Formatf("too much pixel data")
	}
	// Trailing IDAT data after the stream is ignored, as image/png does.
	last := idat.last
	if !idat.end {
		last = "IDAT"
	}
	if err := w.rest(ctx, last); err != nil {
		return nil, err
	}
	return r.sum.Gray(), nil
}

// rest walks the chunks after the image data up to IEND.
func (w *walker) rest(ctx context.Context, typ string) error {
	for typ != "IEND" {
		if w.count&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		var err error
		if typ, _, err = w.next(); err != nil {
			return err
		}
	}
	return nil
}

func inflateErr(err error) error {
	if errors.Is(err, ErrFormat) || errors.Is(err, ErrLimit) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return errs.Formatf("truncated image data")
	}
	return errs.Formatf("image data: %v", err)
}

// idatReader presents consecutive IDAT chunks as one stream.
type idatReader struct {
	// ctx is checked on every read: a deflate stream of empty blocks
	// yields no row for megabytes of input.
	ctx context.Context
	w   *walker
	cur []byte
	// end is set at the first chunk that is not IDAT, last its type.
	end  bool
	last string
}

func (r *idatReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	for len(r.cur) == 0 {
		if r.end {
			return 0, io.EOF
		}
		typ, b, err := r.w.next()
		if err != nil {
			return 0, err
		}
		if typ != "IDAT" {
			r.end, r.last = true, typ
			return 0, io.EOF
		}
		r.cur = b
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	return n, nil
}
