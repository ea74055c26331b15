package png

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/adler32"
	"hash/crc32"
	"image"
	_ "image/jpeg" // the photographs are JPEGs
	stdpng "image/png"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leakwatch/leakwatch/fingerprint/internal/area/areatest"
	"github.com/leakwatch/leakwatch/fingerprint/internal/ctxtest"
)

// reference is image/png's decode of data, its luma read as the
// fingerprint reads it, and area-averaged over d x d blocks.
func reference(t *testing.T, data []byte, d int) (*image.Gray, error) {
	t.Helper()
	img, err := stdpng.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	return areatest.Reduce(img, d), nil
}

// compare decodes data with Decode and with the reference at each
// reduction (1, 2, 3, 4 and 8 unless given) and checks that every pixel
// is within one level. It reports whether image/png decoded the file (a
// file both refuse is not compared).
func compare(t *testing.T, name string, data []byte, denoms ...int) bool {
	t.Helper()
	if denoms == nil {
		denoms = []int{1, 2, 3, 4, 8}
	}
	for _, d := range denoms {
		want, werr := reference(t, data, d)
		got, err := Decode(context.Background(), data, Options{Denom: d})
		if werr != nil || err != nil {
			if (werr == nil) != (err == nil) {
				t.Errorf("%s 1/%d: Decode error %v, image/png error %v", name, d, err, werr)
			}
			return werr == nil
		}
		if got.Bounds() != want.Bounds() {
			t.Fatalf("%s 1/%d: bounds %v, want %v", name, d, got.Bounds(), want.Bounds())
		}
		if worst, _ := areatest.Worst(got, want); worst > 1 {
			t.Errorf("%s 1/%d: a pixel differs by %d levels", name, d, worst)
		}
	}
	return true
}

// TestAgainstImagePNG compares with image/png on every file of Go's copy
// of PngSuite (every colour type, bit depth and interlacing, and broken
// files), the PDQ fixtures and real photographs saved as PNG.
func TestAgainstImagePNG(t *testing.T) {
	var files []string
	var suite []string
	if root, err := exec.Command("go", "env", "GOROOT").Output(); err == nil {
		suite, _ = filepath.Glob(filepath.Join(strings.TrimSpace(string(root)), "src", "image", "png", "testdata", "pngsuite", "*.png"))
	}
	files = append(files, suite...)
	for _, dir := range []string{"../../fixtures/pdq/data/*/*.png", "../../fixtures/pdq/data/*/*/*.png", "../../fixtures/pdq/decoded/*.png"} {
		m, _ := filepath.Glob(dir)
		files = append(files, m...)
	}
	if len(suite) == 0 {
		t.Log("Go's PngSuite copy not found; generated files cover the colour types")
	}
	decoded := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if compare(t, filepath.Base(f), data) {
			decoded++
		}
	}
	t.Logf("%d files, %d decoded by image/png", len(files), decoded)
	photos, _ := filepath.Glob("../../fixtures/photos/*.jpg")
	for _, f := range photos[:min(2, len(photos))] {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		img, _, err := image.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := stdpng.Encode(&buf, img); err != nil {
			t.Fatal(err)
		}
		if !compare(t, filepath.Base(f)+".png", buf.Bytes(), 1, 4) {
			t.Errorf("%s: not decoded", f)
		}
	}
}

// spec is a PNG to generate: every combination the format allows.
type spec struct {
	ct, depth int
	trns      bool
	interlace bool
}

func allSpecs() []spec {
	depths := map[int][]int{ctGray: {1, 2, 4, 8, 16}, ctRGB: {8, 16}, ctPalette: {1, 2, 4, 8}, ctGrayAlpha: {8, 16}, ctRGBA: {8, 16}}
	var out []spec
	for _, ct := range []int{ctGray, ctRGB, ctPalette, ctGrayAlpha, ctRGBA} {
		for _, dp := range depths[ct] {
			for _, il := range []bool{false, true} {
				out = append(out, spec{ct, dp, false, il})
				if ct == ctGray || ct == ctRGB || ct == ctPalette {
					out = append(out, spec{ct, dp, true, il})
				}
			}
		}
	}
	return out
}

func putChunk(b *bytes.Buffer, typ string, body []byte) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(body)))
	b.Write(n[:])
	b.WriteString(typ)
	b.Write(body)
	binary.BigEndian.PutUint32(n[:], crc32.ChecksumIEEE(append([]byte(typ), body...)))
	b.Write(n[:])
}

