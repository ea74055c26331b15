package robustness

import (
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/leakwatch/leakwatch/fingerprint"
	"github.com/leakwatch/leakwatch/fixtures/imagegen"
	"github.com/leakwatch/leakwatch/fixtures/transform"
)

// verification region: central fraction keep of the capture, hashed in
// capture (working) coordinates.
var keepV = []float64{0.8, 0.65, 0.5}

type enrolled struct {
	ps []patchHash
	vs []fingerprint.PDQDihedral
	wk plane
}

func enrollG(img image.Image) enrolled {
	ps := pairHashes(img)
	var e enrolled
	e.ps = ps
	wk := working(img)
	e.wk = wk
	_, octs := detect(wk)
	buf := make([]float32, 64*64)
	for _, k := range keepV {
		// axis aligned rectangle: sample 64x64 over it
		w, h := float64(wk.w)*k, float64(wk.h)*k
		e.vs = append(e.vs, sampleRect(octs, float64(wk.w)/2, float64(wk.h)/2, 1, 0, w, h, buf))
	}
	return e
}

func sampleRect(octs []plane, cx, cy, ux, uy, w, h float64, buf []float32) fingerprint.PDQDihedral {
	sx, sy := w/64, h/64
	step := math.Min(sx, sy)
	o := 0
	for o+1 < len(octs) && math.Pow(2, float64(o+1)) <= step {
		o++
	}
	src := octs[o]
	f := math.Pow(2, float64(o))
	for yy := 0; yy < 64; yy++ {
		for xx := 0; xx < 64; xx++ {
			u := (float64(xx) + 0.5 - 32) * sx
			v := (float64(yy) + 0.5 - 32) * sy
			px := cx + u*ux - v*uy
			py := cy + u*uy + v*ux
			buf[yy*64+xx] = src.bilinear(px/f, py/f)
		}
	}
	return fingerprint.PDQAllFromLuma(buf, 64, 64)
}

// geoVerify: for each patch match, derive the similarity transform
// query->capture and hash the largest central region inside the query.
func geoVerify(q []patchHash, e enrolled) (int, int) {
	best, n := 256, 0
	buf := make([]float32, 64*64)
	for _, a := range q {
		for _, b := range e.ps {
			for _, v := range []int{0, 2} {
				if a.h.Hashes[v].Distance(b.h.Hashes[0]) > 31 {
					continue
				}
				// capture frame b <-> query frame a (v=2: rotated 180)
				aux, auy := a.f.ux, a.f.uy
				if v == 2 {
					aux, auy = -aux, -auy
				}
				s := a.f.side / b.f.side // query px per capture px
				// rotation from capture to query: angle(a) - angle(b)
				ca := aux*b.f.ux + auy*b.f.uy
				sa := auy*b.f.ux - aux*b.f.uy
				mapPt := func(x, y float64) (float64, float64) {
					dx, dy := x-b.f.cx, y-b.f.cy
					return a.f.cx + s*(ca*dx-sa*dy), a.f.cy + s*(sa*dx+ca*dy)
				}
				for i, k := range keepV {
					w, h := float64(e.wk.w)*k, float64(e.wk.h)*k
					cx, cy := mapPt(float64(e.wk.w)/2, float64(e.wk.h)/2)
					ux, uy := ca, sa
					ok := true
					for _, c := range [][2]float64{{-1, -1}, {1, -1}, {-1, 1}, {1, 1}} {
						px := cx + (c[0]*w/2*ux-c[1]*h/2*uy)*s
						py := cy + (c[0]*w/2*uy+c[1]*h/2*ux)*s
						if px < 0 || py < 0 || px > float64(a.wk.w) || py > float64(a.wk.h) {
							ok = false
						}
					}
					if !ok {
						continue
					}
					qh := sampleRect(a.octs, cx, cy, ux, uy, w*s, h*s, buf)
					d := qh.Hashes[0].Distance(e.vs[i].Hashes[0])
					if d <= 31 {
						n++
					}
					best = min(best, d)
					break
				}
			}
		}
	}
	return best, n
}

func TestZZKPG(t *testing.T) {
	imgs := captures()
	var enr []enrolled
	for _, img := range imgs {
		enr = append(enr, enrollG(img))
	}
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
			d, _ := geoVerify(queryHashes(q.Fn(img)), enr[i])
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
				d, _ := geoVerify(qh, enr[j])
				un = append(un, d)
			}
		}
	}
	sort.Ints(un)
	fmt.Println("unrelated:", un[:20])
	var hn []int
	for s := 0; s < 10; s++ {
		e := enrollG(imagegen.Face(uint64(3000 + s)))
		for k := 1; k < 5; k++ {
			d, _ := geoVerify(queryHashes(imagegen.FaceVariant(uint64(3000+s), k)), e)
			hn = append(hn, d)
		}
		im, _ := imagegen.Plate(uint64(3000 + s))
		e = enrollG(im)
		for k := 1; k < 5; k++ {
			im2, _ := imagegen.PlateVariant(uint64(3000+s), k)
			d, _ := geoVerify(queryHashes(im2), e)
			hn = append(hn, d)
		}
	}
	sort.Ints(hn)
	fmt.Println("hard negatives:", hn)
}
