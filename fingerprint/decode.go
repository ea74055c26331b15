package fingerprint

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"image"
	"image/gif"
	stdpng "image/png"
	"io"
	"math"

	"github.com/leakwatch/leakwatch/fingerprint/bmp"
	"github.com/leakwatch/leakwatch/fingerprint/jpeg"
	"github.com/leakwatch/leakwatch/fingerprint/png"
	"github.com/leakwatch/leakwatch/fingerprint/tiff"

	xbmp "golang.org/x/image/bmp"
	xtiff "golang.org/x/image/tiff"
	"golang.org/x/image/webp"
)

// Limits bound what Decode will accept. Every byte handed to Decode may come
// from a hostile dump, so both limits are checked before any pixel buffer is
// allocated.
type Limits struct {
	// MaxBytes is the largest encoded image accepted.
	MaxBytes int64
	// MaxPixels is the largest width*height accepted, checked from the
	// header with DecodeConfig before decoding.
	MaxPixels int64
	// JPEG decoding bounds (package jpeg; 0 means its default): scans
	// in one file, memory for a progressive file's coefficients, and
	// pixels of the decoded image after DCT scaling (PNG's after its
	// reduction, too).
	MaxScans         int
	MaxCoefBytes     int64
	MaxDecodedPixels int64
	// PNG bounds (package png; 0 means its default): chunks in one
	// file, bytes of one chunk other than image data, and bytes of one
	// row of the file (the reader holds two).
	MaxPNGChunks     int
	MaxPNGChunkBytes int64
	MaxPNGRowBytes   int
	// TIFF bounds (package tiff; 0 means its default): bytes of one row
	// of a strip or tile, strips or tiles in one image, and pixels of a
	// tiled image's tiles with their padding (default twice MaxPixels).
	MaxTIFFRowBytes     int
	MaxTIFFBlocks       int
	MaxTIFFPaddedPixels int64
	// MaxFullDecodeBytes bounds the memory of a GIF or WebP decode, which
	// the libraries make at full size, estimated from the header before
	// decoding (fullDecodeBytes); 0 means DefaultMaxFullDecodeBytes.
	MaxFullDecodeBytes int64
}

// DefaultMaxFullDecodeBytes is Limits.MaxFullDecodeBytes's default: a
// GIF of up to 64 megapixels (a byte a pixel) passes, a lossy WebP of up
// to 32 and a lossless one of up to 16.
const DefaultMaxFullDecodeBytes = 64_000_000

// DefaultLimits returns limits suited to photographs: 64 MiB encoded and 50
// megapixels, and the JPEG decoder's default bounds. A JPEG decoded at the
// working size (ForQuery, ForEnroll) then needs at most about 40 MB (a
// 50-megapixel CMYK progressive file) and a PNG, TIFF or BMP about 4 MB;
// GIF and WebP are decoded at full size, within MaxFullDecodeBytes.
func DefaultLimits() Limits {
	return Limits{MaxBytes: 64 << 20, MaxPixels: 50_000_000,
		MaxScans: jpeg.DefaultMaxScans, MaxCoefBytes: jpeg.DefaultMaxCoefBytes, MaxDecodedPixels: jpeg.DefaultMaxPixels,
		MaxPNGChunks: png.DefaultMaxChunks, MaxPNGChunkBytes: png.DefaultMaxChunkBytes, MaxPNGRowBytes: png.DefaultMaxRowBytes,
		MaxTIFFRowBytes: tiff.DefaultMaxRowBytes, MaxTIFFBlocks: tiff.DefaultMaxBlocks, MaxFullDecodeBytes: DefaultMaxFullDecodeBytes}
}

// fullDecodeBytes estimates the peak memory of decoding a w x h image of
// format f at full size, from what the library decodes into (measured in
// BENCHMARKS.md, "GIF and WebP": 49 MB, 89 MB and 196 MB at 49
// megapixels): a byte a pixel for a GIF (*image.Paletted), two for a
// lossy WebP without alpha (*image.YCbCr 4:2:0 and the decoder's
// buffers), four for any other WebP (*image.NRGBA, or lossy with alpha).
func fullDecodeBytes(f Format, data []byte, w, h int) int64 {
	px := int64(w) * int64(h)
	switch {
	case f == FormatGIF:
		return px
	case f == FormatWebP && len(data) >= 16 && string(data[12:16]) == "VP8 ":
		return 2 * px
	}
	return 4 * px
}