// encode writes a PNG of s with w x h pixels of smooth content plus
// noise, each row under a random filter, the image data split into
// IDAT chunks of idatSize bytes.
func encode(s spec, w, h int, rng *rand.Rand, idatSize int) []byte {
	var b bytes.Buffer
	b.WriteString(signature)
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr, uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = byte(s.depth), byte(s.ct)
	if s.interlace {
		ihdr[12] = 1
	}
	putChunk(&b, "IHDR", ihdr)
	top := 1<<s.depth - 1
	if s.ct == ctPalette {
		n := min(256, 1<<s.depth) - 1 // one index past the palette
		plte := make([]byte, 3*max(1, n))
		for i := range plte {
			plte[i] = byte(rng.IntN(256))
		}
		putChunk(&b, "PLTE", plte)
	}
	if s.trns {
		switch s.ct {
		case ctGray:
			putChunk(&b, "tRNS", []byte{0, byte(top & 1)})
		case ctRGB:
			putChunk(&b, "tRNS", []byte{0, 1, 0, 2, 0, 3})
		case ctPalette:
			putChunk(&b, "tRNS", []byte{0, 128})
		}
	}
	putChunk(&b, "tEXt", []byte("Comment\x00generated"))
	nc := channels(s.ct)
	sample := func(x, y, c int) int {
		v := float64(x*(c+1)+y*(3-c)) / float64(w+h) * float64(top)
		v += rng.NormFloat64() * float64(top) / 16
		return int(math.Min(math.Max(v, 0), float64(top)))
	}
	passes := [][4]int{{0, 0, 1, 1}}
	if s.interlace {
		passes = adam7[:]
	}
	var raw bytes.Buffer
	for _, ps := range passes {
		pw, ph := (w-ps[0]+ps[2]-1)/ps[2], (h-ps[1]+ps[3]-1)/ps[3]
		if pw <= 0 || ph <= 0 {
			continue
		}
		n := (pw*s.depth*nc + 7) / 8
		prev := make([]byte, n)
		for i := range ph {
			y := ps[1] + i*ps[3]
			row := make([]byte, n)
			bit := 0
			for j := range pw {
				x := ps[0] + j*ps[2]
				for c := range nc {
					v := sample(x, y, c)
					switch {
					case s.depth == 16:
						row[bit/8], row[bit/8+1] = byte(v>>8), byte(v)
					default:
						row[bit/8] |= byte(v) << (8 - s.depth - bit%8)
					}
					bit += s.depth
				}
			}
			ft := byte(rng.IntN(5))
			raw.WriteByte(ft)
			raw.Write(filter(ft, row, prev, max(1, s.depth*nc/8)))
			prev = row
		}
	}
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(raw.Bytes())
	zw.Close()
	for zb := z.Bytes(); len(zb) > 0; {
		k := min(idatSize, len(zb))
		putChunk(&b, "IDAT", zb[:k])
		zb = zb[k:]
	}
	putChunk(&b, "IEND", nil)
	return b.Bytes()
}

// filter applies filter type ft to a row (the encoder's side of unfilter).
func filter(ft byte, row, prev []byte, bpp int) []byte {
	out := make([]byte, len(row))
	for i := range row {
		var a, c byte
		if i >= bpp {
			a, c = row[i-bpp], prev[i-bpp]
		}
		b := prev[i]
		switch ft {
		case 0:
			out[i] = row[i]
		case 1:
			out[i] = row[i] - a
		case 2:
			out[i] = row[i] - b
		case 3:
			out[i] = row[i] - byte((int(a)+int(b))/2)
		case 4:
			out[i] = row[i] - paeth(a, b, c)
		}
	}
	return out
}

// TestGenerated compares with image/png on generated files of every colour
// type, bit depth, transparency and interlacing, with sizes that leave
// partial blocks and empty interlace passes.
func TestGenerated(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, s := range allSpecs() {
		for _, sz := range [][2]int{{1, 1}, {3, 2}, {37, 29}, {64, 17}} {
			name := fmt.Sprintf("ct%d-%dbit-trns%v-interlace%v-%dx%d", s.ct, s.depth, s.trns, s.interlace, sz[0], sz[1])
			if !compare(t, name, encode(s, sz[0], sz[1], rng, 1+rng.IntN(200))) {
				t.Errorf("%s: image/png refused it", name)
			}
		}
	}
}

