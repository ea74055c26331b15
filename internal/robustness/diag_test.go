package robustness

import (
	"fmt"
	"image/color"
	"os"
	"sort"
	"testing"

	"github.com/leakwatch/leakwatch/fingerprint/feature"
	"github.com/leakwatch/leakwatch/fixtures/transform"
)

func TestDiagFeatures(t *testing.T) {
	if os.Getenv("DIAG") == "" {
		t.Skip()
	}
	n, nEnroll := 4, 32
	fmt.Sscan(os.Getenv("N"), &n)
	fmt.Sscan(os.Getenv("NENROLL"), &nEnroll)
	caps := captures(1, n, nil)
	nPhotos := 0
	for _, c := range caps {
		if c.kind == "photo" {
			nPhotos++
		}
	}
	var sets []feature.CaptureSet
	for _, c := range caps {
		g := feature.GrayFromImage(c.img())
		o := feature.EnrollOptions()
		g2 := g
		if m := max(g.W, g.H); m > 512 {
			g2 = feature.ResizeArea(g, g.W*512/m, g.H*512/m)
		}
		sets = append(sets, feature.Encode(feature.Select(feature.Extract(g2, o), nEnroll, g2.W, g2.H), g2.W, g2.H))
	}
	ix := feature.NewIndex(sets)
	so := feature.DefaultSearchOptions()
	so.MaxLogNFA = 100
	fmt.Sscan(os.Getenv("PROBES"), &so.Probes)
	fmt.Sscan(os.Getenv("MAXDIST"), &so.MaxDistance)
	line := func(tag string, h feature.Hit) string {
		v := h.Verdict
		return fmt.Sprintf("%-10s nfa %7.1f in %3d tent %4d md %5.1f spread %.2f vis %3d frac %.2f", tag, v.LogNFA, v.Inliers, v.Tentative, v.MeanDist, v.Spread, v.Visible, float64(v.Inliers)/float64(max(v.Visible, 1)))
	}
	var out []string
	grey := color.RGBA{128, 128, 128, 255}
	tfs := map[string]transform.Func{
		"rot17":       transform.Rotate(17, grey),
		"mirrorcrop":  transform.Chain(transform.FlipH, transform.CropSides(0.15, 0.05, 0.02, 0.1)),
		"left55":      transform.CropSides(0, 0, 0.45, 0),
		"page30":      transform.Collage(nil, 0.3, 3),
		"resize40jpg": transform.Chain(transform.Resize(0.4), transform.JPEG(60)),
	}
	for name, fn := range tfs {
		for i, c := range caps {
			g := feature.GrayFromImage(fn(c.img()))
			hits, _ := ix.Search(feature.Extract(g, feature.QueryOptions()), g.W, g.H, so)
			got := false
			for _, h := range hits {
				if h.Capture == i {
					got = true
					out = append(out, line("TRUE "+name, h)+" "+c.kind)
				}
			}
			if !got {
				out = append(out, "TRUE "+name+" MISS "+c.kind)
			}
		}
	}
	for _, u := range unrelated(1, n, nPhotos, 3, caps) {
		g := feature.GrayFromImage(u.img())
		hits, _ := ix.Search(feature.Extract(g, feature.QueryOptions()), g.W, g.H, so)
		for _, h := range hits {
			if h.Verdict.LogNFA < 0 {
				out = append(out, line("FALSE", h)+" "+u.id+" -> "+caps[h.Capture].id)
			}
		}
	}
	sort.Strings(out)
	for _, l := range out {
		fmt.Println(l)
	}
}
