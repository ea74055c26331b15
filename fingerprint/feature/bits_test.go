package feature

import (
	"crypto/sha256"
	"fmt"
	"image"
	"image/color"
	"math"
	"math/bits"
	"testing"

	"github.com/leakwatch/leakwatch/fixtures/imagegen"
	"github.com/leakwatch/leakwatch/fixtures/transform"
)

// describeDrawn is the descriptor over every drawn comparison, in drawing
// order, at keypoint k of query q.
func describeDrawn(q *Query, k Keypoint) [drawnPairs / 64]uint64 {
	sm := q.levels[k.level]
	x := int(float64(k.X)/q.sx[k.level] - 0.5 + 0.5)
	y := int(float64(k.Y)/q.sy[k.level] - 0.5 + 0.5)
	bin := angleBin(float64(k.Angle))
	var d [drawnPairs / 64]uint64
	for i, pair := range drawPairs() {
		p, _ := steer(pair, bin)
		a := int(sm.Pix[(y+int(p[0][1]))*sm.W+x+int(p[0][0])])
		b := int(sm.Pix[(y+int(p[1][1]))*sm.W+x+int(p[1][0])])
		if a < b {
			d[i>>6] |= 1 << (i & 63)
		}
	}
	return d
}

func distDrawn(a, b [drawnPairs / 64]uint64) int {
	n := 0
	for i := range a {
		n += bits.OnesCount64(a[i] ^ b[i])
	}
	return n
}

