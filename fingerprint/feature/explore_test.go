package feature_test

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"os"
	"testing"

	"github.com/leakwatch/leakwatch/fingerprint/feature"
	"github.com/leakwatch/leakwatch/fixtures/photos"
	"github.com/leakwatch/leakwatch/fixtures/transform"
)

type enrolled struct {
	id   string
	kps  []feature.Keypoint
	w, h int
}

func corrs(e enrolled, q []feature.Keypoint, maxDist int) []feature.Corr {
	var out []feature.Corr
	for qi, k := range q {
		for m := 0; m < 2; m++ {
			bd, bi := 999, -1
			for ei, f := range e.kps {
				d := f.Desc.Distance(k.Desc)
				if m == 1 {
					d = f.Desc.Distance(k.Mirror)
				}
				if d < bd {
					bd, bi = d, ei
				}
			}
			if bi >= 0 && bd <= maxDist {
				f := e.kps[bi]
				pe := feature.Point{X: f.X, Y: f.Y, Scale: f.Scale, Angle: f.Angle}
				pq := feature.Point{X: k.X, Y: k.Y, Scale: k.Scale, Angle: k.Angle}
				out = append(out, feature.Corr{E: pe, Q: pq, Dist: bd, Mirrored: m == 1, EI: int32(bi), QI: int32(qi)})
			}
		}
	}
	return out
}

func TestExplore(t *testing.T) {
	if os.Getenv("EXPLORE") == "" {
		t.Skip()
	}
	nEnroll := 64
	fmt.Sscan(os.Getenv("NENROLL"), &nEnroll)
	maxDist := 64
	fmt.Sscan(os.Getenv("MAXDIST"), &maxDist)
	var bank []enrolled
	all := photos.All()
	for _, p := range all {
		g := feature.GrayFromImage(p.Image)
		kps := feature.Extract(g, feature.EnrollOptions())
		if len(kps) > nEnroll {
			kps = feature.Select(kps, nEnroll, g.W, g.H)
		}
		bank = append(bank, enrolled{id: p.Name, kps: kps, w: g.W, h: g.H})
	}
	grey := color.RGBA{128, 128, 128, 255}
	tf := map[string]transform.Func{
		"rot10":       transform.Rotate(10, grey),
		"rot33":       transform.Rotate(33, grey),
		"rot137":      transform.Rotate(137, grey),
		"left50":      transform.CropSides(0, 0, 0.5, 0),
		"mirror+crop": transform.Chain(transform.FlipH, transform.CropSides(0.2, 0.05, 0.02, 0.15)),
		"rot90+crop":  transform.Chain(transform.Rotate90, transform.CropSides(0.1, 0.2, 0.05, 0.1)),
		"resize30":    transform.Chain(transform.Resize(0.3), transform.JPEG(70)),
		"collage30":   transform.Collage(nil, 0.3, 7),
		"collage25":   transform.Collage(nil, 0.25, 7),
		"jpeg30":      transform.JPEG(30),
		"blur2":       transform.GaussianBlur(2),
	}
	for name, fn := range tf {
		var trueNFA []float64
		worst := math.Inf(1)
		for i, p := range all {
			q := fn(p.Image)
			g := feature.GrayFromImage(q)
			qk := feature.Extract(g, feature.QueryOptions())
			for j, e := range bank {
				v := feature.Verify(corrs(e, qk, maxDist), feature.VerifyOptions{Tests: 2e7, QueryW: float64(g.W), QueryH: float64(g.H), CaptureW: float64(e.w), CaptureH: float64(e.h)})
				if i == j {
					trueNFA = append(trueNFA, math.Round(v.LogNFA*10)/10)
					trueNFA = append(trueNFA, float64(v.Inliers))
				} else {
					worst = math.Min(worst, v.LogNFA)
					if v.LogNFA < 0 {
						t.Logf("FALSE %s: %s vs %s: nfa %.1f inliers %d tentative %d model %+v", name, p.Name, e.id, v.LogNFA, v.Inliers, v.Tentative, v.Model)
					}
				}
			}
			_ = image.Rect
		}
		t.Logf("%-12s true(logNFA,inliers)=%v  best false=%.1f", name, trueNFA, worst)
		if os.Getenv("ONE") != "" {
			break
		}
	}
}

func TestDistHist(t *testing.T) {
	if os.Getenv("EXPLORE") == "" {
		t.Skip()
	}
	all := photos.All()
	p := all[0]
	g := feature.GrayFromImage(p.Image)
	e := feature.Extract(g, feature.EnrollOptions())
	q := feature.GrayFromImage(transform.JPEG(50)(p.Image))
	qk := feature.Extract(q, feature.QueryOptions())
	o := feature.GrayFromImage(all[1].Image)
	ok := feature.Extract(o, feature.QueryOptions())
	hist := func(a, b []feature.Keypoint) [9]int {
		var h [9]int
		for _, x := range a {
			bd := 999
			for _, y := range b {
				bd = min(bd, x.Desc.Distance(y.Desc))
			}
			h[min(bd/16, 8)]++
		}
		return h
	}
	t.Logf("enrolled %d query %d other %d", len(e), len(qk), len(ok))
	t.Logf("nn dist hist (16-wide bins) same: %v", hist(e, qk))
	t.Logf("nn dist hist (16-wide bins) other: %v", hist(e, ok))
	var zero int
	for _, k := range e {
		if k.Desc.Distance(feature.Descriptor{}) < 20 || k.Desc.Distance(feature.Descriptor{^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0)}) < 20 {
			zero++
		}
	}
	t.Logf("near-constant descriptors: %d", zero)
}