func TestLimits(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	data := encode(spec{ct: ctRGB, depth: 8}, 64, 48, rng, 100)
	var le *LimitError
	for _, c := range []struct {
		name  string
		opt   Options
		limit string
		max   int64 // the bound the error names
	}{
		{"pixels", Options{MaxPixels: 64*48 - 1}, "pixels", 64*48 - 1},
		{"output pixels", Options{Denom: 2, MaxOutPixels: 32*24 - 1}, "output pixels", 32*24 - 1},
		{"chunks", Options{MaxChunks: 10}, "chunks", 10},
		{"chunk bytes", Options{MaxChunkBytes: 8}, "chunk bytes", 8},
		{"row bytes", Options{MaxRowBytes: 64*3 - 1}, "row bytes", 64*3 - 1},
	} {
		_, err := Decode(context.Background(), data, c.opt)
		if !errors.As(err, &le) || !errors.Is(err, ErrLimit) || le.Limit != c.limit {
			t.Errorf("%s: %v, want a %q LimitError", c.name, err, c.limit)
			continue
		}
		if le.Max != c.max || le.Value <= c.max {
			t.Errorf("%s: %v, want a value over the limit %d", c.name, err, c.max)
		}
		if want := fmt.Sprintf("%d %s, limit %d", le.Value, c.limit, c.max); !strings.Contains(err.Error(), want) {
			t.Errorf("%s: message %q, want it to say %q", c.name, err, want)
		}
	}
	// Two million 16-bit RGBA pixels in one row: within the pixel bound,
	// refused from the header before two 16 MB rows are allocated.
	wide := encode(spec{ct: ctRGBA, depth: 16}, 1, 1, rng, 100)
	binary.BigEndian.PutUint32(wide[16:], 2_000_000)
	binary.BigEndian.PutUint32(wide[29:], crc32.ChecksumIEEE(wide[12:29]))
	if _, err := Decode(context.Background(), wide, Options{}); !errors.As(err, &le) || le.Limit != "row bytes" {
		t.Errorf("a 2,000,000-pixel row: %v, want a row bytes LimitError", err)
	}
	if _, err := Decode(context.Background(), data, Options{Denom: 2, MaxOutPixels: 32 * 24, MaxChunks: 100, MaxRowBytes: 64 * 3}); err != nil {
		t.Errorf("within the bounds: %v", err)
	}
}

// TestBadData checks that damaged files are format errors.
func TestBadData(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	good := encode(spec{ct: ctRGBA, depth: 8}, 40, 30, rng, 64)
	for name, data := range map[string][]byte{
		"empty":     nil,
		"signature": []byte("\x89PNG\r\n\x1a\x00"),
		"truncated": good[:len(good)/2],
		"no IEND":   good[:len(good)-12],
		"crc":       append(append([]byte{}, good[:40]...), append([]byte{good[40] ^ 1}, good[41:]...)...),
		"no IDAT":   append(append([]byte{}, good[:33]...), good[len(good)-12:]...),
	} {
		_, err := Decode(context.Background(), data, Options{})
		if !errors.Is(err, ErrFormat) {
			t.Errorf("%s: %v, want ErrFormat", name, err)
		}
	}
}

// TestCancel stops a decode from its context.
func TestCancel(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	data := encode(spec{ct: ctGray, depth: 8}, 50, 50, rng, 1000)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Decode(ctx, data, Options{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("%v, want context.Canceled", err)
	}
}

// TestCancelInsideImageData: megabytes of empty deflate blocks yield no
// row; the decode must still notice its context is done.
func TestCancelInsideImageData(t *testing.T) {
	var b bytes.Buffer
	b.WriteString(signature)
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr, 1)
	binary.BigEndian.PutUint32(ihdr[4:], 1)
	ihdr[8], ihdr[9] = 8, ctGray
	putChunk(&b, "IHDR", ihdr)
	z := []byte{0x78, 0x01}
	for range 2 << 20 {
		z = append(z, 0, 0, 0, 0xff, 0xff) // an empty stored block, not final
	}
	row := []byte{0, 128} // filter byte, one pixel
	z = append(z, 1, 2, 0, 0xfd, 0xff)
	z = append(z, row...)
	z = binary.BigEndian.AppendUint32(z, adler32.Checksum(row))
	putChunk(&b, "IDAT", z)
	putChunk(&b, "IEND", nil)
	if _, err := Decode(context.Background(), b.Bytes(), Options{}); err != nil {
		t.Fatalf("the file itself is valid: %v", err)
	}
	ctx := ctxtest.Countdown(50)
	if _, err := Decode(ctx, b.Bytes(), Options{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("%v, want context.Canceled", err)
	}
}

// TestZlibBomb: image data that inflates past what the header implies is
// refused after one byte more, not inflated to its end.
func TestZlibBomb(t *testing.T) {
	var b bytes.Buffer
	b.WriteString(signature)
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr, 16)
	binary.BigEndian.PutUint32(ihdr[4:], 16)
	ihdr[8], ihdr[9] = 8, ctGray
	putChunk(&b, "IHDR", ihdr)
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(make([]byte, 64<<20)) // 64 MiB of zeros for 272 bytes of rows
	zw.Close()
	putChunk(&b, "IDAT", z.Bytes())
	putChunk(&b, "IEND", nil)
	_, err := Decode(context.Background(), b.Bytes(), Options{})
	if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "too much pixel data") {
		t.Fatalf("%v, want too much pixel data", err)
	}
}
