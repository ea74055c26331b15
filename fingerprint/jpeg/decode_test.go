package jpeg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	stdjpeg "image/jpeg"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// fixtureFiles lists the JPEGs the decoder must agree with image/jpeg on:
// this package's test data and the repository's photo and PDQ fixtures.
func fixtureFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, pat := range []string{"testdata/*.jpg", "../../fixtures/photos/*.jpg", "../../fixtures/pdq/data/*/*.jpg", "../../fixtures/pdq/data/*/*/*.jpg"} {
		m, err := filepath.Glob(pat)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 40 {
		t.Fatalf("found %d fixture JPEGs, want at least 40", len(files))
	}
	return files
}

// planes returns an image's samples as named byte planes of w x h.
func planes(img image.Image) map[string][]byte {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	out := map[string][]byte{}
	grab := func(name string, get func(x, y int) byte) {
		p := make([]byte, w*h)
		for y := range h {
			for x := range w {
				p[y*w+x] = get(x, y)
			}
		}
		out[name] = p
	}
	switch m := img.(type) {
	case *image.Gray:
		grab("gray", func(x, y int) byte { return m.GrayAt(x, y).Y })
	case *image.YCbCr:
		grab("Y", func(x, y int) byte { return m.YCbCrAt(x, y).Y })
		grab("Cb", func(x, y int) byte { return m.YCbCrAt(x, y).Cb })
		grab("Cr", func(x, y int) byte { return m.YCbCrAt(x, y).Cr })
	case *image.CMYK:
		for i, n := range []string{"C", "M", "Y", "K"} {
			grab(n, func(x, y int) byte { return m.Pix[m.PixOffset(x, y)+i] })
		}
	case *image.RGBA:
		for i, n := range []string{"R", "G", "B"} {
			grab(n, func(x, y int) byte { return m.Pix[m.PixOffset(x, y)+i] })
		}
	}
	return out
}

// TestMatchesStdlib decodes every fixture at full size and compares each
// sample with image/jpeg: the two inverse transforms round differently,
// so samples may differ by a little, never more.
func TestMatchesStdlib(t *testing.T) {
	var worst int
	var sum, n float64
	for _, f := range fixtureFiles(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		want, err := stdjpeg.Decode(bytes.NewReader(data))
		if err != nil {
			if strings.Contains(f, "arithmetic") {
				continue
			}
			if _, err := Decode(context.Background(), data, Options{}); err != nil {
				t.Errorf("%s: image/jpeg: %v; ours: %v", f, err, err)
			}
			continue
		}
		got, err := Decode(context.Background(), data, Options{})
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if fmt.Sprintf("%T", got) != fmt.Sprintf("%T", want) || got.Bounds() != want.Bounds() {
			t.Errorf("%s: got %T %v, want %T %v", f, got, got.Bounds(), want, want.Bounds())
			continue
		}
		gp, wp := planes(got), planes(want)
		for name, w := range wp {
			g := gp[name]
			for i := range w {
				d := int(g[i]) - int(w[i])
				if d < 0 {
					d = -d
				}
				worst = max(worst, d)
				sum += float64(d)
				n++
				if d > 2 {
					t.Errorf("%s: %s sample %d: got %d, want %d", f, name, i, g[i], w[i])
					break
				}
			}
		}
	}
	t.Logf("max difference %d, mean %.4f over %.0f samples", worst, sum/n, n)
	if sum/n > 0.1 {
		t.Errorf("mean difference %.3f, want <= 0.1", sum/n)
	}
}

func readPGM(t *testing.T, path string) *image.Gray {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(data[:min(len(data), 32)]))
	w, _ := strconv.Atoi(f[1])
	h, _ := strconv.Atoi(f[2])
	img := image.NewGray(image.Rect(0, 0, w, h))
	copy(img.Pix, data[len(data)-w*h:])
	return img
}

