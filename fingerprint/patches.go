package fingerprint

import (
	"image"
	"math"
	"sync"

	"github.com/leakwatch/leakwatch/fingerprint/hamming"
	"github.com/leakwatch/leakwatch/fingerprint/pdq"
)

// Patches: the keypoint scheme for uneven crops (keypoints.go).
//
// Enrollment stores, besides the whole capture and its central regions, up
// to enrollPatches PDQ hashes of square patches framed by pairs of the
// capture's strongest keypoints, each with its frame (PatchFrame: where
// the patch sits in the capture). A query computes the patches of the
// pairs of its own strongest keypoints (up to queryPatches). A query patch within PatchRadius of
// an enrolled patch is only a lead: patches are small and alike across
// photographs of the same person or plate. It becomes a match only when the
// query, hashed where the pair's geometry puts one of the capture's
// enrolled central regions, is within PatchMatchRadius of that region's hash
// (searching a small neighbourhood of the predicted place, since keypoints
// are located to about half a pixel). That check compares as much of the
// picture as the region-and-window scheme does, so it is as selective.
const (
	// RegionPatch marks an enrolled patch hash (with a PatchFrame).
	RegionPatch Region = 254

	enrollKeypoints = 40   // strongest keypoints of a capture considered
	enrollPairs     = 2    // nearest partners per keypoint
	enrollPatches   = 24   // patches enrolled per capture, at most
	enrollMinPair   = 0.10 // pair distance, fraction of the long side
	enrollMaxPair   = 0.30

	queryKeypoints = 35  // strongest keypoints of a query, paired with each other
	queryPatches   = 200 // at most, strongest keypoints' pairs first
	// A copy that keeps 75% of the capture's sides sees a pair 1/0.75
	// times larger relative to its own side, so the query's band is wider.
	queryMinPair = 0.08
	queryMaxPair = 0.45

	// DefaultPatchRadius is the largest distance between a query patch
	// and an enrolled patch that leads to a verification.
	DefaultPatchRadius = 32
	// DefaultPatchMatchRadius decides a patch lead. True leads verified
	// at 0-8 bits on the tuning seed (20 after a crop, shrink and
	// recompression); unrelated plates from one template reached 20-28,
	// because the best of up to 147 placements per lead is kept.
	DefaultPatchMatchRadius = 16

	// Verification: shifts of verifyStep of the region's side, verifySteps
	// each way, at three scales; the first placement must be within
	// verifyLead bits before the neighbourhood is searched.
	verifyStep  = 0.005
	verifySteps = 3
	verifyScale = 0.015
	verifyLead  = 90
	// Bounds on the work one query can cause: verifications per capture
	// and in total (a hostile image could be made of many lookalike
	// patches).
	verifyPerCapture = 4
	verifyPerQuery   = 32
	// maxLeadsPerPatch bounds the patch hits one query patch collects
	// (at most 200 x 1024 leads, about 10 MB, per query). A large bank of
	// look-alike captures raises tens of thousands of chance leads in all
	// (BENCHMARKS.md); they are ranked so that none crowds out a true one.
	maxLeadsPerPatch = 1024
)

// PatchPlacements is the number of placements one verification hashes at
// most: its neighbourhood of shifts at three scales.
const PatchPlacements = 3 * (2*verifySteps + 1) * (2*verifySteps + 1)

// PatchFrame places an enrolled patch in its capture, in units of the
// capture's longer side: the patch centre (X, Y), the distance D between
// the keypoints that frame it, and the capture's width and height (W, H;
// one of them is 1). Stored as 16-bit fixed point in the bank file.
type PatchFrame struct {
	X, Y, D, W, H float32
}

// IsCentralRegion reports whether r names one of the enrolled central
// regions (not the whole capture, a patch or an imported hash).
func IsCentralRegion(r Region) bool {
	_, ok := regionKeep(r)
	return ok
}

// WithoutPatches returns e without its keypoint patches (a smaller bank
// entry, without the uneven-crop route).
func (e Enrollment) WithoutPatches() Enrollment {
	out := e
	out.PDQ = make([]RegionHash, 0, len(e.PDQ))
	for _, r := range e.PDQ {
		if r.Region != RegionPatch {
			out.PDQ = append(out.PDQ, r)
		}
	}
	return out
}

// enrollPatchHashes computes the capture's patch hashes.
func (p *plane) enrollPatchHashes() []RegionHash {
	kps := p.keypoints(enrollKeypoints)
	frames := p.patchFrames(kps, enrollPairs, enrollMinPair, enrollMaxPair, enrollPatches)
	long := float64(max(p.w, p.h))
	var out []RegionHash
	for _, f := range frames {
		r := p.hashQuad(f.quad())
		if r.Quality < pdq.MinQuality {
			continue
		}
		out = append(out, RegionHash{Hash: r.Hash, Region: RegionPatch, Quality: r.Quality, Frame: PatchFrame{
			X: float32(f.mx / long), Y: float32(f.my / long), D: float32(f.d / long),
			W: float32(float64(p.w) / long), H: float32(float64(p.h) / long),
		}})
	}
	return out
}

