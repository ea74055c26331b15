package fingerprint

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"runtime"
	"testing"
)

func gradient(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.NRGBA{uint8(x * 255 / w), uint8(y * 255 / h), uint8((x ^ y) & 0xff), 255})
		}
	}
	return img
}

func encodePNG(t testing.TB, img image.Image) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// pngHeader returns a PNG that declares w x h pixels but carries no data:
// the shape of a pixel bomb.
func pngHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2
	chunk := func(typ string, data []byte) {
		_ = binary.Write(&b, binary.BigEndian, uint32(len(data)))
		b.WriteString(typ)
		b.Write(data)
		_ = binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	}
	chunk("IHDR", ihdr)
	chunk("IEND", nil)
	return b.Bytes()
}

func TestDecodeLimits(t *testing.T) {
	good := encodePNG(t, gradient(64, 48))
	var jb bytes.Buffer
	_ = jpeg.Encode(&jb, gradient(64, 48), nil)
	tests := []struct {
		name    string
		data    []byte
		lim     Limits
		wantErr error
		wantW   int
	}{
		{"png", good, DefaultLimits(), nil, 64},
		{"jpeg", jb.Bytes(), DefaultLimits(), nil, 64},
		{"pixel bomb", pngHeader(100000, 100000), DefaultLimits(), ErrTooManyPixels, 0},
		{"just over pixel limit", good, Limits{MaxBytes: 1 << 20, MaxPixels: 64*48 - 1}, ErrTooManyPixels, 0},
		{"over byte limit", good, Limits{MaxBytes: int64(len(good) - 1), MaxPixels: 1 << 20}, ErrTooLarge, 0},
		{"truncated jpeg", jb.Bytes()[:len(jb.Bytes())/2], DefaultLimits(), ErrCorrupt, 0},
		{"truncated png", good[:len(good)/2], DefaultLimits(), ErrCorrupt, 0},
		{"text", []byte("<html>not an image</html>"), DefaultLimits(), ErrUnsupported, 0},
		{"empty", nil, DefaultLimits(), ErrUnsupported, 0},
		{"zero size", pngHeader(0, 10), DefaultLimits(), ErrCorrupt, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Decode(bytes.NewReader(tt.data), tt.lim)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.Width != tt.wantW {
				t.Fatalf("width %d, want %d", d.Width, tt.wantW)
			}
		})
	}
}

// exifJPEG inserts an APP1 Exif segment with the given orientation.
func exifJPEG(t *testing.T, img image.Image, orient uint16) []byte {
	var jb bytes.Buffer
	if err := jpeg.Encode(&jb, img, nil); err != nil {
		t.Fatal(err)
	}
	tiff := []byte{'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, byte(orient >> 8), byte(orient), 0, 0, 0, 0, 0, 0}
	seg := append([]byte("Exif\x00\x00"), tiff...)
	app1 := []byte{0xFF, 0xE1, byte((len(seg) + 2) >> 8), byte(len(seg) + 2)}
	app1 = append(app1, seg...)
	out := append([]byte{}, jb.Bytes()[:2]...)
	out = append(out, app1...)
	return append(out, jb.Bytes()[2:]...)
}

func TestDecodeEXIFOrientation(t *testing.T) {
	src := gradient(40, 20)
	for _, tt := range []struct {
		orient     uint16
		w, h       int
		wantOrient int
	}{{1, 40, 20, 1}, {3, 40, 20, 3}, {6, 20, 40, 6}, {8, 20, 40, 8}, {9, 40, 20, 1}} {
		d, err := DecodeBytes(exifJPEG(t, src, tt.orient), DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		if d.Width != tt.w || d.Height != tt.h || d.Orientation != tt.wantOrient {
			t.Errorf("orientation %d: got %dx%d o=%d, want %dx%d o=%d", tt.orient, d.Width, d.Height, d.Orientation, tt.w, tt.h, tt.wantOrient)
		}
	}
	// Rotating by EXIF 6 must put the source's top-left pixel at the top-right.
	d, _ := DecodeBytes(exifJPEG(t, src, 6), DefaultLimits())
	r0, g0, _, _ := src.At(0, 0).RGBA()
	r1, g1, _, _ := d.Image.At(d.Width-1, 0).RGBA()
	if diff(r0, r1) > 0x1800 || diff(g0, g1) > 0x1800 {
		t.Errorf("orientation 6 misplaced pixels: %x,%x vs %x,%x", r0, g0, r1, g1)
	}
}

func diff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}

func FuzzDecode(f *testing.F) {
	f.Add(encodePNG(f, gradient(8, 8)))
	f.Add(pngHeader(1<<20, 1<<20))
	var jb bytes.Buffer
	_ = jpeg.Encode(&jb, gradient(16, 16), nil)
	f.Add(jb.Bytes())
	f.Add([]byte("GIF89a\x01\x00\x01\x00"))
	f.Add([]byte("RIFF\x00\x00\x00\x00WEBPVP8 "))
	f.Add([]byte("II*\x00\x08\x00\x00\x00"))
	f.Add(encodeTIFF(f, gradient(8, 8)))
	f.Fuzz(func(t *testing.T, data []byte) {
		// In colour, as matching reads it, and as hash reads it.
		for _, opts := range [][]DecodeOption{nil, {ForQuery()}, {LumaOnly()}} {
			d, err := DecodeBytes(data, Limits{MaxBytes: 1 << 20, MaxPixels: 1 << 20}, opts...)
			if err != nil {
				continue
			}
			if int64(d.Width)*int64(d.Height) > 1<<20 {
				t.Fatalf("decoded %dx%d beyond the pixel limit", d.Width, d.Height)
			}
			if _, err := Compute(d.Image, SourceSize(d.Width, d.Height)); err != nil && !errors.Is(err, ErrCorrupt) {
				t.Fatal(err)
			}
		}
	})
}

func FuzzJPEGOrientation(f *testing.F) {
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x10, 'E', 'x', 'i', 'f', 0, 0, 'I', 'I', 42, 0, 8, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		if o := jpegOrientation(data); o < 1 || o > 8 {
			t.Fatalf("orientation %d out of range", o)
		}
	})
}