// DecodeOption adjusts a decode.
type DecodeOption func(*decodeConfig)

type decodeConfig struct {
	minSide   int
	whole     bool
	luma      bool
	abandoned func(finished <-chan struct{})
}

// OnAbandon is called when the context ends during a decode that cannot
// be stopped (GIF, WebP; a PNG, TIFF or BMP in colour): the call returns at
// once and the decode finishes in the background; finished is closed when
// it has. A
// caller that bounds how many decodes run at once keeps the decode's
// place until then.
func OnAbandon(fn func(finished <-chan struct{})) DecodeOption {
	return func(c *decodeConfig) { c.abandoned = fn }
}

// MinSide lets the decoder reduce an image as long as its longer side
// stays at least n pixels (1/2, 1/4 or 1/8: a JPEG in the DCT domain, a
// PNG, TIFF or BMP decoded as luma by area averaging).
func MinSide(n int) DecodeOption { return func(c *decodeConfig) { c.minSide = n } }

// LumaOnly lets the decoder return the luma alone (an *image.Gray) when
// that saves work (JPEG, PNG, TIFF and BMP).
func LumaOnly() DecodeOption { return func(c *decodeConfig) { c.luma = true } }

// ForQuery decodes at the smallest size that gives Compute everything it
// reads (QuerySide), luma only.
func ForQuery() DecodeOption {
	return func(c *decodeConfig) { c.minSide, c.whole, c.luma = QuerySide(), false, true }
}

// ForWhole decodes at the smallest size ComputeWhole needs, luma only:
// both sides at least WholeShortSide (two pixels per cell of PDQ's 64x64
// grid, and a full pHash thumbnail), but never larger than ForQuery would
// (a panorama keeps fewer than WholeShortSide rows at the query scale).
// Its hashes stay within a few bits of a full-size decode's (BENCHMARKS.md,
// "JPEG decoding at the working size"); AddReference, which resamples like
// Meta's reference, needs ForQuery.
func ForWhole() DecodeOption {
	return func(c *decodeConfig) { c.minSide, c.whole, c.luma = QuerySide(), true, true }
}

// denom is the scale (1/denom) a w x h image is decoded at.
func (c decodeConfig) denom(w, h int) int {
	d := jpeg.ScaleFor(w, h, c.minSide, 0)
	if c.whole {
		d = max(d, jpeg.ScaleFor(w, h, 0, WholeShortSide))
	}
	return d
}

// ForEnroll is ForQuery for EnrollImage.
func ForEnroll() DecodeOption {
	return func(c *decodeConfig) { c.minSide, c.whole, c.luma = EnrollSide(), false, true }
}

// Format names an image encoding recognised by magic bytes.
type Format string

// Formats Decode understands.
const (
	FormatJPEG Format = "jpeg"
	FormatPNG  Format = "png"
	FormatGIF  Format = "gif"
	FormatWebP Format = "webp"
	FormatBMP  Format = "bmp"
	FormatTIFF Format = "tiff"
)

// Sniff returns the image format of the first bytes of a file, or "" when
// they match none. Only magic bytes are trusted: names and Content-Type
// headers from a dump site are not.
func Sniff(head []byte) Format {
	switch {
	case bytes.HasPrefix(head, []byte{0xFF, 0xD8, 0xFF}):
		return FormatJPEG
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return FormatPNG
	case bytes.HasPrefix(head, []byte("GIF87a")), bytes.HasPrefix(head, []byte("GIF89a")):
		return FormatGIF
	case len(head) >= 12 && bytes.Equal(head[0:4], []byte("RIFF")) && bytes.Equal(head[8:12], []byte("WEBP")):
		return FormatWebP
	case bytes.HasPrefix(head, []byte("BM")) && len(head) >= 14:
		return FormatBMP
	case bytes.HasPrefix(head, []byte("II*\x00")), bytes.HasPrefix(head, []byte("MM\x00*")):
		return FormatTIFF
	}
	return ""
}

