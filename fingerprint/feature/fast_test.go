package feature

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/leakwatch/leakwatch/fixtures/photos"
	"github.com/leakwatch/leakwatch/fixtures/transform"
)

// naiveCorners is FAST-9 as defined, one pixel at a time: a pixel is a
// corner when 9 contiguous pixels of its circle are all brighter than it
// by more than t or all darker, scored by the summed excess of the
// circle pixels past the threshold on that side, and kept when no
// neighbour in its 3x3 window scores higher (ties: the first in scan
// order).
func naiveCorners(g *Gray, t, border int) []corner {
	w, h := g.W, g.H
	score := make([]int, w*h)
	for y := border; y < h-border; y++ {
		for x := border; x < w-border; x++ {
			p := int(g.Pix[y*w+x])
			var v [16]int
			for k, c := range circle {
				v[k] = int(g.Pix[(y+c[1])*w+x+c[0]])
			}
			for _, side := range []int{1, -1} {
				run, best := 0, 0
				for k := range 32 {
					if side*(v[k%16]-p) > t {
						run++
						best = max(best, run)
					} else {
						run = 0
					}
				}
				if best >= 9 {
					s := 1
					for _, u := range v {
						if side*(u-p) > t {
							s += side*(u-p) - t
						}
					}
					score[y*w+x] = s
				}
			}
		}
	}
	var out []corner
	for y := border; y < h-border; y++ {
		for x := border; x < w-border; x++ {
			s := score[y*w+x]
			if s == 0 {
				continue
			}
			keep := true
			for dy := -1; dy <= 1 && keep; dy++ {
				for dx := -1; dx <= 1; dx++ {
					if dx == 0 && dy == 0 {
						continue
					}
					o := score[(y+dy)*w+x+dx]
					before := dy < 0 || (dy == 0 && dx < 0)
					if o > s || (o == s && before) {
						keep = false
						break
					}
				}
			}
			if keep {
				out = append(out, corner{x: x, y: y, score: float32(s)})
			}
		}
	}
	return out
}

// The fast scan (eight pixels at a time, early rejections) finds exactly
// the corners and scores of FAST-9 computed pixel by pixel.
func TestFastCornersMatchDefinition(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 9))
	for trial := range 6 {
		w, h := 60+r.IntN(90), 50+r.IntN(70)
		g := NewGray(w, h)
		// Smoothed noise with a few hard-edged blocks, so that both
		// textured corners and clean ones occur.
		for i := range g.Pix {
			g.Pix[i] = uint8(r.IntN(256))
		}
		g = boxBlur(g, 1+trial%2)
		for range 8 {
			x0, y0 := r.IntN(w), r.IntN(h)
			c := uint8(r.IntN(256))
			for y := y0; y < min(h, y0+5+r.IntN(20)); y++ {
				for x := x0; x < min(w, x0+5+r.IntN(20)); x++ {
					g.Pix[y*w+x] = c
				}
			}
		}
		for _, th := range []int{5, 12, 30} {
			got := fastCorners(g, th, border, 1<<30)
			want := naiveCorners(g, th, border)
			cmpCorner := func(a, b corner) int {
				if a.y != b.y {
					return a.y - b.y
				}
				return a.x - b.x
			}
			slices.SortFunc(got, cmpCorner)
			if !slices.Equal(got, want) {
				t.Fatalf("trial %d, threshold %d: %d corners, want %d", trial, th, len(got), len(want))
			}
			if len(want) == 0 {
				t.Fatalf("trial %d, threshold %d: no corners to compare", trial, th)
			}
		}
	}
}

// BenchmarkFastCorners scans the finest level of a query (a photograph
// at 1024 pixels) for corners at the query threshold.
func BenchmarkFastCorners(b *testing.B) {
	g := GrayFromImage(transform.ResizeTo(1024, 576)(photos.All()[0].Image))
	for b.Loop() {
		fastCorners(g, QueryOptions().Threshold, border, 20000)
	}
}
