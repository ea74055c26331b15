package feature

import (
	"math"
	"math/bits"
	"slices"
)

// Feature is one enrolled feature: its descriptor and its geometry in the
// capture, positions as fractions of the capture's width and height in
// units of 1/65535, so that the record does not depend on pixel sizes.
type Feature struct {
	Desc  Descriptor
	X, Y  uint16
	Scale uint8 // log2(scale) * 16, scale relative to the capture's longest side / 512
	Angle uint8 // angle * 256 / 2pi
}

// FeatureBytes is the size of a Feature in the bank file.
const FeatureBytes = 32 + 2 + 2 + 1 + 1

// CaptureSet is what the index keeps of one capture: its size (the aspect
// ratio matters for the geometry) and its features.
type CaptureSet struct {
	W, H     uint16
	Features []Feature
}

// enrolledSide is the longest side of the grid enrolled features are
// measured on: Scale is relative to it.
const enrolledSide = 512

// Encode turns keypoints found in a w x h capture into features.
func Encode(kps []Keypoint, w, h int) CaptureSet {
	cs := CaptureSet{W: uint16(min(w, 65535)), H: uint16(min(h, 65535))}
	side := float64(max(w, h)) / enrolledSide
	for _, k := range kps {
		f := Feature{Desc: k.Desc}
		f.X = uint16(math.Round(min(max(float64(k.X)/float64(w), 0), 1) * 65535))
		f.Y = uint16(math.Round(min(max(float64(k.Y)/float64(h), 0), 1) * 65535))
		f.Scale = uint8(min(max(math.Round(math.Log2(float64(k.Scale)/side)*16), 0), 255))
		a := math.Mod(float64(k.Angle), 2*math.Pi)
		if a < 0 {
			a += 2 * math.Pi
		}
		f.Angle = uint8(int(math.Round(a*256/(2*math.Pi))) & 255)
		cs.Features = append(cs.Features, f)
	}
	return cs
}

// point is a feature's geometry in the capture's own grid (longest side
// enrolledSide).
func (c *CaptureSet) point(f Feature) Point {
	w, h := c.size()
	return Point{
		X:     float32(float64(f.X) / 65535 * w),
		Y:     float32(float64(f.Y) / 65535 * h),
		Scale: float32(math.Exp2(float64(f.Scale) / 16)),
		Angle: float32(float64(f.Angle) * 2 * math.Pi / 256),
	}
}

func (c *CaptureSet) size() (float64, float64) {
	m := float64(max(c.W, c.H, 1))
	return float64(c.W) / m * enrolledSide, float64(c.H) / m * enrolledSide
}

// Index finds, for a query's keypoints, the enrolled features with close
// descriptors, without comparing the query with every capture: features
// are filed under a key of keyBits of their descriptor's most stable bits,
// and a query probes its own key and the keys that differ in its least
// certain bits.
type Index struct {
	caps    []CaptureSet
	featCap []uint32 // feature -> capture
	feats   []Feature
	keyBits int
	listOff []uint32
	list    []uint32
}

// keyTests are the pattern tests whose bits form the key, in order of
// use. They were chosen greedily from descriptors of real photographs
// (fixtures/photos) for balance (each near half ones) and low correlation
// with those already chosen, as ORB chose its tests; the steering makes
// many tests lean one way, which would crowd a few lists. Part of the
// bank format's meaning, like the pattern.
func keyTests() [maxKeyBits]int {
	return [maxKeyBits]int{126, 16, 254, 31, 14, 134, 238, 83, 131, 48, 245, 228, 52, 111, 15, 20, 136, 125, 63, 54, 241, 58}
}

const (
	maxKeyBits = 22
	minKeyBits = 10
)

func keyOf(d Descriptor, tests *[maxKeyBits]int, nbits int) uint32 {
	var k uint32
	for i := 0; i < nbits; i++ {
		t := tests[i]
		k |= uint32(d[t>>6]>>(t&63)&1) << i
	}
	return k
}

// NewIndex builds the index over caps. The key length grows with the
// number of features, so that a list holds a few dozen entries whatever
// the bank's size.
func NewIndex(caps []CaptureSet) *Index {
	ix := &Index{caps: caps}
	for ci, c := range caps {
		for _, f := range c.Features {
			ix.feats = append(ix.feats, f)
			ix.featCap = append(ix.featCap, uint32(ci))
		}
	}
	n := len(ix.feats)
	ix.keyBits = min(max(bits.Len(uint(n/32)), minKeyBits), maxKeyBits)
	tests := keyTests()
	nk := 1 << ix.keyBits
	ix.listOff = make([]uint32, nk+1)
	keys := make([]uint32, n)
	for i, f := range ix.feats {
		keys[i] = keyOf(f.Desc, &tests, ix.keyBits)
		ix.listOff[keys[i]+1]++
	}
	for k := 1; k <= nk; k++ {
		ix.listOff[k] += ix.listOff[k-1]
	}
	ix.list = make([]uint32, n)
	fill := slices.Clone(ix.listOff[:nk])
	for i, k := range keys {
		ix.list[fill[k]] = uint32(i)
		fill[k]++
	}
	return ix
}

// Captures is the number of captures indexed.
func (ix *Index) Captures() int { return len(ix.caps) }

// Features is the number of features indexed.
func (ix *Index) Features() int { return len(ix.feats) }
