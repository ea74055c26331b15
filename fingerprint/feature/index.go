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

// geom is a feature's place, scale and angle as enrolled.
type geom struct {
	X, Y         uint16
	Scale, Angle uint8
}

func (f Feature) geom() geom { return geom{f.X, f.Y, f.Scale, f.Angle} }

// pointOf is a feature's geometry in its capture's own grid (longest side
// enrolledSide), for a cw x ch capture.
func pointOf(cw, ch uint16, g geom) Point {
	w, h := sizeOf(cw, ch)
	return Point{
		X:     float32(float64(g.X) / 65535 * w),
		Y:     float32(float64(g.Y) / 65535 * h),
		Scale: float32(math.Exp2(float64(g.Scale) / 16)),
		Angle: float32(float64(g.Angle) * 2 * math.Pi / 256),
	}
}

func sizeOf(cw, ch uint16) (float64, float64) {
	m := float64(max(cw, ch, 1))
	return float64(cw) / m * enrolledSide, float64(ch) / m * enrolledSide
}

// Index finds, for a query's keypoints, the enrolled features with close
// descriptors, without comparing the query with every capture: features
// are filed under a key of their descriptor's first keyBits bits (the key
// tests, keptTests), and a query probes its own key and the keys that
// differ in its least certain bits.
//
// The features are stored in key order, so that the list under a key is
// one run of descriptors read front to back: scattered over a large bank,
// the same comparisons were bound by memory latency (about 5 times slower
// at 10^5 captures). Features left out as common (NewIndex) follow the
// keyed ones. A feature is named by its position in this order.
type Index struct {
	capW, capH []uint16
	// capOff[c] is where capture c's features start in capFeat, which
	// holds their positions in enrollment order.
	capOff  []uint32
	capFeat []uint32
	descs   []Descriptor
	geo     []geom
	owner   []uint32 // position -> capture
	keyBits int
	// listOff[k] is where key k's run starts; listOff[1<<keyBits] is the
	// number of keyed features, the first common position.
	listOff []uint32
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
	n := 0
	for _, c := range caps {
		n += len(c.Features)
	}
	ix := &Index{capW: make([]uint16, len(caps)), capH: make([]uint16, len(caps)), capOff: make([]uint32, len(caps)+1)}
	// Enrollment order first: capFeat becomes the permutation into it.
	all := make([]Feature, 0, n)
	owner := make([]uint32, 0, n)
	for ci, c := range caps {
		ix.capW[ci], ix.capH[ci] = c.W, c.H
		ix.capOff[ci] = uint32(len(all))
		all = append(all, c.Features...)
		for range c.Features {
			owner = append(owner, uint32(ci))
		}
	}
	ix.capOff[len(caps)] = uint32(n)
	ix.keyBits = min(max(bits.Len(uint(n/32)), minKeyBits), maxKeyBits)
	keys := make([]uint32, n)
	for i, f := range all {
		keys[i] = keyOf(f.Desc, ix.keyBits)
	}
	order, _ := byKey(keys, nil, ix.keyBits)
	common := findCommon(all, owner, order, keys)
	order, ix.listOff = byKey(keys, common, ix.keyBits)
	ix.descs = make([]Descriptor, n)
	ix.geo = make([]geom, n)
	ix.owner = make([]uint32, n)
	ix.capFeat = make([]uint32, n)
	for p, i := range order {
		ix.descs[p], ix.geo[p], ix.owner[p] = all[i].Desc, all[i].geom(), owner[i]
		ix.capFeat[i] = uint32(p)
	}
	ix.nCommon = n - int(ix.listOff[len(ix.listOff)-1])
	return ix
}

// byKey orders the features (enrollment indices) by key, keeping
// enrollment order within a key, with those marked common after all the
// keyed ones; off[k] is where key k's run starts.
func byKey(keys []uint32, common []bool, keyBits int) (order []int, off []uint32) {
	nk := 1 << keyBits
	off = make([]uint32, nk+1)
	for i, k := range keys {
		if common == nil || !common[i] {
			off[k+1]++
		}
	}
	for k := 1; k <= nk; k++ {
		off[k] += off[k-1]
	}
	order = make([]int, len(keys))
	next := slices.Clone(off[:nk])
	tail := int(off[nk])
	for i, k := range keys {
		if common != nil && common[i] {
			order[tail] = i
			tail++
			continue
		}
		order[next[k]] = i
		next[k]++
	}
	return order, off
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

// findCommon marks the features (enrollment indices) that a feature of
// another capture under the same key matches in place, scale and
// descriptor. order lists every feature by key (byKey without common).
func findCommon(all []Feature, owner []uint32, order []int, keys []uint32) []bool {
	common := make([]bool, len(all))
	for s := 0; s < len(order); {
		e := s + 1
		for e < len(order) && keys[order[e]] == keys[order[s]] {
			e++
		}
		l := order[s:min(e, s+commonScan)]
		s = e
		for a, i := range l {
			fi := &all[i]
			for _, j := range l[a+1:] {
				if owner[i] == owner[j] {
					continue
				}
				fj := &all[j]
				if absDiff(fi.X, fj.X) <= commonPlace && absDiff(fi.Y, fj.Y) <= commonPlace &&
					absDiff(uint16(fi.Scale), uint16(fj.Scale)) <= commonScale && fi.Desc.Distance(fj.Desc) <= commonDist {
					common[i], common[j] = true, true
				}
			}
		}
	}
	return common
}

// features is capture c's features, as positions in enrollment order.
func (ix *Index) features(c uint32) []uint32 { return ix.capFeat[ix.capOff[c]:ix.capOff[c+1]] }

// isCommon says whether the feature at position p was left out as common.
func (ix *Index) isCommon(p uint32) bool { return p >= ix.listOff[len(ix.listOff)-1] }

// point is the geometry of the feature at position p in its capture's grid.
func (ix *Index) point(p uint32) Point {
	c := ix.owner[p]
	return pointOf(ix.capW[c], ix.capH[c], ix.geo[p])
}

// size is capture c's size in its enrolled grid.
func (ix *Index) size(c uint32) (float64, float64) { return sizeOf(ix.capW[c], ix.capH[c]) }

func absDiff(a, b uint16) float64 {
	if a > b {
		return float64(a - b)
	}
	return float64(b - a)
}

// Common is the number of features left out as shared with another
// capture.
func (ix *Index) Common() int { return ix.nCommon }

// Sets returns a copy of every indexed capture's features, in enrollment
// order (to save a bank; the index keeps them in its own order).
func (ix *Index) Sets() []CaptureSet {
	out := make([]CaptureSet, len(ix.capW))
	for c := range out {
		out[c] = ix.Set(c)
	}
	return out
}

// Set returns a copy of capture c's features, in enrollment order.
func (ix *Index) Set(c int) CaptureSet {
	ps := ix.features(uint32(c))
	cs := CaptureSet{W: ix.capW[c], H: ix.capH[c]}
	if len(ps) > 0 {
		cs.Features = make([]Feature, len(ps))
		for i, p := range ps {
			g := ix.geo[p]
			cs.Features[i] = Feature{Desc: ix.descs[p], X: g.X, Y: g.Y, Scale: g.Scale, Angle: g.Angle}
		}
	}
	return cs
}

// SetLen is the number of capture c's features.
func (ix *Index) SetLen(c int) int { return int(ix.capOff[c+1] - ix.capOff[c]) }

// Captures is the number of captures indexed.
func (ix *Index) Captures() int { return len(ix.capW) }

// Features is the number of features indexed.
func (ix *Index) Features() int { return len(ix.descs) }
