package fingerprint

import (
	"cmp"
	"maps"
	"math"
	"slices"

	"github.com/leakwatch/leakwatch/fingerprint/feature"
	"github.com/leakwatch/leakwatch/fingerprint/pdq"
)

// A hash match says where the capture is in the query (the whole query,
// one of its dihedral variants, or a rectangle of it holding one of the
// capture's central regions) but a hash sees only the coarse layout: two
// captures of one scene (the same car body with another plate, one
// camera's frames) can be as close as a copy. Where the capture's
// features can be read, the match is checked against them.

// dihedralMap gives, for each pdq.Transform v, where the point (u, v) of
// the capture (as a fraction of its sides) lies in the query the
// transform was applied to, as fractions of the query's sides:
// a = c[0] u + c[1] v + c[2], b = c[3] u + c[4] v + c[5]. Query
// hash v is that of the query turned by v, so the capture is the query
// turned by v.
var dihedralMap = [8][6]float64{
	pdq.Original:   {1, 0, 0, 0, 1, 0},
	pdq.Rotate90:   {0, -1, 1, 1, 0, 0},
	pdq.Rotate180:  {-1, 0, 1, 0, -1, 1},
	pdq.Rotate270:  {0, 1, 0, -1, 0, 1},
	pdq.FlipX:      {1, 0, 0, 0, -1, 1},
	pdq.FlipY:      {-1, 0, 1, 0, 1, 0},
	pdq.FlipPlus1:  {0, 1, 0, 1, 0, 0},
	pdq.FlipMinus1: {0, -1, 1, -1, 0, 1},
}

// placement is the affine map from capture ci's enrolled feature pixels
// to the query's feature pixels that hash match mt implies, or false when
// mt implies none (an imported hash).
func placement(mt Match, ix *feature.Index, ci uint32, q *queryFeatures) (feature.Placement, bool) {
	if mt.Algorithm != AlgoPDQ {
		return feature.Placement{}, false
	}
	switch mt.Via {
	case "", CandidateWindow.String(), CandidateSubImage.String(), ViaPatch:
	case CandidateStraightened.String():
		return straightenedPlacement(mt, ix, ci, q)
	default:
		return feature.Placement{}, false
	}
	v := pdq.Original
	for i := range dihedralMap {
		if pdq.Transform(i).String() == mt.Variant {
			v = pdq.Transform(i)
		}
	}
	// The capture's part that matched, in its feature pixels.
	cw, ch := ix.CaptureSize(int(ci))
	cx0, cy0, cx1, cy1 := 0.0, 0.0, cw, ch
	if mt.Region != 0 {
		keep, ok := regionKeep(mt.Region)
		if !ok {
			return feature.Placement{}, false
		}
		cx0, cx1 = cw*(1-keep)/2, cw*(1+keep)/2
		cy0, cy1 = ch*(1-keep)/2, ch*(1+keep)/2
	}
	// The query's part that holds it, in the query's feature pixels.
	qx0, qy0, qx1, qy1 := 0.0, 0.0, float64(q.q.W), float64(q.q.H)
	if mt.Rect != nil {
		qx0, qy0 = float64(mt.Rect[0])/q.toQuery, float64(mt.Rect[1])/q.toQuery
		qx1, qy1 = float64(mt.Rect[2])/q.toQuery, float64(mt.Rect[3])/q.toQuery
	}
	if cx1 <= cx0 || cy1 <= cy0 || qx1 <= qx0 || qy1 <= qy0 {
		return feature.Placement{}, false
	}
	// x -> u = (x-cx0)/cw' -> (a, b) by the transform -> query pixels.
	d := dihedralMap[v]
	su, sv := 1/(cx1-cx0), 1/(cy1-cy0)
	qw, qh := qx1-qx0, qy1-qy0
	return feature.Placement{
		qw * d[0] * su, qw * d[1] * sv, qx0 + qw*(d[2]-d[0]*su*cx0-d[1]*sv*cy0),
		qh * d[3] * su, qh * d[4] * sv, qy0 + qh*(d[5]-d[3]*su*cx0-d[4]*sv*cy0),
	}, true
}

// minHashAgreement is the share of a hash match's sites that must read
// as enrolled where the match places the capture. Copies matched by a
// hash read at 0.62 or more (keystone, whose corners the axis-aligned
// placement misses, lowest), generated plates on one car body at
// 0.03-0.6 (BENCHMARKS.md, "Hash matches read").
const minHashAgreement = 0.5

