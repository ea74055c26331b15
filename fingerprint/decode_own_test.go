package fingerprint

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"os"
	"path/filepath"
	"strings"
	"testing"

	xbmp "golang.org/x/image/bmp"
	xtiff "golang.org/x/image/tiff"
	"golang.org/x/image/webp"
)

func encodeTIFF(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := xtiff.Encode(&b, img, &xtiff.Options{Compression: xtiff.Deflate, Predictor: true}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeBMP(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := xbmp.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// ownFormats are the formats read by this package's own luma readers
// where x/image's decoders read them in colour, with an encoder.
var ownFormats = []struct {
	format Format
	encode func(testing.TB, image.Image) []byte
}{{FormatTIFF, encodeTIFF}, {FormatBMP, encodeBMP}}

// TestOwnReducedSameFingerprint checks that a TIFF or BMP read straight
// into the reduced luma (ForQuery), or into the full-size luma (LumaOnly,
// as hash reads it), hashes as x/image's full-size colour decode does.
func TestOwnReducedSameFingerprint(t *testing.T) {
	photos, _ := filepath.Glob("../fixtures/photos/*.jpg")
	if len(photos) == 0 {
		t.Fatal("no fixture photos")
	}
	scaled := 0
	for _, f := range photos[:min(6, len(photos))] {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		d, err := DecodeBytes(data, DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range ownFormats {
			enc := o.encode(t, d.Image)
			full, err := DecodeBytes(enc, DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := full.Image.(*image.Gray); ok {
				t.Fatalf("%s %s: the colour decode returned luma", o.format, f)
			}
			a, err := Compute(full.Image)
			if err != nil {
				continue
			}
			for _, opt := range []DecodeOption{ForQuery(), LumaOnly()} {
				red, err := DecodeBytes(enc, DefaultLimits(), opt)
				if err != nil {
					t.Fatal(err)
				}
				if _, ok := red.Image.(*image.Gray); !ok || red.Format != o.format || red.Width != full.Width || red.Height != full.Height {
					t.Fatalf("%s %s: luma decode %T of %dx%d, full %dx%d", o.format, f, red.Image, red.Width, red.Height, full.Width, full.Height)
				}
				if red.Scale > 1 {
					scaled++
				}
				b, err := Compute(red.Image, SourceSize(red.Width, red.Height))
				if err != nil {
					t.Fatalf("%s %s: %v", o.format, f, err)
				}
				sameHashes(t, fmt.Sprintf("%s %s (1/%d)", o.format, f, red.Scale), a, b)
			}
		}
	}
	if scaled == 0 {
		t.Error("no file was decoded reduced")
	}
}

// TestOwnBoundsAndCancel: the TIFF and BMP readers' bounds are decode
// limits, what they do not read is unsupported, and a cancelled context
// stops them.
func TestOwnBoundsAndCancel(t *testing.T) {
	for _, o := range ownFormats {
		data := o.encode(t, gradient(600, 400))
		lim := DefaultLimits()
		lim.MaxDecodedPixels = 600*400 - 1
		if _, err := DecodeBytes(data, lim, LumaOnly()); !errors.Is(err, ErrDecodeLimit) {
			t.Errorf("%s, decoded pixel bound: %v, want ErrDecodeLimit", o.format, err)
		}
		lim = DefaultLimits()
		lim.MaxPixels = 600*400 - 1
		if _, err := DecodeBytes(data, lim, ForQuery()); !errors.Is(err, ErrTooManyPixels) {
			t.Errorf("%s, pixel bound: %v, want ErrTooManyPixels", o.format, err)
		}
		if _, err := DecodeBytes(data[:len(data)/2], DefaultLimits(), ForQuery()); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s, truncated: %v, want ErrCorrupt", o.format, err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := DecodeBytesContext(ctx, data, DefaultLimits(), ForQuery()); !errors.Is(err, context.Canceled) {
			t.Errorf("%s, cancelled: %v", o.format, err)
		}
	}
	data := encodeTIFF(t, gradient(600, 400))
	// The same file said to be JPEG-compressed.
	jpegTIFF := append([]byte{}, data...)
	ifd := binary.LittleEndian.Uint32(jpegTIFF[4:])
	for i := range int(binary.LittleEndian.Uint16(jpegTIFF[ifd:])) {
		if e := jpegTIFF[ifd+2+12*uint32(i):]; binary.LittleEndian.Uint16(e) == 259 {
			binary.LittleEndian.PutUint16(e[8:], 7)
		}
	}
	if _, err := DecodeBytes(jpegTIFF, DefaultLimits(), ForQuery()); !errors.Is(err, ErrUnsupported) {
		t.Errorf("JPEG compression: %v, want ErrUnsupported", err)
	}
	rle := encodeBMP(t, gradient(60, 40))
	rle[30] = 1 // run-length coded
	if _, err := DecodeBytes(rle, DefaultLimits(), ForQuery()); !errors.Is(err, ErrUnsupported) {
		t.Errorf("run-length BMP: %v, want ErrUnsupported", err)
	}
}

// TestTIFFBoundSettings: a lowered TIFF bound reaches the reader and is
// reported as a decode limit naming the bound and its value.
func TestTIFFBoundSettings(t *testing.T) {
	data := encodeTIFF(t, gradient(600, 400)) // one strip
	for _, c := range []struct {
		name string
		set  func(*Limits)
		want string
	}{
		{"row bytes", func(l *Limits) { l.MaxTIFFRowBytes = 100 }, "row bytes, limit 100"},
		// A strip image counts no padding: only the pixel bounds apply.
		{"padded pixels", func(l *Limits) { l.MaxTIFFPaddedPixels = 1 }, ""},
	} {
		lim := DefaultLimits()
		c.set(&lim)
		_, err := DecodeBytes(data, lim, ForQuery())
		if c.want == "" {
			if err != nil {
				t.Errorf("%s: %v, want no error", c.name, err)
			}
			continue
		}
		if !errors.Is(err, ErrDecodeLimit) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want ErrDecodeLimit naming %q", c.name, err, c.want)
		}
	}
}

// TestColourDecodeBudget: a colour decode (a report thumbnail) of a file
// whose full-size image would take more than 64 MB reads its luma
// instead, reduced; a smaller one stays in colour.
func TestColourDecodeBudget(t *testing.T) {
	big := bigTIFF(3000, 3000, 4, 16, 3000, false) // 72 MB as RGBA64, 144 MB of raw strip
	d, err := DecodeBytes(big, DefaultLimits(), MinSide(160))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := d.Image.(*image.Gray); !ok || d.Scale != 8 || d.Width != 3000 {
		t.Errorf("a 9-megapixel 16-bit TIFF for a thumbnail: %T at 1/%d of %dx%d, want luma at 1/8", d.Image, d.Scale, d.Width, d.Height)
	}
	for _, o := range ownFormats {
		d, err := DecodeBytes(o.encode(t, gradient(600, 400)), DefaultLimits(), MinSide(160))
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := d.Image.(*image.Gray); ok || d.Scale != 1 {
			t.Errorf("a small %s for a thumbnail: %T at 1/%d, want colour at full size", o.format, d.Image, d.Scale)
		}
	}
}

// TestFullDecodeBound: a GIF or WebP, which the libraries decode at full
// size, is refused before decoding when its estimate is over the bound,
// naming it; within the bound it decodes.
func TestFullDecodeBound(t *testing.T) {
	var gifBuf bytes.Buffer
	if err := gif.Encode(&gifBuf, gradient(300, 200), nil); err != nil {
		t.Fatal(err)
	}
	lossy, err := os.ReadFile("../fixtures/pdq/data/misc-images/modes/F.webp")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := webp.DecodeConfig(bytes.NewReader(lossy))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		data []byte
		need int64 // the estimate
	}{
		{"gif", gifBuf.Bytes(), 300 * 200},
		{"lossy webp", lossy, 2 * int64(cfg.Width) * int64(cfg.Height)},
	} {
		for _, max := range []int64{c.need, c.need - 1} {
			lim := DefaultLimits()
			lim.MaxFullDecodeBytes = max
			_, err := DecodeBytes(c.data, lim, ForQuery())
			switch refused := errors.Is(err, ErrDecodeLimit); {
			case max >= c.need && err != nil:
				t.Errorf("%s, bound %d: %v, want a decode", c.name, max, err)
			case max < c.need && (!refused || !strings.Contains(err.Error(), fmt.Sprintf("%d full-size decode bytes, limit %d", c.need, max))):
				t.Errorf("%s, bound %d: %v, want ErrDecodeLimit naming %d bytes", c.name, max, err, c.need)
			}
		}
	}
	// A lossless or extended WebP decodes into four bytes a pixel.
	ext := append([]byte("RIFF\x00\x00\x00\x00WEBPVP8L"), make([]byte, 8)...)
	if got := fullDecodeBytes(FormatWebP, ext, 10, 10); got != 400 {
		t.Errorf("lossless WebP estimate %d, want 400", got)
	}
}