// queryPatch is one patch of a query: its frame in plane pixels and hash.
type queryPatch struct {
	frame   patchFrame
	hash    hamming.Hash256
	quality int
}

// localQuery is what the patch and feature routes need from a query
// beyond its hashes: the working plane, to hash the places that patch
// leads point at, and the query's patches and local features, each
// computed on first use (30-70 ms, more than the rest of the fingerprint,
// and useless against a bank without them). It is not part of a cached
// fingerprint.
type localQuery struct {
	p          *plane
	imgW, imgH int
	once       sync.Once
	patches    []queryPatch
	featOnce   sync.Once
	feat       *queryFeatures
}

// queryLocal prepares patch matching on the query plane p.
func queryLocal(p *plane, imgW, imgH int) *localQuery {
	return &localQuery{p: p, imgW: imgW, imgH: imgH}
}

// computePatches hashes the patches of every pair of the query's
// strongest keypoints, once.
func (lq *localQuery) computePatches() []queryPatch {
	lq.once.Do(func() {
		kps := lq.p.keypoints(queryKeypoints)
		frames := lq.p.patchFrames(kps, 0, queryMinPair, queryMaxPair, queryPatches)
		lq.patches = make([]queryPatch, 0, len(frames))
		for _, f := range frames {
			r := lq.p.hashQuad(f.quad())
			lq.patches = append(lq.patches, queryPatch{frame: f, hash: r.Hash, quality: r.Quality})
		}
	})
	return lq.patches
}

// patchVerdict is the outcome of verifying one patch lead.
type patchVerdict struct {
	distance int
	region   Region
	rect     image.Rectangle
	quality  int
}

// verify hashes the query where the lead (query patch qp matching an
// enrolled patch with frame ef) puts the largest of the capture's central
// regions that fits in the query, searching a small neighbourhood, and
// returns the least distance to that region's enrolled hash.
func (lq *localQuery) verify(qp *queryPatch, ef PatchFrame, regions []RegionHash, minQ int) (patchVerdict, bool) {
	if ef.D <= 0 || ef.W <= 0 || ef.H <= 0 {
		return patchVerdict{}, false
	}
	s := qp.frame.d / float64(ef.D) // query pixels per unit of the capture's long side
	cx := qp.frame.mx + (float64(ef.W)/2-float64(ef.X))*s
	cy := qp.frame.my + (float64(ef.H)/2-float64(ef.Y))*s
	var target RegionHash
	var base quad
	for _, r := range regions {
		keep, ok := regionKeep(r.Region)
		if !ok || r.Quality < minQ || keep*float64(ef.W)*s <= base.w {
			continue
		}
		q := quad{cx: cx, cy: cy, w: keep * float64(ef.W) * s, h: keep * float64(ef.H) * s}
		if q.w >= pdq.MinDim && q.h >= pdq.MinDim && lq.p.inside(q, 1) {
			target, base = r, q
		}
	}
	if base.w == 0 {
		return patchVerdict{}, false
	}
	h0 := lq.p.hashQuad(base)
	best := patchVerdict{distance: h0.Hash.Distance(target.Hash), region: target.Region, quality: h0.Quality, rect: lq.p.bounds(base, lq.imgW, lq.imgH)}
	if best.distance > verifyLead {
		return best, true
	}
	for _, sc := range [3]float64{1 - verifyScale, 1, 1 + verifyScale} {
		for dy := -verifySteps; dy <= verifySteps; dy++ {
			for dx := -verifySteps; dx <= verifySteps; dx++ {
				if sc == 1 && dx == 0 && dy == 0 {
					continue
				}
				q := quad{cx: base.cx + float64(dx)*verifyStep*base.w, cy: base.cy + float64(dy)*verifyStep*base.h, w: base.w * sc, h: base.h * sc}
				if !lq.p.inside(q, 1) {
					continue
				}
				h := lq.p.hashQuad(q)
				if d := h.Hash.Distance(target.Hash); d < best.distance {
					best.distance, best.quality, best.rect = d, h.Quality, lq.p.bounds(q, lq.imgW, lq.imgH)
				}
			}
		}
	}
	return best, true
}

// frame16 is a PatchFrame in the bank's 16-bit fixed point.
type frame16 [5]uint16

func (f PatchFrame) fixed() frame16 {
	q := func(v float32) uint16 { return uint16(math.Round(float64(min(max(v, 0), 1)) * 65535)) }
	return frame16{q(f.X), q(f.Y), q(f.D), q(f.W), q(f.H)}
}

func (f frame16) frame() PatchFrame {
	v := func(x uint16) float32 { return float32(x) / 65535 }
	return PatchFrame{X: v(f[0]), Y: v(f[1]), D: v(f[2]), W: v(f[3]), H: v(f[4])}
}
