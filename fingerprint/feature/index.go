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
const FeatureBytes = descBits/8 + 2 + 2 + 1 + 1

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
// are filed under a key of their descriptor's first keyBits bits (the key
// tests, keptTests), and a query probes its own key and the keys that differ in its least
// certain bits.
type Index struct {
	caps    []CaptureSet
	capOff  []uint32 // capture -> its first feature (capOf inverts it)
	feats   []Feature
	keyBits int
	listOff []uint32
	list    []uint32
	// common marks features shared with another capture (NewIndex).
	common  []bool
	nCommon int
}

const (
	maxKeyBits = 22
	minKeyBits = 10
)

// keyOf is the key of nbits bits: the pattern's first tests (keptTests)
// were chosen for it.
func keyOf(d Descriptor, nbits int) uint32 {
	return uint32(d[0]) & (1<<nbits - 1)
}

// NewIndex builds the index over caps. The key length grows with the
// number of features, so that a list holds a few dozen entries whatever
// the bank's size. Features that another capture has too, at the same
// place and scale (the fixed background of one camera, a logo burnt into
// every frame), are left out: they say nothing about which capture a copy
// shows (Common).
func NewIndex(caps []CaptureSet) *Index {
	ix := &Index{caps: make([]CaptureSet, len(caps))}
	total := 0
	for _, c := range caps {
		total += len(c.Features)
	}
	ix.feats = make([]Feature, 0, total)
	ix.capOff = make([]uint32, len(caps))
	for ci, c := range caps {
		off := len(ix.feats)
		ix.capOff[ci] = uint32(off)
		ix.feats = append(ix.feats, c.Features...)
		ix.caps[ci] = CaptureSet{W: c.W, H: c.H, Features: ix.feats[off:len(ix.feats):len(ix.feats)]}
	}
	n := len(ix.feats)
	ix.keyBits = min(max(bits.Len(uint(n/32)), minKeyBits), maxKeyBits)
	keys := make([]uint32, n)
	for i, f := range ix.feats {
		keys[i] = keyOf(f.Desc, ix.keyBits)
	}
	ix.fill(keys, nil)
	ix.common = ix.findCommon()
	if ix.nCommon > 0 {
		ix.fill(keys, ix.common)
	}
	return ix
}

// fill files every feature not skipped under its key.
func (ix *Index) fill(keys []uint32, skip []bool) {
	nk := 1 << ix.keyBits
	ix.listOff = make([]uint32, nk+1)
	for i, k := range keys {
		if skip == nil || !skip[i] {
			ix.listOff[k+1]++
		}
	}
	for k := 1; k <= nk; k++ {
		ix.listOff[k] += ix.listOff[k-1]
	}
	ix.list = make([]uint32, ix.listOff[nk])
	next := slices.Clone(ix.listOff[:nk])
	for i, k := range keys {
		if skip == nil || !skip[i] {
			ix.list[next[k]] = uint32(i)
			next[k]++
		}
	}
}

// Limits of "the same feature in another capture".
const (
	commonDist  = 28
	commonPlace = 0.04 * 65535 // of the width and height
	commonScale = 16           // one octave
	// commonScan bounds the pairs compared in one list, so that a bank of
	// look-alike captures costs linear time to index.
	commonScan = 512
)

func (ix *Index) findCommon() []bool {
	common := make([]bool, len(ix.feats))
	var caps []uint32
	for k := 0; k+1 < len(ix.listOff); k++ {
		l := ix.list[ix.listOff[k]:ix.listOff[k+1]]
		if len(l) > commonScan {
			l = l[:commonScan]
		}
		caps = caps[:0]
		for _, i := range l {
			caps = append(caps, ix.capOf(i))
		}
		for a, i := range l {
			fi := &ix.feats[i]
			for b, j := range l[a+1:] {
				if caps[a] == caps[a+1+b] {
					continue
				}
				fj := &ix.feats[j]
				if absDiff(fi.X, fj.X) <= commonPlace && absDiff(fi.Y, fj.Y) <= commonPlace &&
					absDiff(uint16(fi.Scale), uint16(fj.Scale)) <= commonScale && fi.Desc.Distance(fj.Desc) <= commonDist {
					if !common[i] {
						ix.nCommon++
					}
					if !common[j] {
						ix.nCommon++
					}
					common[i], common[j] = true, true
				}
			}
		}
	}
	return common
}

// capOf is the capture feature fi belongs to: the last capture whose
// features start at or before it (a capture without features starts where
// the next one does). A search rather than a table of 4 bytes a feature.
func (ix *Index) capOf(fi uint32) uint32 {
	i, _ := slices.BinarySearch(ix.capOff, fi+1)
	return uint32(i - 1)
}

func absDiff(a, b uint16) float64 {
	if a > b {
		return float64(a - b)
	}
	return float64(b - a)
}

// Common is the number of features left out as shared with another
// capture.
func (ix *Index) Common() int { return ix.nCommon }

// Sets returns the indexed captures' features, sharing the index's memory.
func (ix *Index) Sets() []CaptureSet { return ix.caps }

// Captures is the number of captures indexed.
func (ix *Index) Captures() int { return len(ix.caps) }

// Features is the number of features indexed.
func (ix *Index) Features() int { return len(ix.feats) }
