package robustness

import (
	"fmt"
	"image"
	"sort"
	"testing"
	"time"

	"github.com/leakwatch/leakwatch/fingerprint"
	"github.com/leakwatch/leakwatch/fixtures/imagegen"
	"github.com/leakwatch/leakwatch/fixtures/transform"
)

func gen(kind int, seed uint64) image.Image {
	switch kind {
	case 0:
		return imagegen.Face(seed)
	case 1:
		im, _ := imagegen.Plate(seed)
		return im
	case 2:
		return imagegen.Vehicle(seed)
	case 3:
		return imagegen.Street(seed)
	case 4:
		return imagegen.Texture(seed)
	case 5:
		return imagegen.Document(seed)
	}
	return imagegen.LowDetail(seed)
}

func hist(name string, ds []int) {
	sort.Ints(ds)
	n := len(ds)
	mean := 0.0
	for _, d := range ds {
		mean += float64(d)
	}
	mean /= float64(n)
	v := 0.0
	for _, d := range ds {
		v += (float64(d) - mean) * (float64(d) - mean)
	}
	v /= float64(n)
	fmt.Printf("%-30s n=%d min=%d p01=%d p50=%d mean=%.1f sd=%.1f\n", name, n, ds[0], ds[n/100], ds[n/2], mean, sqrt(v))
}

func sqrt(x float64) float64 {
	z := x
	for i := 0; i < 50; i++ {
		if z == 0 {
			return 0
		}
		z = (z + x/z) / 2
	}
	return z
}

func TestZZDist(t *testing.T) {
	t0 := time.Now()
	const N = 30
	var fps [7][]fingerprint.PDQDihedral
	for k := 0; k < 7; k++ {
		for s := 0; s < N; s++ {
			fps[k] = append(fps[k], fingerprint.PDQAll(gen(k, uint64(1000+s))))
		}
	}
	fmt.Println("gen", time.Since(t0))
	for k := 0; k < 7; k++ {
		q := []int{}
		for _, f := range fps[k] {
			q = append(q, f.Quality)
		}
		sort.Ints(q)
		fmt.Println("quality kind", k, q)
	}
	var all []int
	for k := 0; k < 7; k++ {
		var same []int
		for i := 0; i < N; i++ {
			for j := i + 1; j < N; j++ {
				for v := 0; v < 8; v++ {
					same = append(same, fps[k][i].Hashes[0].Distance(fps[k][j].Hashes[v]))
				}
			}
		}
		hist(fmt.Sprintf("within kind %d", k), same)
		all = append(all, same...)
	}
	hist("all within", all)
	// hard negatives
	var hn []int
	for s := 0; s < N; s++ {
		a := fingerprint.PDQ(imagegen.Face(uint64(1000 + s))).Hash
		for k := 1; k < 4; k++ {
			b := fingerprint.PDQAll(imagegen.FaceVariant(uint64(1000+s), k))
			_, d := b.Nearest(a)
			hn = append(hn, d)
		}
	}
	hist("face variants", hn)
	hn = nil
	for s := 0; s < N; s++ {
		im, _ := imagegen.Plate(uint64(1000 + s))
		a := fingerprint.PDQ(im).Hash
		for k := 1; k < 4; k++ {
			im2, _ := imagegen.PlateVariant(uint64(1000+s), k)
			b := fingerprint.PDQAll(im2)
			_, d := b.Nearest(a)
			hn = append(hn, d)
		}
	}
	hist("plate variants", hn)
	_ = transform.FlipH
}
