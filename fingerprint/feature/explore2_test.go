package feature_test

import (
	"fmt"
	"image/color"
	"os"
	"sort"
	"testing"

	"github.com/leakwatch/leakwatch/fingerprint/feature"
	"github.com/leakwatch/leakwatch/fixtures/photos"
	"github.com/leakwatch/leakwatch/fixtures/transform"
)

func TestExploreIndex(t *testing.T) {
	if os.Getenv("EXPLORE") == "" {
		t.Skip()
	}
	nEnroll := 32
	fmt.Sscan(os.Getenv("NENROLL"), &nEnroll)
	o := feature.DefaultSearchOptions()
	fmt.Sscan(os.Getenv("PROBES"), &o.Probes)
	fmt.Sscan(os.Getenv("MAXDIST"), &o.MaxDistance)
	var sets []feature.CaptureSet
	all := photos.All()
	for _, p := range all {
		g := feature.GrayFromImage(p.Image)
		kps := feature.Select(feature.Extract(g, feature.EnrollOptions()), nEnroll, g.W, g.H)
		sets = append(sets, feature.Encode(kps, g.W, g.H))
	}
	ix := feature.NewIndex(sets)
	grey := color.RGBA{128, 128, 128, 255}
	tf := map[string]transform.Func{
		"rot10":       transform.Rotate(10, grey),
		"rot137":      transform.Rotate(137, grey),
		"left50":      transform.CropSides(0, 0, 0.5, 0),
		"mirror+crop": transform.Chain(transform.FlipH, transform.CropSides(0.2, 0.05, 0.02, 0.15)),
		"rot90+crop":  transform.Chain(transform.Rotate90, transform.CropSides(0.1, 0.2, 0.05, 0.1)),
		"resize30":    transform.Chain(transform.Resize(0.3), transform.JPEG(70)),
		"collage25":   transform.Collage(nil, 0.25, 7),
		"jpeg30":      transform.JPEG(30),
	}
	var names []string
	for n := range tf {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		fn := tf[name]
		found, wrong := 0, 0
		var nfas []float64
		var st feature.SearchStats
		for i, p := range all {
			q := fn(p.Image)
			g := feature.GrayFromImage(q)
			qk := feature.Extract(g, feature.QueryOptions())
			hits, s := ix.Search(qk, g.W, g.H, o)
			st.Entries += s.Entries
			st.Candidates += s.Candidates
			ok := false
			for _, h := range hits {
				if h.Capture == i {
					ok = true
					nfas = append(nfas, float64(int(h.Verdict.LogNFA)))
				} else {
					wrong++
				}
			}
			if ok {
				found++
			}
		}
		t.Logf("%-12s found %d/%d wrong %d nfa %v entries/q %d cands/q %d", name, found, len(all), wrong, nfas, st.Entries/len(all), st.Candidates/len(all))
	}
}