// Decoded is an image ready for hashing.
type Decoded struct {
	// Image is the decoded image, reduced by Scale.
	Image  image.Image
	Format Format
	// Width and Height are the dimensions of the encoded image after
	// EXIF orientation (Image is smaller when Scale > 1).
	Width, Height int
	// Scale is the denominator the image was reduced by: 1, 2, 4 or 8.
	Scale int
	// Orientation is the EXIF orientation that was applied (1 = none).
	Orientation int
}

// Decode reads one image from r within lim, applies its EXIF orientation
// and returns it. Errors wrap ErrTooLarge, ErrTooManyPixels, ErrDecodeLimit,
// ErrUnsupported or ErrCorrupt.
func Decode(r io.Reader, lim Limits, opts ...DecodeOption) (Decoded, error) {
	return DecodeContext(context.Background(), r, lim, opts...)
}

// DecodeContext is Decode that returns ctx's error as soon as ctx is done:
// JPEG decoding checks it between scans and rows of blocks, PNG, TIFF and
// BMP (for luma) between rows; other formats
// are decoded by code that cannot be stopped, which is left to finish in
// the background (detach).
func DecodeContext(ctx context.Context, r io.Reader, lim Limits, opts ...DecodeOption) (Decoded, error) {
	if lim.MaxBytes <= 0 || lim.MaxPixels <= 0 {
		lim = DefaultLimits()
	}
	data, err := io.ReadAll(io.LimitReader(r, lim.MaxBytes+1))
	if err != nil {
		return Decoded{}, fmt.Errorf("read image: %w", err)
	}
	if int64(len(data)) > lim.MaxBytes {
		return Decoded{}, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, lim.MaxBytes)
	}
	return DecodeBytesContext(ctx, data, lim, opts...)
}

// DecodeBytes is Decode for an in-memory image.
func DecodeBytes(data []byte, lim Limits, opts ...DecodeOption) (Decoded, error) {
	return DecodeBytesContext(context.Background(), data, lim, opts...)
}

