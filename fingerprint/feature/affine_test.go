package feature

import (
	"math"
	"math/rand/v2"
	"testing"
)

// stretchedCorrs returns n correspondences of capture points (w x h,
// inside the given fractions of it) mapped by a, with the scale and
// angle a's local similarity gives each query keypoint, followed by
// outliers unrelated ones placed at random in the query.
func stretchedCorrs(r *rand.Rand, a Homography, mir bool, w, h, x0, x1, y0, y1 float64, n, outliers int) []Corr {
	var cs []Corr
	for i := range n + outliers {
		x := w * (x0 + (x1-x0)*r.Float64())
		y := h * (y0 + (y1-y0)*r.Float64())
		ea := 2 * math.Pi * r.Float64()
		c := Corr{E: Point{X: float32(x), Y: float32(y), Scale: 1, Angle: float32(ea)}, EI: int32(i), QI: int32(i), Mirrored: mir}
		if i < n {
			qx, qy, _ := a.Apply(x, y)
			l, _ := a.local(x, y, mir)
			qa := l.Theta + ea
			if mir {
				qa = l.Theta + math.Pi - ea
			}
			c.Q = Point{X: float32(qx), Y: float32(qy), Scale: float32(l.Scale), Angle: float32(qa)}
		} else {
			c.Q = Point{X: float32(600 * r.Float64()), Y: float32(400 * r.Float64()), Scale: 1, Angle: float32(2 * math.Pi * r.Float64())}
		}
		cs = append(cs, c)
	}
	return cs
}

// An affine map fitted to exact correspondences is the one they came
// from; its stretch is the ratio of its axis scales.
func TestFitAffineRecoversTheMap(t *testing.T) {
	cases := []struct {
		name    string
		a       Homography
		stretch float64
	}{
		{"similarity", homographyFrom(Similarity{Scale: 0.7, Theta: 0.4, TX: 30, TY: -12}), 1},
		{"squeezed", Homography{0.75, 0, 5, 0, 1, 7, 0, 0, 1}, 1 / 0.75},
		{"stretched and turned", Homography{1.4 * math.Cos(0.3), -0.8 * math.Sin(0.3), 40, 1.4 * math.Sin(0.3), 0.8 * math.Cos(0.3), -9, 0, 0, 1}, 1.75},
		{"mirrored", Homography{-0.9, 0, 500, 0, 0.6, 3, 0, 0, 1}, 1.5},
	}
	r := rand.New(rand.NewPCG(5, 6))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cs := stretchedCorrs(r, c.a, false, 512, 384, 0, 1, 0, 1, 20, 0)
			idx := make([]int, len(cs))
			for i := range idx {
				idx[i] = i
			}
			for _, k := range []int{3, len(idx)} {
				f, ok := fitAffine(cs, idx[:k])
				if !ok {
					t.Fatalf("%d points: no fit", k)
				}
				for _, p := range [][2]float64{{0, 0}, {512, 0}, {0, 384}, {512, 384}} {
					wx, wy, _ := c.a.Apply(p[0], p[1])
					gx, gy, _ := f.Apply(p[0], p[1])
					if math.Hypot(wx-gx, wy-gy) > 0.05 {
						t.Errorf("%d points: %v -> (%.2f, %.2f), want (%.2f, %.2f)", k, p, gx, gy, wx, wy)
					}
				}
				if s := stretchOf(&f); math.Abs(s-c.stretch) > 1e-3 {
					t.Errorf("stretch %.4f, want %.4f", s, c.stretch)
				}
			}
		})
	}
	// Three collinear points determine no affine map.
	line := []Corr{{E: Point{X: 0, Y: 0}}, {E: Point{X: 10, Y: 10}}, {E: Point{X: 20, Y: 20}}}
	if _, ok := fitAffine(line, []int{0, 1, 2}); ok {
		t.Error("collinear points gave an affine map")
	}
}

