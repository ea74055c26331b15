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
			cs.Features = append(cs.Features, Feature{Desc: Descriptor{r.Uint64(), r.Uint64()},
				X: uint16(r.IntN(65536)), Y: uint16(r.IntN(65536)), Scale: uint8(r.IntN(64)), Angle: uint8(r.IntN(256))})
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
