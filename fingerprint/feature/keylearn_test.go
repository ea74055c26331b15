package feature_test

import (
	"fmt"
	"math"
	"os"
	"testing"

	"github.com/leakwatch/leakwatch/fingerprint/feature"
	"github.com/leakwatch/leakwatch/fixtures/imagegen"
	"github.com/leakwatch/leakwatch/fixtures/photos"
)

func TestLearnKey(t *testing.T) {
	if os.Getenv("EXPLORE") == "" {
		t.Skip()
	}
	_ = imagegen.Face
	var ds []feature.Descriptor
	for _, p := range photos.All() {
		g := feature.GrayFromImage(p.Image)
		for _, k := range feature.Extract(g, feature.QueryOptions()) {
			ds = append(ds, k.Desc)
		}
	}
	n := float64(len(ds))
	bit := func(d feature.Descriptor, i int) float64 { return float64(d[i>>6] >> (i & 63) & 1) }
	mean := make([]float64, 256)
	for _, d := range ds {
		for i := range 256 {
			mean[i] += bit(d, i)
		}
	}
	for i := range mean {
		mean[i] /= n
	}
	corr := func(a, b int) float64 {
		var s float64
		for _, d := range ds {
			s += (bit(d, a) - mean[a]) * (bit(d, b) - mean[b])
		}
		s /= n
		return s / math.Sqrt(mean[a]*(1-mean[a])*mean[b]*(1-mean[b])+1e-12)
	}
	var chosen []int
	used := map[int]bool{}
	for len(chosen) < 22 {
		best, bs := -1, math.Inf(1)
		for i := range 256 {
			if used[i] {
				continue
			}
			score := math.Abs(mean[i]-0.5) * 2
			for _, c := range chosen {
				score = math.Max(score, math.Abs(corr(i, c)))
			}
			if score < bs {
				best, bs = i, score
			}
		}
		used[best] = true
		chosen = append(chosen, best)
		t.Logf("bit %d mean %.2f score %.3f", best, mean[best], bs)
	}
	fmt.Printf("%d descriptors; key tests: %#v\n", len(ds), chosen)
}
