package robustness

import (
	"fmt"
	"image"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/leakwatch/leakwatch/fixtures/imagegen"
	"github.com/leakwatch/leakwatch/fixtures/transform"
)

var ctxMode = false

func minDist(q, e []patchHash) (int, int) {
	best := 256
	n := 0
	for _, a := range q {
		lb := 256
		for _, b := range e {
			for _, v := range []int{0, 2} {
				d := a.h.Hashes[v].Distance(b.h.Hashes[0])
				if ctxMode {
					if d > 31 || !a.hasCtx || !b.hasCtx {
						continue
					}
					d = a.ctx.Hashes[v].Distance(b.ctx.Hashes[0])
				}
				lb = min(lb, d)
			}
		}
		if lb <= 31 {
			n++
		}
		best = min(best, lb)
	}
	return best, n
}

func TestZZKPCtx(t *testing.T) {
	ctxMode = true
	TestZZKP(t)
}

func TestZZKP(t *testing.T) {
	imgs := captures()
	t0 := time.Now()
	var enr [][]patchHash
	tot := 0
	for _, img := range imgs {
		ph := pairHashes(img)
		enr = append(enr, ph)
		tot += len(ph)
	}
	fmt.Println("enroll", time.Since(t0), "avg patches", float64(tot)/float64(len(imgs)))
	rng := rand.New(rand.NewPCG(1, 2))
	queries := []transform.Named{
		{"jpeg30", transform.JPEG(30)},
		{"resize50", transform.Resize(0.5)},
		{"blur1.5", transform.GaussianBlur(1.5)},
		{"noise8", transform.Noise(8, 1)},
		{"crop10", transform.Crop(0.1)},
		{"crop25", transform.CropSides(0.15, 0.05, 0.10, 0.20)},
		{"centrecrop50", transform.CentreCrop(0.5)},
		{"rot5", transform.RotateCrop(5)},
		{"collage40", transform.Collage(nil, 0.4, 3)},
	}
	for i := 0; i < 2; i++ {
		f := func(img image.Image) image.Image {
			return transform.CropSides(rng.Float64()*0.25, rng.Float64()*0.25, rng.Float64()*0.25, rng.Float64()*0.25)(img)
		}
		queries = append(queries, transform.Named{fmt.Sprintf("rand%d", i), f})
	}
	for _, q := range queries {
		var ds, ns []int
		hit := 0
		for i, img := range imgs {
			qh := queryHashes(q.Fn(img))
			d, n := minDist(qh, enr[i])
			ds = append(ds, d)
			ns = append(ns, n)
			if d <= 31 {
				hit++
			}
		}
		fmt.Printf("%-12s recall31=%d/%d dists=%v nmatch=%v\n", q.Name, hit, len(imgs), ds, ns)
	}
	// unrelated
	var un []int
	var qs [][]patchHash
	for _, img := range imgs {
		qs = append(qs, queryHashes(img))
	}
	for i := range enr {
		for j := range enr {
			if i != j {
				d, _ := minDist(qs[i], enr[j])
				un = append(un, d)
			}
		}
	}
	sort.Ints(un)
	fmt.Println("unrelated min dists (lowest 40):", un[:40])
	// hard negatives
	var hn []int
	for s := 0; s < 6; s++ {
		e := pairHashes(imagegen.Face(uint64(3000 + s)))
		for k := 1; k < 4; k++ {
			d, _ := minDist(queryHashes(imagegen.FaceVariant(uint64(3000+s), k)), e)
			hn = append(hn, d)
		}
		im, _ := imagegen.Plate(uint64(3000 + s))
		e = pairHashes(im)
		for k := 1; k < 4; k++ {
			im2, _ := imagegen.PlateVariant(uint64(3000+s), k)
			d, _ := minDist(queryHashes(im2), e)
			hn = append(hn, d)
		}
	}
	sort.Ints(hn)
	fmt.Println("hard negatives:", hn)
}
