package feature

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// The index stores features in key order; every capture's features come
// back in enrollment order, every keyed feature sits in its key's run, and
// a feature two captures share at one place is left out of the runs.
func TestIndexKeepsEveryFeature(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	shared := Feature{Desc: Descriptor{r.Uint64(), r.Uint64()}, X: 30000, Y: 20000, Scale: 16, Angle: 9}
	var caps []CaptureSet
	for c := range 300 {
		cs := CaptureSet{W: uint16(400 + c), H: 300}
		if c%7 == 3 {
			caps = append(caps, cs) // no features
			continue
		}
		for range 1 + r.IntN(64) {
			cs.Features = append(cs.Features, randomFeature(r, 64))
		}
		if c < 2 {
			cs.Features = append(cs.Features, shared)
		}
		caps = append(caps, cs)
	}
	ix := NewIndex(caps)
	if ix.Captures() != len(caps) {
		t.Fatalf("%d captures, want %d", ix.Captures(), len(caps))
	}
	total := 0
	for c, want := range caps {
		total += len(want.Features)
		got := ix.Set(c)
		if got.W != want.W || got.H != want.H || !slices.Equal(got.Features, want.Features) || ix.SetLen(c) != len(want.Features) {
			t.Fatalf("capture %d: %+v, want %+v", c, got, want)
		}
		for _, p := range ix.features(uint32(c)) {
			if ix.owner[p] != uint32(c) {
				t.Fatalf("capture %d's feature at %d belongs to %d", c, p, ix.owner[p])
			}
		}
	}
	if ix.Features() != total {
		t.Errorf("%d features, want %d", ix.Features(), total)
	}
	if ix.Common() != 2 {
		t.Errorf("%d common features, want the 2 shared ones", ix.Common())
	}
	for k := 0; k+1 < len(ix.listOff); k++ {
		for p := ix.listOff[k]; p < ix.listOff[k+1]; p++ {
			if keyOf(ix.descs[p], ix.keyBits) != uint32(k) {
				t.Fatalf("position %d in key %d's run has key %d", p, k, keyOf(ix.descs[p], ix.keyBits))
			}
			if ix.descs[p] == shared.Desc {
				t.Errorf("a shared feature is in key %d's run", k)
			}
		}
	}
	if !slices.Equal(ix.Sets()[1].Features, caps[1].Features) {
		t.Error("Sets differs from Set")
	}
}

// randomFeature is a feature with a random descriptor anywhere in its
// capture, at a scale code below maxScale.
func randomFeature(r *rand.Rand, maxScale int) Feature {
	return Feature{Desc: Descriptor{r.Uint64(), r.Uint64()},
		X: uint16(r.IntN(65536)), Y: uint16(r.IntN(65536)), Scale: uint8(r.IntN(maxScale)), Angle: uint8(r.IntN(256))}
}

// flipBits returns d with n distinct random bits flipped.
func flipBits(r *rand.Rand, d Descriptor, n int) Descriptor {
	for _, b := range r.Perm(descBits)[:n] {
		d[b/64] ^= 1 << (b % 64)
	}
	return d
}

// rematch keeps, for every feature and orientation, the perFeature
// closest query keypoints within the distance, the earlier first at equal
// distance: the definition, checked on queries with near copies of the
// features (ties and more candidates than are kept included), mirrored
// ones, keypoints without a mirrored descriptor, and features left out as
// common.
func TestRematchKeepsTheClosest(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	shared := Feature{Desc: Descriptor{r.Uint64(), r.Uint64()}, X: 100, Y: 200, Scale: 8, Angle: 3}
	var caps []CaptureSet
	for c := range 20 {
		cs := CaptureSet{W: 512, H: 384}
		for range 40 {
			cs.Features = append(cs.Features, randomFeature(r, 40))
		}
		if c < 3 {
			cs.Features = append(cs.Features, shared)
		}
		caps = append(caps, cs)
	}
	ix := NewIndex(caps)
	var q []Keypoint
	for i := range 600 {
		k := Keypoint{X: float32(i), Y: float32(i % 37), Scale: 1 + float32(i%5), Angle: float32(i%11) / 2}
		switch f := caps[r.IntN(4)].Features[r.IntN(40)].Desc; r.IntN(6) {
		case 0: // a near copy
			k.Desc, k.Mirror = flipBits(r, f, r.IntN(20)), Descriptor{r.Uint64(), r.Uint64()}
		case 1: // a near mirrored copy
			k.Desc, k.Mirror = Descriptor{r.Uint64(), r.Uint64()}, flipBits(r, f, r.IntN(20))
		case 2: // an exact copy, no mirrored descriptor
			k.Desc = f
		case 3: // a copy at one fixed distance: ties
			k.Desc, k.Mirror = flipBits(r, f, 5), flipBits(r, f, 5)
		default:
			k.Desc, k.Mirror = Descriptor{r.Uint64(), r.Uint64()}, Descriptor{r.Uint64(), r.Uint64()}
		}
		q = append(q, k)
	}
	first := firstWords(q)
	seen := 0
	for c := range uint32(len(caps)) {
		for _, maxDist := range []int{0, 8, 16, 30} {
			got := ix.rematch(q, first, c, maxDist, nil)
			var want []Corr
			for _, fp := range ix.features(c) {
				if ix.isCommon(fp) {
					continue
				}
				for mir := range 2 {
					type cand struct{ qi, dist int }
					var cs []cand
					for qi, k := range q {
						d := k.Desc
						if mir == 1 {
							d = k.Mirror
						}
						if dist := d.Distance(ix.descs[fp]); dist <= maxDist {
							cs = append(cs, cand{qi, dist})
						}
					}
					slices.SortStableFunc(cs, func(a, b cand) int { return a.dist - b.dist })
					for _, x := range cs[:min(len(cs), perFeature)] {
						k := q[x.qi]
						want = append(want, Corr{E: ix.point(fp), Q: Point{X: k.X, Y: k.Y, Scale: k.Scale, Angle: k.Angle},
							Mirrored: mir == 1, Dist: x.dist, EI: int32(fp), QI: int32(x.qi)})
					}
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("capture %d, distance %d: %d correspondences %v, want %d %v", c, maxDist, len(got), got, len(want), want)
			}
			seen += len(got)
		}
	}
	if seen < 1000 {
		t.Fatalf("only %d correspondences compared: the test queries too few near copies", seen)
	}
}

// BenchmarkRematch is the exhaustive comparison of 16 captures of 64
// features with 2,000 query keypoints, as the reading of 16 captures does
// for one query.
func BenchmarkRematch(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	var caps []CaptureSet
	for range 16 {
		cs := CaptureSet{W: 512, H: 384}
		for range 64 {
			cs.Features = append(cs.Features, randomFeature(r, 40))
		}
		caps = append(caps, cs)
	}
	ix := NewIndex(caps)
	q := make([]Keypoint, 2000)
	for i := range q {
		q[i].Desc, q[i].Mirror = Descriptor{r.Uint64(), r.Uint64()}, Descriptor{r.Uint64(), r.Uint64()}
		if i%50 == 0 {
			q[i].Desc = flipBits(r, caps[i%16].Features[i%64].Desc, 6)
		}
	}
	for b.Loop() {
		first := firstWords(q)
		for c := range uint32(len(caps)) {
			ix.rematch(q, first, c, 16, nil)
		}
	}
}
