package feature

import (
	"math"
	"math/rand/v2"
	"testing"
)

// A homography fitted to exact correspondences is the one they came from,
// and its local similarity is the similarity itself when it is one.
func TestFitHomographyRecoversTheWarp(t *testing.T) {
	cases := []struct {
		name string
		h    Homography
	}{
		{"similarity", homographyFrom(Similarity{Scale: 0.7, Theta: 0.4, TX: 30, TY: -12})},
		{"mirrored similarity", homographyFrom(Similarity{Scale: 1.3, Theta: -2.1, TX: 400, TY: 90, Mirrored: true})},
		{"keystone", Homography{0.9, 0.05, 20, 0.01, 1.0, 10, 2e-4, -1e-4, 1}},
		{"stretched", Homography{1.4, 0, 5, 0, 0.8, 7, 0, 0, 1}},
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var cs []Corr
			var idx []int
			for i := range 30 {
				x, y := 512*r.Float64(), 384*r.Float64()
				qx, qy, ok := c.h.Apply(x, y)
				if !ok {
					t.Fatal("point behind the horizon")
				}
				cs = append(cs, Corr{E: Point{X: float32(x), Y: float32(y)}, Q: Point{X: float32(qx), Y: float32(qy)}, EI: int32(i), QI: int32(i)})
				idx = append(idx, i)
			}
			f, ok := fitHomography(cs, idx)
			if !ok {
				t.Fatal("no fit")
			}
			for _, p := range [][2]float64{{0, 0}, {512, 0}, {0, 384}, {512, 384}, {256, 192}} {
				wx, wy, _ := c.h.Apply(p[0], p[1])
				gx, gy, _ := f.Apply(p[0], p[1])
				if math.Hypot(wx-gx, wy-gy) > 0.05 {
					t.Errorf("%v -> (%.2f, %.2f), want (%.2f, %.2f)", p, gx, gy, wx, wy)
				}
			}
		})
	}
}

func TestLocalSimilarityOfASimilarity(t *testing.T) {
	for _, m := range []Similarity{
		{Scale: 0.7, Theta: 0.4, TX: 30, TY: -12},
		{Scale: 1.3, Theta: -2.1, TX: 400, TY: 90, Mirrored: true},
	} {
		h := homographyFrom(m)
		l, ok := h.local(100, 50, m.Mirrored)
		if !ok {
			t.Fatalf("%+v: no local similarity", m)
		}
		if math.Abs(l.Scale-m.Scale) > 1e-9 || angleDiff(l.Theta, m.Theta) > 1e-9 || math.Abs(l.TX-m.TX) > 1e-6 || math.Abs(l.TY-m.TY) > 1e-6 {
			t.Errorf("local %+v, want %+v", l, m)
		}
		if !h.mild(512, 384, m.Mirrored) {
			t.Errorf("%+v: a similarity is not mild", m)
		}
	}
	// A projection that folds the capture over its horizon is not mild.
	fold := Homography{1, 0, 0, 0, 1, 0, -0.004, 0, 1}
	if fold.mild(512, 384, false) {
		t.Error("a folding projection counts as mild")
	}
}

// A homography is kept only when its inliers span enough of the capture
// to determine it: fitted to one small part (a plate, a face), it would
// bend the rest of the capture freely where the sites are read.
func TestWarpNeedsInliersAcrossTheCapture(t *testing.T) {
	const w, h = 512.0, 384.0
	keystone := Homography{0.9, 0.05, 20, 0.01, 1.0, 10, 2e-4, -1e-4, 1}
	cases := []struct {
		name           string
		x0, x1, y0, y1 float64 // where the correspondences lie, as fractions of the capture
		want           bool
	}{
		{"whole capture", 0, 1, 0, 1, true},
		{"half of each axis", 0.2, 0.7, 0.3, 0.8, true},
		{"a plate-sized band", 0.3, 0.7, 0.55, 0.78, false},
		{"a narrow column", 0.4, 0.6, 0, 1, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(3, 4))
			var cs []Corr
			var in []int
			for i := range 30 {
				x := w * (c.x0 + (c.x1-c.x0)*r.Float64())
				y := h * (c.y0 + (c.y1-c.y0)*r.Float64())
				qx, qy, _ := keystone.Apply(x, y)
				l, ok := keystone.local(x, y, false)
				if !ok {
					t.Fatal("no local similarity")
				}
				cs = append(cs, Corr{E: Point{X: float32(x), Y: float32(y), Scale: 1}, Q: Point{X: float32(qx), Y: float32(qy), Scale: float32(l.Scale), Angle: float32(l.Theta)}, EI: int32(i), QI: int32(i)})
				if i < 10 {
					in = append(in, i)
				}
			}
			m, ok := fitSimilarity(cs, in, false)
			if !ok {
				t.Fatal("no similarity")
			}
			_, got, ok := refineWarp(cs, geometry(cs, false), in, m, VerifyOptions{CaptureW: w, CaptureH: h})
			if ok != c.want {
				t.Errorf("warp kept = %v (%d inliers), want %v", ok, len(got), c.want)
			}
		})
	}
}
