package robustness

import (
	"fmt"
	"image"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/leakwatch/leakwatch/fixtures/imagegen"
	"github.com/leakwatch/leakwatch/fixtures/transform"
)

var vMenu = []float64{4, 3.2, 2.6, 2.2, 1.8}
var centralBox = 0.25 // cut fraction

// enrollV picks, for each patch, the largest menu multiplier whose region
// lies in the central box, and hashes it.
func enrollV(ps []patchHash) []patchHash {
	var out []patchHash
	buf := make([]float32, 64*64)
	for _, p := range ps {
		wk := p.wk
		box := plane{nil, wk.w, wk.h}
		_ = box
		for _, m := range vMenu {
			s := p.f.side * m
			if !insideBox(wk, p.f, s, centralBox) {
				continue
			}
			p.vm = m
			p.v = samplePatch(p.octs, p.f.cx, p.f.cy, p.f.ux, p.f.uy, s, buf)
			if p.v.Quality >= minQual {
				out = append(out, p)
			}
			break
		}
	}
	return out
}

func insideBox(wk plane, f frame, side, cutf float64) bool {
	x0, y0 := cutf*float64(wk.w), cutf*float64(wk.h)
	x1, y1 := float64(wk.w)-x0, float64(wk.h)-y0
	for _, c := range [][2]float64{{-1, -1}, {1, -1}, {-1, 1}, {1, 1}} {
		px := f.cx + (c[0]*f.ux-c[1]*f.uy)*side/2
		py := f.cy + (c[0]*f.uy+c[1]*f.ux)*side/2
		if px < x0 || py < y0 || px > x1 || py > y1 {
			return false
		}
	}
	return true
}

// verify returns the best V distance over patch matches (<=31).
func verify(q, e []patchHash) (int, int) {
	best, n := 256, 0
	buf := make([]float32, 64*64)
	for _, a := range q {
		for _, b := range e {
			for _, v := range []int{0, 2} {
				if a.h.Hashes[v].Distance(b.h.Hashes[0]) > 31 {
					continue
				}
				s := a.f.side * b.vm
				if !insideBox(a.wk, a.f, s, 0) {
					continue
				}
				vh := samplePatch(a.octs, a.f.cx, a.f.cy, a.f.ux, a.f.uy, s, buf)
				d := vh.Hashes[v].Distance(b.v.Hashes[0])
				if d <= 31 {
					n++
				}
				best = min(best, d)
			}
		}
	}
	return best, n
}

func TestZZKPV(t *testing.T) {
	imgs := captures()
	var enr [][]patchHash
	tot := 0
	for _, img := range imgs {
		ph := enrollV(pairHashes(img))
		enr = append(enr, ph)
		tot += len(ph)
	}
	fmt.Println("avg V patches", float64(tot)/float64(len(imgs)))
	rng := rand.New(rand.NewPCG(1, 2))
	queries := []transform.Named{
		{Name: "jpeg30", Fn: transform.JPEG(30)},
		{Name: "crop10", Fn: transform.Crop(0.1)},
		{Name: "crop25", Fn: transform.CropSides(0.15, 0.05, 0.10, 0.20)},
		{Name: "centrecrop50", Fn: transform.CentreCrop(0.5)},
		{Name: "rot5", Fn: transform.RotateCrop(5)},
	}
	for i := 0; i < 3; i++ {
		f := func(img image.Image) image.Image {
			return transform.CropSides(rng.Float64()*0.25, rng.Float64()*0.25, rng.Float64()*0.25, rng.Float64()*0.25)(img)
		}
		queries = append(queries, transform.Named{Name: fmt.Sprintf("rand%d", i), Fn: f})
	}
	for _, q := range queries {
		var ds []int
		hit := 0
		for i, img := range imgs {
			d, _ := verify(queryHashes(q.Fn(img)), enr[i])
			ds = append(ds, d)
			if d <= 31 {
				hit++
			}
		}
		fmt.Printf("%-12s recall31=%d/%d dists=%v\n", q.Name, hit, len(imgs), ds)
	}
	var un []int
	for i, img := range imgs {
		qh := queryHashes(img)
		for j := range enr {
			if i != j {
				d, _ := verify(qh, enr[j])
				un = append(un, d)
			}
		}
	}
	sort.Ints(un)
	fmt.Println("unrelated:", un[:20])
	var hn []int
	for s := 0; s < 10; s++ {
		e := enrollV(pairHashes(imagegen.Face(uint64(3000 + s))))
		for k := 1; k < 5; k++ {
			d, _ := verify(queryHashes(imagegen.FaceVariant(uint64(3000+s), k)), e)
			hn = append(hn, d)
		}
		im, _ := imagegen.Plate(uint64(3000 + s))
		e = enrollV(pairHashes(im))
		for k := 1; k < 5; k++ {
			im2, _ := imagegen.PlateVariant(uint64(3000+s), k)
			d, _ := verify(queryHashes(im2), e)
			hn = append(hn, d)
		}
	}
	sort.Ints(hn)
	fmt.Println("hard negatives:", hn)
}
