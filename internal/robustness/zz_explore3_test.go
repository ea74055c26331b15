package robustness

import (
	"fmt"
	"image"
	"testing"

	"github.com/leakwatch/leakwatch/fingerprint"
	"github.com/leakwatch/leakwatch/fixtures/transform"
)

// areaLuma returns the luma plane area-resized so that no side exceeds 512.
func areaLuma(img image.Image) ([]float32, int, int) {
	l, w, h := fingerprint.Luma(img)
	tw, th := min(w, 512), min(h, 512)
	if tw == w && th == h {
		return l, w, h
	}
	out := make([]float32, tw*th)
	// exact area average with fractional coverage
	sx := float64(w) / float64(tw)
	sy := float64(h) / float64(th)
	tmp := make([]float32, tw*h)
	for y := 0; y < h; y++ {
		row := l[y*w : (y+1)*w]
		for tx := 0; tx < tw; tx++ {
			x0, x1 := float64(tx)*sx, float64(tx+1)*sx
			var s float64
			for x := int(x0); x < w && float64(x) < x1; x++ {
				a := min(x1, float64(x+1)) - max(x0, float64(x))
				s += a * float64(row[x])
			}
			tmp[y*tw+tx] = float32(s / sx)
		}
	}
	for ty := 0; ty < th; ty++ {
		y0, y1 := float64(ty)*sy, float64(ty+1)*sy
		for tx := 0; tx < tw; tx++ {
			var s float64
			for y := int(y0); y < h && float64(y) < y1; y++ {
				a := min(y1, float64(y+1)) - max(y0, float64(y))
				s += a * float64(tmp[y*tw+tx])
			}
			out[ty*tw+tx] = float32(s / sy)
		}
	}
	return out, tw, th
}

func pdqArea(img image.Image) fingerprint.PDQDihedral {
	l, w, h := areaLuma(img)
	return fingerprint.PDQAllFromLuma(l, w, h)
}

func TestZZFlip(t *testing.T) {
	const N = 8
	suite := transform.Suite(7)
	for k := 0; k < 6; k++ {
		for _, tr := range suite {
			if tr.Name[0] != 'f' && tr.Name[0] != 'r' && tr.Name != "watermark" && tr.Name != "blur1.5" {
				continue
			}
			var a, b []int
			for s := 0; s < N; s++ {
				img := gen(k, uint64(2000+s))
				ref := fingerprint.PDQ(img).Hash
				q := fingerprint.PDQAll(tr.Fn(img))
				_, d := q.Nearest(ref)
				a = append(a, d)
				ref2 := pdqArea(img).Hashes[0]
				_, d2 := pdqArea(tr.Fn(img)).Nearest(ref2)
				b = append(b, d2)
			}
			fmt.Printf("kind %d %-12s ref %v area %v\n", k, tr.Name, a, b)
		}
	}
}
