package robustness

import (
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/leakwatch/leakwatch/fingerprint"
	"github.com/leakwatch/leakwatch/fixtures/photos"
	"github.com/leakwatch/leakwatch/fixtures/transform"
)

type cut struct{ l, t, r, b float64 }

func subLuma(l []float32, w, h int, c cut) ([]float32, int, int) {
	x0 := int(math.Round(float64(w) * c.l))
	y0 := int(math.Round(float64(h) * c.t))
	x1 := w - int(math.Round(float64(w)*c.r))
	y1 := h - int(math.Round(float64(h)*c.b))
	sw, sh := x1-x0, y1-y0
	out := make([]float32, sw*sh)
	for y := 0; y < sh; y++ {
		copy(out[y*sw:], l[(y+y0)*w+x0:(y+y0)*w+x1])
	}
	return out, sw, sh
}

func blur121(a []float32) []float32 {
	out := make([]float32, 64*64)
	tmp := make([]float32, 64*64)
	for y := 0; y < 64; y++ {
		for x := 0; x < 64; x++ {
			l, r := max(x-1, 0), min(x+1, 63)
			tmp[y*64+x] = (a[y*64+l] + 2*a[y*64+x] + a[y*64+r]) / 4
		}
	}
	for y := 0; y < 64; y++ {
		u, d := max(y-1, 0), min(y+1, 63)
		for x := 0; x < 64; x++ {
			out[y*64+x] = (tmp[u*64+x] + 2*tmp[y*64+x] + tmp[d*64+x]) / 4
		}
	}
	return out
}

var useBlur = false

func h64(l []float32, w, h int) fingerprint.PDQDihedral {
	a := areaTo(l, w, h, 64, 64)
	if useBlur {
		a = blur121(a)
	}
	return fingerprint.PDQAllFromLuma(a, 64, 64)
}

func regionSets() map[string][]cut {
	sets := map[string][]cut{}
	var A []cut
	for _, k := range []float64{0.9, 0.8, 0.7, 0.6, 0.5} {
		f := (1 - k) / 2
		A = append(A, cut{f, f, f, f})
	}
	sets["A-centre5"] = A
	B := append([]cut(nil), A...)
	for _, k := range []float64{0.8, 0.6} {
		f := 1 - k
		B = append(B, cut{0, 0, f, f}, cut{f, 0, 0, f}, cut{0, f, f, 0}, cut{f, f, 0, 0})
	}
	sets["B-centre5+corners"] = B
	var C []cut
	vals := []float64{0, 0.1, 0.2}
	for _, l := range vals {
		for _, t := range vals {
			for _, r := range vals {
				for _, b := range vals {
					C = append(C, cut{l, t, r, b})
				}
			}
		}
	}
	sets["C-grid81"] = C
	return sets
}

func captures() []image.Image {
	var imgs []image.Image
	for k := 0; k < 5; k++ {
		for s := 0; s < 6; s++ {
			imgs = append(imgs, gen(k, uint64(3000+s)))
		}
	}
	for _, p := range photos.All() {
		imgs = append(imgs, p.Image)
	}
	return imgs
}

func TestZZRegions(t *testing.T) {
	for _, ub := range []bool{false, true} {
		useBlur = ub
		imgs := captures()
		rng := rand.New(rand.NewPCG(1, 2))
		queries := []transform.Named{
			{"crop10", transform.Crop(0.1)},
			{"crop25", transform.CropSides(0.15, 0.05, 0.10, 0.20)},
			{"centrecrop50", transform.CentreCrop(0.5)},
			{"rot5", transform.RotateCrop(5)},
		}
		for i := 0; i < 4; i++ {
			f := func(img image.Image) image.Image {
				return transform.CropSides(rng.Float64()*0.25, rng.Float64()*0.25, rng.Float64()*0.25, rng.Float64()*0.25)(img)
			}
			queries = append(queries, transform.Named{fmt.Sprintf("rand%d", i), f})
		}
		sets := regionSets()
		names := []string{"A-centre5", "B-centre5+corners", "C-grid81"}
		for _, q := range queries {
			res := map[string][]int{}
			for _, img := range imgs {
				l, w, h := fingerprint.Luma(img)
				ql, qw, qh := fingerprint.Luma(q.Fn(img))
				qh64 := h64(ql, qw, qh).Hashes[0]
				for _, sn := range names {
					best := 256
					for _, c := range sets[sn] {
						sl, sw, sh := subLuma(l, w, h, c)
						best = min(best, h64(sl, sw, sh).Hashes[0].Distance(qh64))
					}
					res[sn] = append(res[sn], best)
				}
			}
			for _, sn := range names {
				ds := res[sn]
				sort.Ints(ds)
				fmt.Printf("blur=%v %-12s %-20s %v\n", ub, q.Name, sn, ds)
			}
		}
	}
}