// TestDetachReturnsOnCancel checks that a decoder that cannot be stopped
// does not hold up a cancelled decode: detach returns ctx's error while
// the decoder is still blocked, and a panic is a corrupt image.
func TestDetachReturnsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	release := make(chan struct{})
	finished := make(chan struct{})
	cancel()
	var told <-chan struct{}
	_, err := detach(ctx, FormatWebP, func(f <-chan struct{}) { told = f }, func() (image.Image, error) {
		<-release // a decode that would run for a long time
		close(finished)
		return image.NewGray(image.Rect(0, 0, 1, 1)), nil
	})
	if !errors.Is(err, context.Canceled) || told == nil {
		t.Fatalf("detach: %v, abandonment told: %v; want context.Canceled, told", err, told != nil)
	}
	select {
	case <-told:
		t.Fatal("told the abandoned decode finished while it runs")
	default:
	}
	close(release)
	<-finished // the abandoned decode still runs to its end
	<-told     // and the caller hears of it

	live, stop := context.WithCancel(context.Background())
	defer stop()
	for _, c := range []context.Context{context.Background(), live} { // run in place, and detached
		_, err = detach(c, FormatGIF, nil, func() (image.Image, error) { panic("boom") })
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("panicking decoder: %v, want ErrCorrupt", err)
		}
	}
	img, err := detach(context.Background(), FormatGIF, nil, func() (image.Image, error) { return image.NewGray(image.Rect(0, 0, 2, 1)), nil })
	if err != nil || img.Bounds().Dx() != 2 {
		t.Fatalf("detach: %v, %v", img, err)
	}
}

// TestColourDecodeNeedsOwnHeader: a header our readers refuse is never
// handed to a colour decoder that might accept it. x/image/bmp takes this
// 54-byte BMP of 7000x7000 32-bit pixels, with none of them there, and
// allocated 186 MB before failing on the missing data.
func TestColourDecodeNeedsOwnHeader(t *testing.T) {
	b := []byte("BM")
	for _, v := range []uint32{54, 0, 54, 40, 7000, 7000} {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	b = binary.LittleEndian.AppendUint16(b, 1)  // planes
	b = binary.LittleEndian.AppendUint16(b, 32) // bits per pixel
	b = append(b, make([]byte, 24)...)          // BI_RGB, sizes, resolution, palette
	var a, z runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	_, err := DecodeBytes(b, DefaultLimits(), MinSide(160))
	runtime.ReadMemStats(&z)
	if err == nil {
		t.Fatal("a BMP without its pixels decoded")
	}
	if d := z.TotalAlloc - a.TotalAlloc; d > 16<<20 {
		t.Errorf("refusing it allocated %d MB", d>>20)
	}
}