// The kept half of the drawn comparisons was chosen on the fixture
// photographs. On generated pictures it was not chosen on, turned, shrunk
// and recompressed, it must still separate true correspondences from
// unrelated pairs better than all 256 comparisons did.
func TestKeptBitsBeatAllDrawn(t *testing.T) {
	if testing.Short() {
		t.Skip("describes 24 pictures")
	}
	type view struct {
		deg, zoom float64
		quality   int
	}
	views := []view{{12, 0.7, 75}, {-25, 0.85, 85}, {0, 0.6, 70}}
	var trueKept, trueDrawn []int
	var feats []struct {
		kept  Descriptor
		drawn [drawnPairs / 64]uint64
		img   int
	}
	var pics []image.Image
	for s := uint64(0); s < 6; s++ {
		pics = append(pics, imagegen.Street(700+s), imagegen.Vehicle(700+s), imagegen.Face(700+s), imagegen.Texture(700+s))
	}
	o := QueryOptions()
	o.Mirror = false
	for pi, img := range pics {
		sw, sh := float64(img.Bounds().Dx()), float64(img.Bounds().Dy())
		eq := ExtractQuery(GrayFromImage(img), o)
		for _, k := range eq.Keypoints {
			feats = append(feats, struct {
				kept  Descriptor
				drawn [drawnPairs / 64]uint64
				img   int
			}{k.Desc, describeDrawn(eq, k), pi})
		}
		for _, v := range views {
			c := transform.Chain(transform.RotateKeep(v.deg, color.Black), transform.Resize(v.zoom), transform.JPEG(v.quality))(img)
			qw, qh := float64(c.Bounds().Dx()), float64(c.Bounds().Dy())
			qq := ExtractQuery(GrayFromImage(c), o)
			cs, sn := math.Cos(v.deg*math.Pi/180), math.Sin(v.deg*math.Pi/180)
			for _, k := range eq.Keypoints {
				// Where the rotation about the centre and the shrink put k.
				x, y := float64(k.X)-sw/2, float64(k.Y)-sh/2
				px := (cs*x-sn*y)*v.zoom + qw/2
				py := (sn*x+cs*y)*v.zoom + qh/2
				want := float64(k.Scale) * v.zoom
				best, bd := -1, math.Inf(1)
				for j, m := range qq.Keypoints {
					d := math.Hypot(float64(m.X)-px, float64(m.Y)-py)
					if r := float64(m.Scale) / want; d < bd && d <= want && r > 0.7 && r < 1.42 {
						best, bd = j, d
					}
				}
				if best < 0 {
					continue
				}
				m := qq.Keypoints[best]
				trueKept = append(trueKept, k.Desc.Distance(m.Desc))
				trueDrawn = append(trueDrawn, distDrawn(describeDrawn(eq, k), describeDrawn(qq, m)))
			}
		}
	}
	var nullKept, nullDrawn []int
	for i := 0; i < len(feats); i += 3 {
		for j := i + 1; j < len(feats); j += 41 {
			if feats[i].img != feats[j].img {
				nullKept = append(nullKept, feats[i].kept.Distance(feats[j].kept))
				nullDrawn = append(nullDrawn, distDrawn(feats[i].drawn, feats[j].drawn))
			}
		}
	}
	share := func(ds []int, max int) float64 {
		n := 0
		for _, d := range ds {
			if d <= max {
				n++
			}
		}
		return float64(n) / float64(len(ds))
	}
	if len(trueKept) < 1000 || len(nullKept) < 100000 {
		t.Fatalf("%d true and %d unrelated pairs: too few to compare", len(trueKept), len(nullKept))
	}
	// At the old thresholds' rate of unrelated pairs (28 for a tentative
	// correspondence, 40 for a site that agrees), the kept bits must find
	// more true pairs; at the policy's own thresholds, fewer unrelated ones.
	for _, th := range [][2]int{{DefaultSearchOptions().MaxDistance, 28}, {siteMaxDist, 40}} {
		td, nd := share(trueDrawn, th[1]), share(nullDrawn, th[1])
		same := -1
		for d := 0; d <= descBits && share(nullKept, d) <= nd; d++ {
			same = d
		}
		tk := share(trueKept, same)
		t.Logf("%d true pairs, %d unrelated: all drawn within %d find %.3f and %.5f; kept bits within %d %.3f and %.5f, within %d (the policy) %.3f and %.5f",
			len(trueKept), len(nullKept), th[1], td, nd, same, tk, share(nullKept, same), th[0], share(trueKept, th[0]), share(nullKept, th[0]))
		if tk <= td {
			t.Errorf("at the unrelated rate of all drawn bits within %d (%.5f), kept bits find %.3f of true pairs, all drawn %.3f", th[1], nd, tk, td)
		}
		if nk := share(nullKept, th[0]); nk >= nd {
			t.Errorf("kept bits within %d admit %.5f of unrelated pairs, all drawn within %d %.5f", th[0], nk, th[1], nd)
		}
	}
}

// A descriptor over every drawn comparison (how bank format 3 stored it)
// keeps, through FromDrawn, exactly the descriptor the pattern computes.
func TestFromDrawnKeepsThePattern(t *testing.T) {
	q := ExtractQuery(GrayFromImage(imagegen.Street(3)), QueryOptions())
	if len(q.Keypoints) < 100 {
		t.Fatalf("%d keypoints", len(q.Keypoints))
	}
	for i, k := range q.Keypoints {
		if got := FromDrawn(describeDrawn(q, k)); got != k.Desc {
			t.Fatalf("keypoint %d: %x from the drawn comparisons, %x described", i, got, k.Desc)
		}
	}
}

// The drawn comparisons and the key tests are those bank format 3 was
// written with (its pattern digest), so that FromDrawn reads its
// descriptors right.
func TestDrawnPairsAreFormat3s(t *testing.T) {
	kept := keptTests()
	key := [maxKeyBits]int(kept[:maxKeyBits])
	got := fmt.Sprintf("%x", sha256.Sum256([]byte(fmt.Sprint(drawPairs(), key))))
	const want = "dd4f131ab2a87fecb4cf6db6a2aa4f4f6c374770837e30096281db0569b38e6e"
	if got != want {
		t.Errorf("drawn pairs and key digest %s, want %s (bank format 3's)", got, want)
	}
}