// DecodeBytesContext is DecodeContext for an in-memory image.
func DecodeBytesContext(ctx context.Context, data []byte, lim Limits, opts ...DecodeOption) (d Decoded, err error) {
	if lim.MaxBytes <= 0 || lim.MaxPixels <= 0 {
		lim = DefaultLimits()
	}
	if int64(len(data)) > lim.MaxBytes {
		return Decoded{}, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(data), lim.MaxBytes)
	}
	f := Sniff(data)
	if f == "" {
		return Decoded{}, ErrUnsupported
	}
	var c decodeConfig
	for _, o := range opts {
		o(&c)
	}
	if !c.luma && colourBytes(f, data) > colourBudget {
		c.luma = true
	}
	switch {
	case f == FormatJPEG:
		return decodeJPEG(ctx, data, lim, c)
	case f == FormatPNG && c.luma:
		// Luma, reduced as the JPEG path is (full size for hash); only a
		// colour decode within colourBudget (report thumbnails) is
		// image/png's.
		return decodePNG(ctx, data, lim, c)
	case f == FormatTIFF && c.luma:
		// Luma a strip or tile row at a time, reduced as c allows (full
		// size for hash); only a colour decode within colourBudget is
		// x/image's.
		return decodeTIFF(ctx, data, lim, c)
	case f == FormatBMP && c.luma:
		return decodeBMP(ctx, data, lim, c)
	}
	if err := ctx.Err(); err != nil {
		return Decoded{}, err
	}
	dec := decoders(f)
	// Third-party decoders are not guaranteed panic-free on hostile input;
	// a panic there is a corrupt file, not a crashed scan.
	defer func() {
		if p := recover(); p != nil {
			d, err = Decoded{}, fmt.Errorf("%w: %s decoder panicked: %v", ErrCorrupt, f, p)
		}
	}()
	cfg, err := dec.config(bytes.NewReader(data))
	if err != nil {
		return Decoded{}, fmt.Errorf("%w: %s header: %v", ErrCorrupt, f, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return Decoded{}, fmt.Errorf("%w: %s declares %dx%d", ErrCorrupt, f, cfg.Width, cfg.Height)
	}
	if err := checkPixels(cfg.Width, cfg.Height, lim); err != nil {
		return Decoded{}, err
	}
	if f == FormatGIF || f == FormatWebP {
		maxB := cmp.Or(max(lim.MaxFullDecodeBytes, 0), DefaultMaxFullDecodeBytes)
		if need := fullDecodeBytes(f, data, cfg.Width, cfg.Height); need > maxB {
			return Decoded{}, fmt.Errorf("%w: %s of %dx%d: %d full-size decode bytes, limit %d", ErrDecodeLimit, f, cfg.Width, cfg.Height, need, maxB)
		}
	}
	img, err := detach(ctx, f, c.abandoned, func() (image.Image, error) { return dec.decode(bytes.NewReader(data)) })
	if err != nil {
		if errors.Is(err, ErrCorrupt) || ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			return Decoded{}, err
		}
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return Decoded{}, fmt.Errorf("%w: %s truncated: %v", ErrCorrupt, f, err)
		}
		return Decoded{}, fmt.Errorf("%w: %s: %v", ErrCorrupt, f, err)
	}
	// The decoded bounds must agree with the header we checked.
	if b := img.Bounds(); int64(b.Dx())*int64(b.Dy()) > lim.MaxPixels {
		return Decoded{}, fmt.Errorf("%w: decoded %dx%d", ErrTooManyPixels, b.Dx(), b.Dy())
	}
	b := img.Bounds()
	return Decoded{Image: img, Format: f, Width: b.Dx(), Height: b.Dy(), Scale: 1, Orientation: 1}, nil
}

// colourBudget bounds what a colour decode of a PNG, TIFF or BMP (report
// thumbnails) may allocate: past it, the full-size image image/png or
// x/image would make is not made and the file's luma is read instead,
// reduced as MinSide allows.
const colourBudget = 64 << 20

// colourBytes estimates what the full-size colour decoder allocates for
// a PNG, TIFF or BMP: its image and, for a TIFF, twice the raw samples
// (x/image reads a compressed strip whole, into a growing buffer). It is
// 0 for other formats. A header our readers do not parse counts as over
// any budget: it goes to our luma reader, which reports it, and never to
// a colour decoder that might accept it and allocate what it declares.
func colourBytes(f Format, data []byte) int64 {
	// perPixel is the bytes a pixel of image/png's or x/image's image
	// takes: 1 for palette and grey, 2 for 16-bit grey, 4 or 8 for
	// colour as RGBA or RGBA64.
	perPixel := func(grey bool, bits int) int64 {
		switch {
		case grey && bits > 8:
			return 2
		case grey:
			return 1
		case bits > 8:
			return 8
		}
		return 4
	}
	switch f {
	case FormatPNG:
		if c, err := png.DecodeConfig(data); err == nil {
			grey := c.ColorType == 0 || c.ColorType == 3
			return int64(c.Width) * int64(c.Height) * perPixel(grey, c.Depth)
		}
	case FormatTIFF:
		if c, err := tiff.DecodeConfig(data); err == nil {
			px := int64(c.Width) * int64(c.Height)
			raw := px * int64(c.SamplesPerPixel*c.BitsPerSample) / 8
			return px*perPixel(c.Photometric <= 1 || c.Photometric == 3, c.BitsPerSample) + 2*raw
		}
	case FormatBMP:
		if c, err := bmp.DecodeConfig(data); err == nil {
			return int64(c.Width) * int64(c.Height) * perPixel(c.BitsPerPixel <= 8, 8)
		}
	default:
		return 0
	}
	return math.MaxInt64
}