// A copy squeezed to another aspect ratio is explained by an affine map
// found from the correspondences a similarity explains loosely, among
// outliers, and only when its inliers span the capture; a stretch beyond
// maxStretch is not accepted.
func TestRefineAffineFindsTheStretch(t *testing.T) {
	const w, h = 512.0, 384.0
	cases := []struct {
		name           string
		a              Homography
		mir            bool
		x0, x1, y0, y1 float64
		want           bool
	}{
		{"squeezed to 0.75", Homography{0.75 * 0.9, 0, 20, 0, 0.9, 10, 0, 0, 1}, false, 0, 1, 0, 1, true},
		{"stretched, turned, cropped", Homography{1.2 * math.Cos(0.2), -0.85 * math.Sin(0.2), 60, 1.2 * math.Sin(0.2), 0.85 * math.Cos(0.2), 5, 0, 0, 1}, false, 0.15, 0.9, 0.1, 0.8, true},
		{"mirrored and squeezed", Homography{-0.7, 0, 450, 0, 0.95, 8, 0, 0, 1}, true, 0, 1, 0, 1, true},
		{"two fifths of each axis", Homography{0.75, 0, 20, 0, 1, 10, 0, 0, 1}, false, 0.2, 0.58, 0.3, 0.68, true},
		{"one small part", Homography{0.75, 0, 20, 0, 1, 10, 0, 0, 1}, false, 0.3, 0.6, 0.55, 0.8, false},
		{"squeezed to 0.4", Homography{0.4, 0, 20, 0, 1, 10, 0, 0, 1}, false, 0, 1, 0, 1, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(7, 8))
			cs := stretchedCorrs(r, c.a, c.mir, w, h, c.x0, c.x1, c.y0, c.y1, 30, 30)
			o := VerifyOptions{CaptureW: w, CaptureH: h, QueryW: 600, QueryH: 400, Tests: 2e7}
			// The similarity closest to the map around the middle of the
			// correspondences, as the Hough vote would find it.
			mx, my := w*(c.x0+c.x1)/2, h*(c.y0+c.y1)/2
			m, _ := c.a.local(mx, my, c.mir)
			geo := geometry(cs, c.mir)
			diag := math.Hypot(w, h)
			loose := inliers(cs, geo, m, looseTol*m.Scale*diag, nil)
			a, in, ok := refineAffine(cs, geo, loose, m, o)
			if ok != c.want {
				t.Fatalf("affine kept = %v (%d inliers of %d loose), want %v", ok, len(in), len(loose), c.want)
			}
			if !ok {
				return
			}
			if len(in) < 27 {
				t.Errorf("%d inliers, want nearly all 30", len(in))
			}
			for _, i := range in {
				if i >= 30 {
					t.Errorf("outlier %d counted as an inlier", i)
				}
			}
			for _, p := range [][2]float64{{0, 0}, {w, h}} {
				wx, wy, _ := c.a.Apply(p[0], p[1])
				gx, gy, _ := a.Apply(p[0], p[1])
				if math.Hypot(wx-gx, wy-gy) > 1 {
					t.Errorf("%v -> (%.1f, %.1f), want (%.1f, %.1f)", p, gx, gy, wx, wy)
				}
			}
		})
	}
}

// BenchmarkRefineAffine is the affine search for one plausible model
// among 256 correspondences, half of them outliers: the most a verdict
// can cost it (MaxCorr).
func BenchmarkRefineAffine(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 8))
	a := Homography{0.75 * 0.9, 0, 20, 0, 0.9, 10, 0, 0, 1}
	cs := stretchedCorrs(r, a, false, 512, 384, 0, 1, 0, 1, 128, 128)
	o := VerifyOptions{CaptureW: 512, CaptureH: 384, QueryW: 600, QueryH: 400, Tests: 2e7}
	m, _ := a.local(256, 192, false)
	geo := geometry(cs, false)
	loose := inliers(cs, geo, m, looseTol*m.Scale*math.Hypot(o.CaptureW, o.CaptureH), nil)
	for b.Loop() {
		if _, _, ok := refineAffine(cs, geo, loose, m, o); !ok {
			b.Fatal("no affine map")
		}
	}
}
