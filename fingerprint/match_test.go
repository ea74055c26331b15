package fingerprint

import (
	"errors"
	"image"
	"image/color"
	"image/draw"
	"testing"

	"github.com/leakwatch/leakwatch/fingerprint/pdq"
	"github.com/leakwatch/leakwatch/fixtures/imagegen"
	"github.com/leakwatch/leakwatch/fixtures/transform"
)

// matchBank enrolls a face, a plate and a street scene.
func matchBank(t *testing.T) (*Bank, map[string]image.Image) {
	t.Helper()
	plate, _ := imagegen.Plate(31)
	imgs := map[string]image.Image{"face": imagegen.Face(31), "plate": plate, "street": imagegen.Street(31)}
	b := NewBank()
	for id, img := range imgs {
		e, err := EnrollImage(img)
		if err != nil {
			t.Fatal(err)
		}
		e.Capture = Capture{ID: id, Kind: id}
		if err := b.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	return b, imgs
}

func flat(w, h int, c color.Color) image.Image {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(m, m.Bounds(), image.NewUniform(c), image.Point{}, draw.Src)
	return m
}

func TestMatchPolicy(t *testing.T) {
	bank, imgs := matchBank(t)
	def := DefaultMatchOptions()
	// The routes under test here are the hash routes: the feature route,
	// which finds every one of these copies by itself, is off in the
	// policies that turn a hash route off.
	noSub := def
	noSub.SubImages, noSub.NoFeatures = false, true
	noDih := def
	noDih.Dihedral, noDih.NoFeatures = false, true
	tests := []struct {
		name    string
		capture string // "" when no match is expected
		query   image.Image
		opts    MatchOptions
		via     string
		variant string
		region  bool // matched an enrolled region, not the whole capture
	}{
		{"exact copy", "face", imgs["face"], def, "", "original", false},
		{"recompressed", "plate", transform.JPEG(40)(imgs["plate"]), def, "", "original", false},
		{"mirrored", "street", transform.FlipH(imgs["street"]), def, "", "flipy", false},
		{"mirrored, dihedral off", "", transform.FlipH(imgs["street"]), noDih, "", "", false},
		{"quarter turn", "face", transform.Rotate90(imgs["face"]), def, "", "rotate90", false}, // turning the query back counter-clockwise
		{"centre crop", "street", transform.CentreCrop(0.5)(imgs["street"]), def, "", "original", true},
		{"even crop between regions", "plate", transform.Crop(0.15)(imgs["plate"]), def, "window", "original", true},
		{"even crop, sub-images off", "", transform.Crop(0.15)(imgs["plate"]), noSub, "", "", false},
		{"straightened", "face", transform.RotateCrop(4)(imgs["face"]), def, "straightened", "original", true},
		{"in a collage", "plate", transform.Collage(nil, 0.4, 9)(imgs["plate"]), def, "subimage", "original", false},
		{"unrelated scene", "", imagegen.Street(77), def, "", "", false},
		{"another photo of the person", "", imagegen.FaceVariant(31, 1), def, "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fp, err := Compute(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			ms, err := NewMatcher(bank, tt.opts).Match(fp)
			if err != nil {
				t.Fatal(err)
			}
			if tt.capture == "" {
				if len(ms) != 0 {
					t.Fatalf("matched %+v", ms)
				}
				return
			}
			if len(ms) != 1 || ms[0].CaptureID != tt.capture {
				t.Fatalf("matches %+v, want only %s", ms, tt.capture)
			}
			m := ms[0]
			if m.Via != tt.via || m.Variant != tt.variant || (m.Region != 0) != tt.region {
				t.Errorf("match %+v: want via %q, variant %q, region? %v", m, tt.via, tt.variant, tt.region)
			}
			if m.Kind != tt.capture || m.Algorithm != AlgoPDQ || m.Quality < pdq.MinQuality {
				t.Errorf("match fields %+v", m)
			}
			if (m.Via != "") != (m.Rect != nil) {
				t.Errorf("rect %v with via %q", m.Rect, m.Via)
			}
			if m.Rect != nil {
				b := tt.query.Bounds()
				if r := image.Rect(m.Rect[0], m.Rect[1], m.Rect[2], m.Rect[3]); !r.In(b) || r.Empty() {
					t.Errorf("rect %v not inside the query %v", r, b)
				}
			}
		})
	}
}

func TestMatchUnhashable(t *testing.T) {
	bank, _ := matchBank(t)
	m := NewMatcher(bank, DefaultMatchOptions())
	for name, img := range map[string]image.Image{
		"flat":      flat(640, 480, color.RGBA{90, 120, 150, 255}),
		"1x1":       flat(1, 1, color.White),
		"4x4":       flat(4, 4, color.Black),
		"thin line": flat(3000, 3, color.Gray{128}),
		"fog":       imagegen.LowDetail(3),
	} {
		t.Run(name, func(t *testing.T) {
			fp, err := Compute(img)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := m.Match(fp); !errors.Is(err, ErrLowQuality) {
				t.Errorf("Match = %v, want ErrLowQuality", err)
			}
		})
	}
}

// TestMatchIgnoresLowQualityEnrolled enrolls a hash equal to the query's
// with a quality below the minimum: it must not match.
func TestMatchIgnoresLowQualityEnrolled(t *testing.T) {
	fp, err := Compute(imagegen.Street(8))
	if err != nil {
		t.Fatal(err)
	}
	b := NewBank()
	for id, q := range map[string]int{"weak": pdq.MinQuality - 1, "good": pdq.MinQuality} {
		e := Enrollment{Capture: Capture{ID: id}, PDQ: []RegionHash{{Hash: fp.PDQ.Hashes[0], Quality: q}}, PHash: fp.PHash}
		if err := b.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	ms, err := NewMatcher(b, DefaultMatchOptions()).Match(fp)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || ms[0].CaptureID != "good" || ms[0].Distance != 0 || !ms[0].PHashAgrees || ms[0].PHashDistance != 0 {
		t.Errorf("matches %+v, want only the good capture at distance 0", ms)
	}
}

func TestMatchRadius(t *testing.T) {
	bank, imgs := matchBank(t)
	fp, err := Compute(transform.Chain(transform.JPEG(20), transform.Resize(0.5))(imgs["street"]))
	if err != nil {
		t.Fatal(err)
	}
	all, err := NewMatcher(bank, MatchOptions{MinQuality: pdq.MinQuality, NoFeatures: true}).Match(fp)
	if err != nil || len(all) != 1 {
		t.Fatalf("default radii: %+v, %v", all, err)
	}
	d := all[0].Distance
	if d == 0 {
		t.Skip("copy hashed identically; no radius to test")
	}
	tight := MatchOptions{PDQRadius: d - 1, RegionRadius: d - 1, SubImageRadius: d - 1, MinQuality: pdq.MinQuality, SubImages: true, NoFeatures: true}
	if ms, _ := NewMatcher(bank, tight).Match(fp); len(ms) != 0 {
		t.Errorf("radius %d below the distance %d matched %+v", d-1, d, ms)
	}
	exact := tight
	exact.PDQRadius, exact.RegionRadius, exact.SubImageRadius = d, d, d
	if ms, _ := NewMatcher(bank, exact).Match(fp); len(ms) != 1 {
		t.Errorf("radius %d equal to the distance: %+v", d, ms)
	}
}