// checkPixels refuses a w x h image over lim.MaxPixels, from its header.
func checkPixels(w, h int, lim Limits) error {
	if px := int64(w) * int64(h); px > lim.MaxPixels {
		return fmt.Errorf("%w: %dx%d is %d pixels, limit %d", ErrTooManyPixels, w, h, px, lim.MaxPixels)
	}
	return nil
}

// decodeJPEG decodes with package jpeg, reduced as c allows, and applies
// the EXIF orientation to the reduced image.
func decodeJPEG(ctx context.Context, data []byte, lim Limits, c decodeConfig) (Decoded, error) {
	cfg, err := jpeg.DecodeConfigContext(ctx, data)
	if err != nil {
		return Decoded{}, jpegError(err)
	}
	if err := checkPixels(cfg.Width, cfg.Height, lim); err != nil {
		return Decoded{}, err
	}
	denom := c.denom(cfg.Width, cfg.Height)
	img, err := jpeg.Decode(ctx, data, jpeg.Options{Denom: denom, Luma: c.luma,
		MaxScans: lim.MaxScans, MaxCoefBytes: lim.MaxCoefBytes, MaxPixels: lim.MaxDecodedPixels})
	if err != nil {
		return Decoded{}, jpegError(err)
	}
	orient := jpegOrientation(data)
	img = Orient(img, orient)
	w, h := cfg.Width, cfg.Height
	if orient >= 5 {
		w, h = h, w
	}
	return Decoded{Image: img, Format: FormatJPEG, Width: w, Height: h,
		Scale: denom, Orientation: orient}, nil
}

// decodePNG reads a PNG row by row into its luma reduced by the scale the
// JPEG path would choose for the same size (package png), never holding a
// full-size copy.
func decodePNG(ctx context.Context, data []byte, lim Limits, c decodeConfig) (Decoded, error) {
	errs := readerErrors{png.ErrLimit, nil, png.ErrFormat}
	cfg, err := png.DecodeConfig(data)
	if err != nil {
		return Decoded{}, errs.mapped(err)
	}
	return ownLuma(FormatPNG, cfg.Width, cfg.Height, lim, c, errs, func(d int) (*image.Gray, error) {
		return png.Decode(ctx, data, png.Options{Denom: d, MaxPixels: lim.MaxPixels, MaxOutPixels: lim.MaxDecodedPixels,
			MaxChunks: lim.MaxPNGChunks, MaxChunkBytes: lim.MaxPNGChunkBytes, MaxRowBytes: lim.MaxPNGRowBytes})
	})
}

// decodeTIFF reads a TIFF's luma strip by strip (or tile by tile) into
// the reduction the JPEG path would choose for the same size (package
// tiff), never holding a full-size copy or a whole strip.
func decodeTIFF(ctx context.Context, data []byte, lim Limits, c decodeConfig) (Decoded, error) {
	errs := readerErrors{tiff.ErrLimit, tiff.ErrUnsupported, tiff.ErrFormat}
	cfg, err := tiff.DecodeConfig(data)
	if err != nil {
		return Decoded{}, errs.mapped(err)
	}
	return ownLuma(FormatTIFF, cfg.Width, cfg.Height, lim, c, errs, func(d int) (*image.Gray, error) {
		return tiff.Decode(ctx, data, tiff.Options{Denom: d, MaxPixels: lim.MaxPixels, MaxOutPixels: lim.MaxDecodedPixels,
			MaxRowBytes: lim.MaxTIFFRowBytes, MaxBlocks: lim.MaxTIFFBlocks, MaxPaddedPixels: lim.MaxTIFFPaddedPixels})
	})
}

// decodeBMP reads a BMP's luma row by row into the reduction the JPEG
// path would choose for the same size (package bmp).
func decodeBMP(ctx context.Context, data []byte, lim Limits, c decodeConfig) (Decoded, error) {
	errs := readerErrors{bmp.ErrLimit, bmp.ErrUnsupported, bmp.ErrFormat}
	cfg, err := bmp.DecodeConfig(data)
	if err != nil {
		return Decoded{}, errs.mapped(err)
	}
	return ownLuma(FormatBMP, cfg.Width, cfg.Height, lim, c, errs, func(d int) (*image.Gray, error) {
		return bmp.Decode(ctx, data, bmp.Options{Denom: d, MaxPixels: lim.MaxPixels, MaxOutPixels: lim.MaxDecodedPixels})
	})
}

