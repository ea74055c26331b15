package fingerprint

import "github.com/leakwatch/leakwatch/fingerprint/feature"

// Everything Compute and EnrollImage read comes from the working plane,
// the luma area-resampled to at most workingMaxSide on its longer side:
// the PDQ hashes (whole image, regions, candidates, patches), the pHash
// (128 pixels) and the local features, which are sampled from the plane
// at feature.QueryOptions().MaxSide or EnrollOptions().MaxSide (grayOf),
// so they can use no more than the plane holds. A decode that keeps
// QuerySide pixels on the longer side therefore gives the same plane as a
// full-size decode, up to rounding; the reference PDQ (AddReference),
// which shrinks to 512x512 by nearest neighbour, sees the same image
// content. If the feature route ever samples the decoded image directly,
// featureSide must follow.

// QuerySide is the longer side a query image must keep when decoded
// (MinSide, ForQuery).
func QuerySide() int { return max(workingMaxSide, featureSide(feature.QueryOptions())) }

// WholeShortSide is the shorter side ComputeWhole needs (ForWhole): twice
// PDQ's 64-cell grid, and the pHash's 128-pixel thumbnail.
const WholeShortSide = max(2*gridSide, phashThumb)

// EnrollSide is QuerySide for enrollment (ForEnroll).
func EnrollSide() int { return max(workingMaxSide, featureSide(feature.EnrollOptions())) }

// featureSide is the longer side the feature route reads: its MaxSide,
// taken from the working plane.
func featureSide(o feature.ExtractOptions) int { return min(o.MaxSide, workingMaxSide) }
