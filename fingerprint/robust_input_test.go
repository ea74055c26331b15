package fingerprint

import (
	"errors"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leakwatch/leakwatch/fingerprint/pdq"
)

// pdqFixtures holds Meta's PDQ test images (see its README.md).
const pdqFixtures = "../fixtures/pdq"

// TestModesMatchOriginal decodes the same photograph saved in many pixel
// modes (grey, palette, CMYK, with alpha, 16-bit, ...). Every file must
// hash or fail with a clear reason; the modes that keep the picture's
// luma must match the original.
func TestModesMatchOriginal(t *testing.T) {
	dir := filepath.Join(pdqFixtures, "data/misc-images/modes")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	orig, err := os.ReadFile(filepath.Join(dir, "original.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := DecodeBytes(orig, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	e, err := EnrollImage(d.Image)
	if err != nil {
		t.Fatal(err)
	}
	e.Capture = Capture{ID: "original"}
	bank := NewBank()
	if err := bank.Add(e); err != nil {
		t.Fatal(err)
	}
	m := NewMatcher(bank, DefaultMatchOptions())
	// Modes whose luma is the picture's: these must match. The others
	// (HSV, LAB, 32-bit integer and float) store other quantities in the
	// channels a viewer reads as RGB, so they only must not panic.
	mustMatch := map[string]bool{"1": false, "CMYK": true, "L": true, "LA": true, "P": true, "PA": true, "RGB": true, "RGBA": true, "YCbCr": true}
	for _, ent := range entries {
		name := ent.Name()
		if strings.HasSuffix(name, ".md") || name == "original.jpg" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			d, err := DecodeBytes(data, DefaultLimits())
			if err != nil {
				if !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrCorrupt) {
					t.Fatalf("decode error without a reason: %v", err)
				}
				t.Logf("refused: %v", err)
				return
			}
			fp, err := Compute(d.Image)
			if err != nil {
				t.Fatalf("Compute: %v", err)
			}
			if _, err := EnrollImage(d.Image); err != nil {
				t.Fatalf("EnrollImage: %v", err)
			}
			ms, err := m.Match(fp)
			mode := strings.TrimSuffix(name, filepath.Ext(name))
			t.Logf("%T, quality %d, matches %d, err %v", d.Image, fp.PDQ.Quality, len(ms), err)
			if mustMatch[mode] && (err != nil || len(ms) != 1) {
				t.Errorf("%s does not match the original: %+v, %v", mode, ms, err)
			}
		})
	}
}

// TestBadImagesNeverPanic hashes images of every in-memory type the
// decoders return, including degenerate ones; each must hash (possibly
// with quality 0) or fail with a reason.
func TestBadImagesNeverPanic(t *testing.T) {
	// grad paints blobs and stripes over the image's bounds: enough
	// structure for PDQ to reach full quality.
	grad := func(m interface {
		Set(int, int, color.Color)
		Bounds() image.Rectangle
	}, _, _ int) {
		b := m.Bounds()
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				u, v := float64(x-b.Min.X)/float64(b.Dx()), float64(y-b.Min.Y)/float64(b.Dy())
				s := math.Sin(41*u+13*v) * math.Cos(37*v-11*u)
				c := uint16(32768 + 30000*s)
				m.Set(x, y, color.NRGBA64{c, uint16(65535 * u), 65535 - c, 65535})
			}
		}
	}
	g16 := image.NewGray16(image.Rect(0, 0, 300, 200))
	grad(g16, 300, 200)
	cmyk := image.NewCMYK(image.Rect(0, 0, 120, 90))
	grad(cmyk, 120, 90)
	pal := image.NewPaletted(image.Rect(0, 0, 200, 150), color.Palette{color.Black, color.White, color.RGBA{200, 0, 0, 255}})
	grad(pal, 200, 150)
	noPalette := image.NewPaletted(image.Rect(0, 0, 64, 64), nil)
	for i := range noPalette.Pix {
		noPalette.Pix[i] = uint8(i)
	}
	transparent := image.NewNRGBA(image.Rect(0, 0, 100, 100))
	nycc := image.NewNYCbCrA(image.Rect(0, 0, 96, 64), image.YCbCrSubsampleRatio420)
	offset := image.NewRGBA(image.Rect(-50, 1000, 350, 1300))
	grad(offset, 400, 300)
	big := image.NewGray(image.Rect(0, 0, 2600, 1700))
	grad(big, 2600, 1700)
	tests := []struct {
		name    string
		img     image.Image
		hashed  bool // quality must reach pdq.MinQuality
		wantErr error
	}{
		{"16-bit grey", g16, true, nil},
		{"CMYK", cmyk, true, nil},
		{"palette", pal, true, nil},
		{"palette without colours", noPalette, false, nil},
		{"fully transparent", transparent, false, nil},
		{"YCbCr with alpha", nycc, false, nil},
		{"bounds not at the origin", offset, true, nil},
		{"larger than the working plane", big, true, nil},
		{"1x1", image.NewRGBA(image.Rect(0, 0, 1, 1)), false, nil},
		{"2x9", image.NewGray(image.Rect(0, 0, 2, 9)), false, nil},
		{"empty", image.NewRGBA(image.Rect(0, 0, 0, 0)), false, ErrCorrupt},
		{"uniform with infinite bounds", image.NewUniform(color.White), false, ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fp, err := Compute(tt.img)
			_, eerr := EnrollImage(tt.img)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !errors.Is(eerr, tt.wantErr) {
					t.Fatalf("Compute %v, EnrollImage %v; want %v", err, eerr, tt.wantErr)
				}
				return
			}
			if err != nil || eerr != nil {
				t.Fatalf("Compute %v, EnrollImage %v", err, eerr)
			}
			if got := fp.PDQ.Quality >= pdq.MinQuality; got != tt.hashed {
				t.Errorf("quality %d, want hashable = %v", fp.PDQ.Quality, tt.hashed)
			}
			for _, c := range fp.Candidates {
				if !c.Rect.In(image.Rect(0, 0, tt.img.Bounds().Dx(), tt.img.Bounds().Dy())) {
					t.Errorf("candidate rect %v outside the image", c.Rect)
				}
			}
		})
	}
}