// readHashMatches reads, for each hash match in best, the capture's
// features where the match places the capture, and drops the matches
// whose reading contradicts them, and those that read clearly worse than
// another capture placed at the same part of the query (a leaked canary
// or capture must not also name its look-alike's recipient). The feature
// route may still find a capture dropped here. A capture is read at
// each placement its hash matches offered (closest first) until one
// does not contradict it: the closest hash of a near-symmetric picture
// may be its mirror image. Captures are read closest first, at most
// budget readings in all (maxHashReads); the matches beyond stand unread.
// It returns the captures dropped, how many were left unread, and where
// the matches kept were read.
func (m *BankMatcher) readHashMatches(lq *localQuery, best map[uint32]Match, offered map[uint32][]Match, budget int) (refused []uint32, unread int, kept []hashRead) {
	ix := m.bank.featureIndex()
	if ix.Features() == 0 {
		return nil, 0, nil
	}
	var q *queryFeatures
	var reads []hashRead
	order := slices.Collect(maps.Keys(best))
	slices.SortFunc(order, func(a, b uint32) int { return cmp.Or(best[a].Distance-best[b].Distance, cmp.Compare(a, b)) })
	for _, ci := range order {
		mt := best[ci]
		if int(ci) >= ix.Captures() {
			continue
		}
		if budget <= 0 {
			unread++
			continue
		}
		if q == nil {
			q = lq.features()
		}
		alts := slices.DeleteFunc(slices.Clone(offered[ci]), func(c Match) bool { return c == mt })
		slices.SortStableFunc(alts, func(a, b Match) int { return a.Distance - b.Distance })
		var p feature.Placement
		var r feature.Reading
		found, contradicted := false, false
		for _, c := range append([]Match{mt}, alts...) {
			cp, ok := placement(c, ix, ci, q)
			if !ok {
				continue
			}
			if budget <= 0 {
				break
			}
			budget--
			cr := ix.Read(q.q, int(ci), cp)
			if cr.Contradicts(minHashAgreement) {
				contradicted = true
				continue
			}
			if contradicted && !cr.Decides() {
				// Too few sites to overturn a reading that refused.
				continue
			}
			mt, p, r, found = c, cp, cr, true
			break
		}
		if !found {
			// Refused when a placement could be read; a match none of
			// whose placements can be (an imported hash) stands unread.
			if contradicted {
				delete(best, ci)
				refused = append(refused, ci)
			}
			continue
		}
		mt.SitesRead, mt.SitesAgree = r.Sites, r.Agree
		best[ci] = mt
		if r.Decides() {
			cw, ch := ix.CaptureSize(int(ci))
			box := outlineOf(p, cw, ch)
			// Only the part of the query the capture covers: a region's
			// placement puts the rest of the capture outside.
			box = [4]float64{max(box[0], 0), max(box[1], 0), min(box[2], float64(q.q.W)), min(box[3], float64(q.q.H))}
			reads = append(reads, hashRead{ci, r.Share(), box})
		}
	}
	for _, a := range reads {
		for _, b := range reads {
			if b.share > a.share+hashTie && overlap(a.box, b.box) >= samePlaceOverlap {
				delete(best, a.ci)
				refused = append(refused, a.ci)
				break
			}
		}
	}
	for _, a := range reads {
		if _, ok := best[a.ci]; ok {
			kept = append(kept, a)
		}
	}
	return refused, unread, kept
}

// hashRead is where a hash match was read in the query (a box in query
// feature pixels) and the share of its sites that agreed.
type hashRead struct {
	ci    uint32
	share float64
	box   [4]float64
}

// explained reports whether a feature match mt (its rect in query
// pixels; toQuery converts feature pixels to them) lies where a hash
// match of another capture was read at least as well: the same part of
// the query shows one picture, and the hash, which compares the whole
// placed picture, chose the other capture. Two plates on one car body
// read alike in a thumbnail, where no enrolled feature tells them apart;
// their whole-image hashes still do. A feature match that was not read
// counts as reading perfectly.
func explained(mt Match, reads []hashRead, toQuery float64) bool {
	if mt.Rect == nil {
		return false
	}
	share := 1.0
	if mt.SitesRead > 0 {
		share = float64(mt.SitesAgree) / float64(mt.SitesRead)
	}
	r := [4]float64{float64(mt.Rect[0]), float64(mt.Rect[1]), float64(mt.Rect[2]), float64(mt.Rect[3])}
	for _, h := range reads {
		b := [4]float64{h.box[0] * toQuery, h.box[1] * toQuery, h.box[2] * toQuery, h.box[3] * toQuery}
		if h.share >= share && overlap(r, b) >= samePlaceOverlap {
			return true
		}
	}
	return false
}

