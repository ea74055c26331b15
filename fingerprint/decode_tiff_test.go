package fingerprint

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"testing"

	xtiff "golang.org/x/image/tiff"
)

func encodeTIFF(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := xtiff.Encode(&b, img, &xtiff.Options{Compression: xtiff.Deflate, Predictor: true}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestTIFFReducedSameFingerprint checks that a TIFF read straight into
// the reduced luma (ForQuery), or into the full-size luma (LumaOnly, as
// hash reads it), hashes as x/image/tiff's full-size colour decode does.
func TestTIFFReducedSameFingerprint(t *testing.T) {
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
		tif := encodeTIFF(t, d.Image)
		full, err := DecodeBytes(tif, DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := full.Image.(*image.Gray); ok {
			t.Fatalf("%s: the colour decode returned luma", f)
		}
		a, err := Compute(full.Image)
		if err != nil {
			continue
		}
		for _, opt := range []DecodeOption{ForQuery(), LumaOnly()} {
			red, err := DecodeBytes(tif, DefaultLimits(), opt)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := red.Image.(*image.Gray); !ok || red.Format != FormatTIFF || red.Width != full.Width || red.Height != full.Height {
				t.Fatalf("%s: luma decode %T of %dx%d, full %dx%d", f, red.Image, red.Width, red.Height, full.Width, full.Height)
			}
			if red.Scale > 1 {
				scaled++
			}
			b, err := Compute(red.Image, SourceSize(red.Width, red.Height))
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			sameHashes(t, fmt.Sprintf("%s (1/%d)", f, red.Scale), a, b)
		}
	}
	if scaled == 0 {
		t.Error("no file was decoded reduced")
	}
}

// TestTIFFBoundsAndCancel: the TIFF reader's bounds are decode limits,
// what it does not read is unsupported, and a cancelled context stops it.
func TestTIFFBoundsAndCancel(t *testing.T) {
	data := encodeTIFF(t, gradient(600, 400))
	lim := DefaultLimits()
	lim.MaxDecodedPixels = 600*400 - 1
	if _, err := DecodeBytes(data, lim, LumaOnly()); !errors.Is(err, ErrDecodeLimit) {
		t.Errorf("decoded pixel bound: %v, want ErrDecodeLimit", err)
	}
	lim = DefaultLimits()
	lim.MaxPixels = 600*400 - 1
	if _, err := DecodeBytes(data, lim, ForQuery()); !errors.Is(err, ErrTooManyPixels) {
		t.Errorf("pixel bound: %v, want ErrTooManyPixels", err)
	}
	if _, err := DecodeBytes(data[:len(data)/2], DefaultLimits(), ForQuery()); !errors.Is(err, ErrCorrupt) {
		t.Errorf("truncated: %v, want ErrCorrupt", err)
	}
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
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := DecodeBytesContext(ctx, data, DefaultLimits(), ForQuery()); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
