package fingerprint

import (
	"fmt"
	"math"
	"testing"

	"github.com/leakwatch/leakwatch/fingerprint/pdq"
	"github.com/leakwatch/leakwatch/fixtures/imagegen"
	"github.com/leakwatch/leakwatch/fixtures/transform"
)

// TestWindowsCoverEvenCrops checks the geometry the region scheme rests
// on: for a copy keeping any fraction k in [0.5, 1] of the capture's sides,
// the query itself or one of its central windows covers one enrolled
// region's fraction to within half a window step.
func TestWindowsCoverEvenCrops(t *testing.T) {
	fractions := []float64{1}
	for i := 1; i <= windowCount; i++ {
		fractions = append(fractions, math.Pow(windowRatio, -float64(i)))
	}
	tol := math.Log(windowRatio)/2 + 1e-9
	worst := 0.0
	for k := 0.5; k <= 1.0001; k += 0.0005 {
		best := math.Inf(1)
		for _, f := range fractions {
			for _, ke := range centralKeeps {
				best = math.Min(best, math.Abs(math.Log(k*f/ke)))
			}
		}
		if best > tol {
			t.Errorf("keep %.4f: nearest region %.2f%% away", k, 100*best)
		}
		worst = math.Max(worst, best)
	}
	t.Logf("worst misalignment %.2f%% of scale", 100*worst)
}

// TestEnrolledRegionsLineUp crops captures exactly to each enrolled
// region and checks that the crop's whole-image hash finds that region.
func TestEnrolledRegionsLineUp(t *testing.T) {
	plate, _ := imagegen.Plate(5)
	for name, im := range map[string]func() (Enrollment, error){
		"face":   func() (Enrollment, error) { return EnrollImage(imagegen.Face(5)) },
		"plate":  func() (Enrollment, error) { return EnrollImage(plate) },
		"street": func() (Enrollment, error) { return EnrollImage(imagegen.Street(5)) },
	} {
		e, err := im()
		if err != nil {
			t.Fatal(err)
		}
		if e.PDQ[0].Region != 0 {
			t.Fatalf("%s: first hash is region %d", name, e.PDQ[0].Region)
		}
		seen := map[Region]bool{}
		for _, r := range e.PDQ[1:] {
			if r.Region == RegionPatch {
				continue // patches_test.go
			}
			if seen[r.Region] || r.Region == 0 || int(r.Region) > RegionCount || r.Quality < pdq.MinQuality {
				t.Errorf("%s: bad region entry %+v", name, r)
			}
			seen[r.Region] = true
		}
	}
	img := imagegen.Street(5)
	e, err := EnrollImage(img)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range e.PDQ[1:] {
		keep, ok := regionKeep(r.Region)
		if !ok {
			continue
		}
		t.Run(fmt.Sprintf("keep %.3f", keep), func(t *testing.T) {
			fp, err := Compute(transform.CentreCrop(keep)(img))
			if err != nil {
				t.Fatal(err)
			}
			// Rounding the crop to whole pixels is the only difference.
			if d := fp.PDQ.Hashes[0].Distance(r.Hash); d > 12 {
				t.Errorf("crop to region %d is %d bits from it", r.Region, d)
			}
		})
	}
}
