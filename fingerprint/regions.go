package fingerprint

import "math"

// Enrolled regions. Besides the whole capture (region 0), EnrollImage
// stores the PDQ hash of the capture's central part at a few sizes, so that
// a copy with its borders cut off evenly (a "10% crop" keeps the central
// 80% of the width and height) still matches: the query, or one of the
// central windows the query derives (see queryWindows), lines up with one of
// these regions.
//
// PDQ tolerates about 1% of misalignment (BENCHMARKS.md: a 1% shift costs
// about 24 bits, a 1% scale change about 10, a 1-degree turn about 20), so
// regions only match crops they line up with. A grid of regions that lined
// up with every uneven crop would need thousands of hashes per capture;
// uneven crops are left to the keypoint patches (patches.go).
//
// The ladder is part of the bank's meaning: a region number names a keep
// fraction, so these values must never change for an existing bank.
var centralKeeps = [...]float64{0.5, 0.585, 0.6845, 0.8009, 0.9371}

// RegionCount is the number of regions EnrollImage may enroll besides the
// whole capture.
const RegionCount = len(centralKeeps)

// regionKeep returns the keep fraction of region r (1-based), or false.
func regionKeep(r Region) (float64, bool) {
	if r == 0 || int(r) > len(centralKeeps) {
		return 0, false
	}
	return centralKeeps[r-1], true
}

// centralQuad is the central keep x keep part of the plane.
func (p *plane) centralQuad(keep float64) quad {
	return quad{cx: float64(p.w) / 2, cy: float64(p.h) / 2, w: keep * float64(p.w), h: keep * float64(p.h)}
}

// windowRatio is the ratio between successive query windows. The ladder's
// ratio is about 1.17 = windowRatio^10, so for a copy that keeps any
// fraction k between 0.5 and 1 of the capture's sides, one of the 11
// windows (the whole query included) lies within 0.8% of an enrolled
// region: 1/(2 log(windowRatio)) ≈ 0.8% of scale, about 8 bits of PDQ.
const (
	windowRatio = 1.016
	windowCount = 10 // besides the whole query
)

// queryWindows returns the central windows of the query: keep fractions
// windowRatio^-1 ... windowRatio^-windowCount of its sides.
func queryWindows(p *plane) []quad {
	out := make([]quad, 0, windowCount)
	for i := 1; i <= windowCount; i++ {
		out = append(out, p.centralQuad(math.Pow(windowRatio, -float64(i))))
	}
	return out
}
