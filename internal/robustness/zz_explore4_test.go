package robustness

import (
	"fmt"
	"image"
	"sort"
	"testing"

	"github.com/leakwatch/leakwatch/fingerprint"
	"github.com/leakwatch/leakwatch/fixtures/transform"
)

// areaTo resizes a luma plane to exactly tw x th by exact area averaging.
func areaTo(l []float32, w, h, tw, th int) []float32 {
	out := make([]float32, tw*th)
	sx := float64(w) / float64(tw)
	sy := float64(h) / float64(th)
	tmp := make([]float64, tw*h)
	for y := 0; y < h; y++ {
		row := l[y*w : (y+1)*w]
		for tx := 0; tx < tw; tx++ {
			x0, x1 := float64(tx)*sx, float64(tx+1)*sx
			var s float64
			for x := int(x0); x < w && float64(x) < x1; x++ {
				a := min(x1, float64(x+1)) - max(x0, float64(x))
				s += a * float64(row[x])
			}
			tmp[y*tw+tx] = s / sx
		}
	}
	for ty := 0; ty < th; ty++ {
		y0, y1 := float64(ty)*sy, float64(ty+1)*sy
		for tx := 0; tx < tw; tx++ {
			var s float64
			for y := int(y0); y < h && float64(y) < y1; y++ {
				a := min(y1, float64(y+1)) - max(y0, float64(y))
				s += a * tmp[y*tw+tx]
			}
			out[ty*tw+tx] = float32(s / sy)
		}
	}
	return out
}

func pdq64(img image.Image) fingerprint.PDQDihedral {
	l, w, h := fingerprint.Luma(img)
	a := areaTo(l, w, h, 64, 64)
	return fingerprint.PDQAllFromLuma(a, 64, 64)
}

type hfun func(image.Image) fingerprint.PDQDihedral

func TestZZV1(t *testing.T) {
	const N = 8
	suite := transform.Suite(7)
	variants := []struct {
		name string
		f    hfun
	}{{"ref", fingerprint.PDQAll}, {"a64", pdq64}}
	for _, v := range variants {
		res := map[string][]int{}
		for k := 0; k < 6; k++ {
			for s := 0; s < N; s++ {
				img := gen(k, uint64(2000+s))
				ref := v.f(img).Hashes[0]
				for _, tr := range suite {
					_, d := v.f(tr.Fn(img)).Nearest(ref)
					res[tr.Name] = append(res[tr.Name], d)
				}
			}
		}
		for _, tr := range suite[:19] {
			ds := res[tr.Name]
			sort.Ints(ds)
			fmt.Printf("%s %-14s %v\n", v.name, tr.Name, ds[len(ds)-12:])
		}
		// unrelated
		var fps []fingerprint.PDQDihedral
		for k := 0; k < 6; k++ {
			for s := 0; s < 20; s++ {
				fps = append(fps, v.f(gen(k, uint64(5000+s))))
			}
		}
		var un []int
		for i := range fps {
			for j := i + 1; j < len(fps); j++ {
				_, d := fps[j].Nearest(fps[i].Hashes[0])
				un = append(un, d)
			}
		}
		hist(v.name+" unrelated", un)
	}
}