// ownLuma checks a w x h image against lim and runs read, one of this
// package's luma readers, at the scale c allows (full size without a
// minimum side).
func ownLuma(f Format, w, h int, lim Limits, c decodeConfig, errs readerErrors, read func(denom int) (*image.Gray, error)) (Decoded, error) {
	if err := checkPixels(w, h, lim); err != nil {
		return Decoded{}, err
	}
	d := c.denom(w, h)
	// The decompressors some readers use are other projects' (x/image's,
	// klauspost's): a panic in one is a corrupt file.
	img, err := recovered(f, func() (image.Image, error) { return read(d) })
	if err != nil {
		return Decoded{}, errs.mapped(err)
	}
	return Decoded{Image: img, Format: f, Width: w, Height: h, Scale: d, Orientation: 1}, nil
}

// readerErrors are a luma reader's sentinel errors, mapped onto this
// package's.
type readerErrors struct{ limit, unsupported, format error }

func (e readerErrors) mapped(err error) error {
	switch {
	case errors.Is(err, e.limit):
		return fmt.Errorf("%w: %w", ErrDecodeLimit, err)
	case e.unsupported != nil && errors.Is(err, e.unsupported):
		return fmt.Errorf("%w: %w", ErrUnsupported, err)
	case errors.Is(err, e.format):
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return err // cancellation, or a panic already reported as ErrCorrupt
}

// jpegError maps package jpeg's errors onto this package's.
func jpegError(err error) error {
	return readerErrors{jpeg.ErrLimit, jpeg.ErrUnsupported, jpeg.ErrFormat}.mapped(err)
}

// detach runs decode, a decoder that cannot be cancelled (Go's and
// x/image's), in its own goroutine and returns ctx's error as soon as ctx
// is done, so that SIGTERM and timeouts are not held up by it. The
// abandoned decode runs on to its end in the background and its result is
// dropped: its time and memory are those of one decode within
// Limits.MaxPixels and MaxBytes (BENCHMARKS.md gives the worst cases per
// format); abandoned, when set, is told when it has finished. A panic in
// decode is reported as a corrupt image.
func detach(ctx context.Context, f Format, abandoned func(<-chan struct{}), decode func() (image.Image, error)) (image.Image, error) {
	if ctx.Done() == nil { // cannot be cancelled: no goroutine needed
		return recovered(f, decode)
	}
	type result struct {
		img image.Image
		err error
	}
	done := make(chan result, 1) // the abandoned goroutine never blocks
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		img, err := recovered(f, decode)
		done <- result{img, err}
	}()
	select {
	case r := <-done:
		return r.img, r.err
	case <-ctx.Done():
		if abandoned != nil {
			abandoned(finished)
		}
		return nil, ctx.Err()
	}
}

// recovered runs decode, reporting a panic as a corrupt image.
func recovered(f Format, decode func() (image.Image, error)) (img image.Image, err error) {
	defer func() {
		if p := recover(); p != nil {
			img, err = nil, fmt.Errorf("%w: %s decoder panicked: %v", ErrCorrupt, f, p)
		}
	}()
	return decode()
}

type decoder struct {
	config func(io.Reader) (image.Config, error)
	decode func(io.Reader) (image.Image, error)
}

func decoders(f Format) decoder {
	switch f {
	case FormatPNG:
		return decoder{stdpng.DecodeConfig, stdpng.Decode}
	case FormatGIF:
		return decoder{gif.DecodeConfig, gif.Decode}
	case FormatWebP:
		return decoder{webp.DecodeConfig, webp.Decode}
	case FormatBMP:
		return decoder{xbmp.DecodeConfig, xbmp.Decode}
	default:
		return decoder{xtiff.DecodeConfig, xtiff.Decode}
	}
}
