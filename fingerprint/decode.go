package fingerprint

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
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
}

// DefaultLimits returns limits suited to photographs: 64 MiB encoded and 50
// megapixels (about 200 MB as RGBA in the worst case, 75 MB as JPEG YCbCr).
func DefaultLimits() Limits {
	return Limits{MaxBytes: 64 << 20, MaxPixels: 50_000_000}
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
	Image  image.Image
	Format Format
	// Width and Height are the dimensions after EXIF orientation.
	Width, Height int
	// Orientation is the EXIF orientation that was applied (1 = none).
	Orientation int
}

// Decode reads one image from r within lim, applies its EXIF orientation
// and returns it. Errors wrap ErrTooLarge, ErrTooManyPixels, ErrUnsupported
// or ErrCorrupt.
func Decode(r io.Reader, lim Limits) (Decoded, error) {
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
	return DecodeBytes(data, lim)
}

// DecodeBytes is Decode for an in-memory image.
func DecodeBytes(data []byte, lim Limits) (d Decoded, err error) {
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
	if px := int64(cfg.Width) * int64(cfg.Height); px > lim.MaxPixels {
		return Decoded{}, fmt.Errorf("%w: %dx%d is %d pixels, limit %d", ErrTooManyPixels, cfg.Width, cfg.Height, px, lim.MaxPixels)
	}
	img, err := dec.decode(bytes.NewReader(data))
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return Decoded{}, fmt.Errorf("%w: %s truncated: %v", ErrCorrupt, f, err)
		}
		return Decoded{}, fmt.Errorf("%w: %s: %v", ErrCorrupt, f, err)
	}
	// The decoded bounds must agree with the header we checked.
	if b := img.Bounds(); int64(b.Dx())*int64(b.Dy()) > lim.MaxPixels {
		return Decoded{}, fmt.Errorf("%w: decoded %dx%d", ErrTooManyPixels, b.Dx(), b.Dy())
	}
	orient := 1
	if f == FormatJPEG {
		orient = jpegOrientation(data)
	}
	img = Orient(img, orient)
	b := img.Bounds()
	return Decoded{Image: img, Format: f, Width: b.Dx(), Height: b.Dy(), Orientation: orient}, nil
}

type decoder struct {
	config func(io.Reader) (image.Config, error)
	decode func(io.Reader) (image.Image, error)
}

func decoders(f Format) decoder {
	switch f {
	case FormatJPEG:
		return decoder{jpeg.DecodeConfig, jpeg.Decode}
	case FormatPNG:
		return decoder{png.DecodeConfig, png.Decode}
	case FormatGIF:
		return decoder{gif.DecodeConfig, gif.Decode}
	case FormatWebP:
		return decoder{webp.DecodeConfig, webp.Decode}
	case FormatBMP:
		return decoder{bmp.DecodeConfig, bmp.Decode}
	default:
		return decoder{tiff.DecodeConfig, tiff.Decode}
	}
}