// TestScaledMatchesLibjpeg compares scaled luma decodes with
// libjpeg-turbo's (djpeg -grayscale -scale 1/N).
func TestScaledMatchesLibjpeg(t *testing.T) {
	for _, tc := range []struct {
		file  string
		denom int
	}{
		{"base422.jpg", 2},
		{"large420-prog.jpg", 4},
		{"large420-prog.jpg", 8},
	} {
		data, err := os.ReadFile(filepath.Join("testdata", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		ref := readPGM(t, filepath.Join("testdata", fmt.Sprintf("ref-%s-1of%d.pgm", strings.TrimSuffix(tc.file, ".jpg"), tc.denom)))
		cfg, err := DecodeConfig(data)
		if err != nil {
			t.Fatal(err)
		}
		minSide := (max(cfg.Width, cfg.Height) + tc.denom - 1) / tc.denom
		img, err := Decode(context.Background(), data, Options{MinSide: minSide, Luma: true})
		if err != nil {
			t.Fatal(err)
		}
		g := img.(*image.Gray)
		if g.Bounds() != ref.Bounds() {
			t.Fatalf("%s 1/%d: bounds %v, libjpeg %v", tc.file, tc.denom, g.Bounds(), ref.Bounds())
		}
		worst, sum := 0, 0
		for y := range ref.Rect.Dy() {
			for x := range ref.Rect.Dx() {
				d := int(g.GrayAt(x, y).Y) - int(ref.GrayAt(x, y).Y)
				d = max(d, -d)
				worst = max(worst, d)
				sum += d
			}
		}
		mean := float64(sum) / float64(len(ref.Pix))
		t.Logf("%s 1/%d: max difference %d, mean %.3f", tc.file, tc.denom, worst, mean)
		if worst > 3 || mean > 0.5 {
			t.Errorf("%s 1/%d: max difference %d, mean %.3f; want <= 3 and <= 0.5", tc.file, tc.denom, worst, mean)
		}
	}
}

// TestScaledIsAreaAverage checks every fixture at every scale against the
// area average of its full-size decode: a reduced transform keeps the
// block means exactly and the low frequencies approximately.
func TestScaledIsAreaAverage(t *testing.T) {
	for _, f := range fixtureFiles(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		full, err := Decode(context.Background(), data, Options{Luma: true})
		if err != nil {
			continue // unsupported files are tested elsewhere
		}
		fg := full.(*image.Gray)
		for _, denom := range []int{2, 4, 8} {
			w, h := fg.Rect.Dx(), fg.Rect.Dy()
			img, err := Decode(context.Background(), data, Options{MinSide: (max(w, h) + denom - 1) / denom, Luma: true})
			if err != nil {
				t.Fatalf("%s 1/%d: %v", f, denom, err)
			}
			g := img.(*image.Gray)
			sw, sh := ScaledSize(w, h, denom)
			if g.Rect.Dx() != sw || g.Rect.Dy() != sh {
				t.Fatalf("%s 1/%d: %v, want %dx%d", f, denom, g.Rect, sw, sh)
			}
			var sum float64
			for y := range sh {
				for x := range sw {
					var s, n float64
					for yy := y * denom; yy < min(h, (y+1)*denom); yy++ {
						for xx := x * denom; xx < min(w, (x+1)*denom); xx++ {
							s += float64(fg.Pix[yy*fg.Stride+xx])
							n++
						}
					}
					sum += math.Abs(s/n - float64(g.Pix[y*g.Stride+x]))
				}
			}
			if mean := sum / float64(sw*sh); mean > 1 {
				t.Errorf("%s 1/%d: mean distance to the area average %.2f, want <= 1", f, denom, mean)
			}
		}
	}
}

// TestLumaMatchesColour checks that Luma output equals the luma of the
// colour output for every colour layout.
func TestLumaMatchesColour(t *testing.T) {
	for _, f := range []string{"base420-odd.jpg", "rgb.jpg", "cmyk.jpg", "prog-cmyk.jpg", "gray-odd.jpg"} {
		data, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		for _, minSide := range []int{0, 100} {
			col, err := Decode(context.Background(), data, Options{MinSide: minSide})
			if err != nil {
				t.Fatal(err)
			}
			lum, err := Decode(context.Background(), data, Options{MinSide: minSide, Luma: true})
			if err != nil {
				t.Fatal(err)
			}
			g := lum.(*image.Gray)
			b := col.Bounds()
			if g.Rect != b {
				t.Fatalf("%s: luma %v, colour %v", f, g.Rect, b)
			}
			for y := b.Min.Y; y < b.Max.Y; y++ {
				for x := b.Min.X; x < b.Max.X; x++ {
					want := color.GrayModel.Convert(col.At(x, y)).(color.Gray).Y
					if yc, ok := col.(*image.YCbCr); ok {
						want = yc.YCbCrAt(x, y).Y
					}
					if d := int(g.GrayAt(x, y).Y) - int(want); d < -1 || d > 1 {
						t.Fatalf("%s at %d,%d (min side %d): luma %d, colour gives %d", f, x, y, minSide, g.GrayAt(x, y).Y, want)
					}
				}
			}
		}
	}
}

func TestScaleFor(t *testing.T) {
	for _, tc := range []struct{ w, h, min, short, want int }{
		{1920, 1080, 512, 0, 2},
		{4000, 3000, 512, 0, 4},
		{8000, 6000, 512, 0, 8},
		{4096, 100, 512, 0, 8},
		{4089, 100, 512, 0, 8},
		{4088, 100, 512, 0, 4},
		{1023, 1023, 512, 0, 2},
		{1022, 1022, 512, 0, 1},
		{1024, 10, 512, 0, 2},
		{640, 480, 0, 0, 1},
		{640, 480, 1024, 0, 1},
		{1920, 1080, 0, 128, 8},
		{1920, 1017, 0, 128, 8},
		{1920, 1016, 0, 128, 4},
		{4000, 3000, 0, 128, 8},
		{4096, 100, 0, 128, 1},
		{4096, 300, 512, 128, 2},
		{1920, 1080, 512, 128, 2},
		{300, 259, 0, 128, 2},
		{300, 255, 0, 128, 2},
		{300, 254, 0, 128, 1},
	} {
		if got := ScaleFor(tc.w, tc.h, tc.min, tc.short); got != tc.want {
			t.Errorf("ScaleFor(%d, %d, %d, %d) = %d, want %d", tc.w, tc.h, tc.min, tc.short, got, tc.want)
		}
	}
}

func TestUnsupported(t *testing.T) {
	base, err := os.ReadFile("testdata/base420-odd.jpg")
	if err != nil {
		t.Fatal(err)
	}
	sof := bytes.Index(base, []byte{0xFF, 0xC0})
	if sof < 0 {
		t.Fatal("no SOF0")
	}
	twelve := bytes.Clone(base)
	twelve[sof+4] = 12
	lossless := bytes.Clone(base)
	lossless[sof+1] = 0xC3
	arith, err := os.ReadFile("testdata/arithmetic.jpg")
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"12-bit": twelve, "lossless": lossless, "arithmetic": arith} {
		_, err := Decode(context.Background(), data, Options{})
		if !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: %v, want ErrUnsupported", name, err)
		}
	}
}

// TestCorruptInput cuts and damages a progressive and a restart-marked
// file everywhere: each must give an image or an error, never a panic.
func TestCorruptInput(t *testing.T) {
	for _, f := range []string{"prog422-restart.jpg", "restart-rows.jpg", "prog-cmyk.jpg"} {
		data, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		truncated := 0
		for cut := 0; cut < len(data); cut += 1 + len(data)/300 {
			if _, err := Decode(context.Background(), data[:cut], Options{MinSide: 64}); err != nil {
				truncated++
				if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrUnsupported) {
					t.Errorf("%s cut at %d: %v, want ErrFormat", f, cut, err)
				}
			}
		}
		if truncated == 0 {
			t.Errorf("%s: no truncation was reported", f)
		}
		for i := 0; i < len(data); i += 1 + len(data)/200 {
			bad := bytes.Clone(data)
			bad[i] ^= 0x5A
			_, _ = Decode(context.Background(), bad, Options{})
			_, _ = Decode(context.Background(), bad, Options{MinSide: 40, Luma: true})
		}
	}
}