// maxPlacements bounds the hash matches kept per capture for the reading
// to try; maxHashReads the readings of hash matches per query (about 50
// microseconds each): a query that a bank of look-alikes (one camera's
// frames) matches by hash thousands of times must not cost seconds.
const (
	maxPlacements = 16
	maxHashReads  = 256
)

// hashTie is how much lower a capture placed where a better-reading one
// is may read and still be kept: one photograph enrolled twice from two
// files reads a few sites apart (34 of 36 against 36 of 36), a look-alike
// that passes minHashAgreement 0.5-0.6 against its original's 0.9-1.0;
// samePlaceOverlap is the overlap (intersection over union) of two
// placements' parts of the query.
const (
	hashTie          = 0.2
	samePlaceOverlap = 0.5
)

// outlineOf is the bounding box, in query feature pixels, of a w x h
// capture placed by p.
func outlineOf(p feature.Placement, w, h float64) [4]float64 {
	b := [4]float64{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)}
	for _, c := range [4][2]float64{{0, 0}, {w, 0}, {0, h}, {w, h}} {
		x := p[0]*c[0] + p[1]*c[1] + p[2]
		y := p[3]*c[0] + p[4]*c[1] + p[5]
		b[0], b[1], b[2], b[3] = min(b[0], x), min(b[1], y), max(b[2], x), max(b[3], y)
	}
	return b
}

// overlap is the intersection over union of two boxes.
func overlap(a, b [4]float64) float64 {
	iw := min(a[2], b[2]) - max(a[0], b[0])
	ih := min(a[3], b[3]) - max(a[1], b[1])
	if iw <= 0 || ih <= 0 {
		return 0
	}
	inter := iw * ih
	return inter / ((a[2]-a[0])*(a[3]-a[1]) + (b[2]-b[0])*(b[3]-b[1]) - inter)
}

// straightenedPlacement places capture ci for a straightened candidate's
// match: the enrolled region, turned by mt.Rotation about the query's
// centre and zoomed as the candidate was made (straightened), in the
// query's feature pixels.
func straightenedPlacement(mt Match, ix *feature.Index, ci uint32, q *queryFeatures) (feature.Placement, bool) {
	keep, ok := regionKeep(mt.Region)
	if !ok || mt.Rotation == 0 {
		return feature.Placement{}, false
	}
	th := mt.Rotation * math.Pi / 180
	w, h := float64(q.q.W), float64(q.q.H)
	c, s := math.Abs(math.Cos(th)), math.Abs(math.Sin(th))
	z := math.Max((w*c+h*s)/w, (w*s+h*c)/h)
	qw, qh := z*keep*w, z*keep*h
	cw, ch := ix.CaptureSize(int(ci))
	cx0, cy0 := cw*(1-keep)/2, ch*(1-keep)/2
	ax, ay := qw/(keep*cw), qh/(keep*ch)
	// The region's point (X, Y) lies at (u, v) along the turned quad's
	// axes from its centre, then turned by th (clockwise, y down).
	u0, v0 := -ax*cx0-qw/2, -ay*cy0-qh/2
	cos, sin := math.Cos(th), math.Sin(th)
	return feature.Placement{
		cos * ax, -sin * ay, w/2 + cos*u0 - sin*v0,
		sin * ax, cos * ay, h/2 + sin*u0 + cos*v0,
	}, true
}

// ReadMatch reads capture ci's features in fp where hash match mt places
// the capture, as Match does before keeping such a match, and reports
// whether the reading refuses it. It is for analysis (the robustness
// report measures how often unrelated images pass); ok is false when fp
// has no pixels, the bank no features, or mt no placement.
func (m *BankMatcher) ReadMatch(fp Fingerprint, ci uint32, mt Match) (r feature.Reading, refused, ok bool) {
	if fp.local == nil || m.opts.NoFeatures {
		return r, false, false
	}
	ix := m.bank.featureIndex()
	if ix.Features() == 0 || int(ci) >= ix.Captures() {
		return r, false, false
	}
	q := fp.local.features()
	p, ok := placement(mt, ix, ci, q)
	if !ok {
		return r, false, false
	}
	r = ix.Read(q.q, int(ci), p)
	return r, r.Contradicts(minHashAgreement), true
}
