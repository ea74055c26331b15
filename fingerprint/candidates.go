package fingerprint

import (
	"image"
	"math"

	"github.com/leakwatch/leakwatch/fingerprint/hamming"
	"github.com/leakwatch/leakwatch/fingerprint/pdq"
)

// CandidateKind says which part of a query image a candidate hash covers,
// and so which enrolled hashes it is compared with.
type CandidateKind uint8

// Candidate kinds.
const (
	// CandidateSubImage is a rectangle found in the query by edge
	// detection: a photo inside a collage, a page or a screenshot, or the
	// picture above (below) a caption banner. It is compared with whole
	// captures (region 0).
	CandidateSubImage CandidateKind = 1 + iota
	// CandidateWindow is a central part of the query. Together with the
	// query itself the windows line up with one of the enrolled central
	// regions whenever the query is an evenly cropped copy; they are
	// compared with those regions.
	CandidateWindow
	// CandidateStraightened is the query turned back by a small angle,
	// inside the largest rectangle that a "straighten" edit (turn, then
	// zoom just enough to hide the corners) leaves of an enrolled central
	// region. It is compared with that one region.
	CandidateStraightened
)

var candidateKindNames = [...]string{CandidateSubImage: "subimage", CandidateWindow: "window", CandidateStraightened: "straightened"}

// String names the kind as Match.Via reports it.
func (k CandidateKind) String() string {
	if int(k) < len(candidateKindNames) && candidateKindNames[k] != "" {
		return candidateKindNames[k]
	}
	return "unknown"
}

// Candidate is the PDQ hash of one part of a query image.
type Candidate struct {
	Kind    CandidateKind
	Hash    hamming.Hash256
	Quality int
	// Region is the enrolled region a straightened candidate is compared
	// with; 0 for other kinds.
	Region Region
	// Rect is the candidate's bounding box in the query's pixels (for a
	// straightened candidate, the box of the turned rectangle).
	Rect image.Rectangle
	// Angle is a straightened candidate's turn: the angle, in degrees
	// clockwise as displayed, of the enrolled region's x axis in the
	// query (0 for other kinds; not kept in a cache).
	Angle float64
}

// MaxCandidates bounds Fingerprint.Candidates.
const MaxCandidates = maxRects + bannerMaxRects + windowCount + 2*straightenSteps

// straightenSteps is the number of angles tried each way; straightenStep
// the angle between them. A 1-degree turn costs about 20 bits of PDQ, so a
// 1-degree grid leaves at most about 10 bits from the nearest angle.
const (
	straightenSteps = 6
	straightenStep  = 1.0 // degrees
)

// queryCandidates derives every candidate of the query plane p.
func queryCandidates(p *plane, imgW, imgH int) []Candidate {
	if p.w < pdq.MinDim || p.h < pdq.MinDim {
		return nil
	}
	out := make([]Candidate, 0, MaxCandidates)
	add := func(kind CandidateKind, q quad, r Region) {
		h := p.hashQuad(q)
		out = append(out, Candidate{Kind: kind, Hash: h.Hash, Quality: h.Quality, Region: r, Rect: p.bounds(q, imgW, imgH),
			Angle: q.angle * 180 / math.Pi})
	}
	rects := subImageRects(p)
	for _, r := range rects {
		add(CandidateSubImage, rectQuad(r.x0, r.y0, r.x1, r.y1), 0)
	}
next:
	for _, r := range bannerRects(p) {
		for _, o := range rects {
			if r.near(o, 1) {
				continue next // the rectangle detector already has it
			}
		}
		add(CandidateSubImage, rectQuad(r.x0, r.y0, r.x1, r.y1), 0)
	}
	for _, q := range queryWindows(p) {
		add(CandidateWindow, q, 0)
	}
	for i := 1; i <= straightenSteps; i++ {
		for _, sign := range [2]float64{1, -1} {
			if q, r, ok := straightened(p, sign*float64(i)*straightenStep); ok {
				add(CandidateStraightened, q, r)
			}
		}
	}
	return out
}

// subImageRects detects rectangles on the plane and refines their sides to
// sub-pixel positions.
func subImageRects(p *plane) []rectF {
	var out []rectF
next:
	for _, r := range detectRects(p.pix, p.w, p.h) {
		r = p.refineRect(r, 2)
		for _, o := range out {
			if r.near(o, 0.5) {
				continue next // refined onto a rectangle already kept
			}
		}
		out = append(out, r)
	}
	return out
}

// straightened returns the quad of the query p that an enrolled central
// region occupies after a straighten edit by deg degrees (turn about the
// centre, then zoom by z = the least factor that hides the corners), and
// that region. The region is the largest one whose image fits in the
// query: its keep k must satisfy z*k <= 1/z.
func straightened(p *plane, deg float64) (quad, Region, bool) {
	th := deg * math.Pi / 180
	c, s := math.Abs(math.Cos(th)), math.Abs(math.Sin(th))
	w, h := float64(p.w), float64(p.h)
	z := math.Max((w*c+h*s)/w, (w*s+h*c)/h)
	limit := 1 / (z * z)
	for i := len(centralKeeps) - 1; i >= 0; i-- {
		if k := centralKeeps[i]; k <= limit {
			return quad{cx: w / 2, cy: h / 2, w: z * k * w, h: z * k * h, angle: th}, Region(i + 1), true
		}
	}
	return quad{}, 0, false
}

// bounds returns the bounding box of q in the pixels of the imgW x imgH
// image the plane was made from.
func (p *plane) bounds(q quad, imgW, imgH int) image.Rectangle {
	c, s := math.Abs(math.Cos(q.angle)), math.Abs(math.Sin(q.angle))
	hw, hh := (q.w*c+q.h*s)/2, (q.w*s+q.h*c)/2
	sx, sy := float64(imgW)/float64(p.w), float64(imgH)/float64(p.h)
	r := image.Rect(int(math.Floor((q.cx-hw)*sx)), int(math.Floor((q.cy-hh)*sy)), int(math.Ceil((q.cx+hw)*sx)), int(math.Ceil((q.cy+hh)*sy)))
	return r.Intersect(image.Rect(0, 0, imgW, imgH))
}
