package feature

import (
	"cmp"
	"math"
	"math/bits"
	"slices"
)

// SearchOptions is the match policy of the feature route.
type SearchOptions struct {
	// MaxDistance is the largest descriptor distance of a tentative
	// correspondence (of 128 bits).
	MaxDistance int
	// Probes is the number of the query's least certain key bits whose
	// combinations are probed (2^Probes lists per descriptor).
	Probes int
	// Tests is the multiple-testing factor of the decision: the number of
	// captures a query is assumed to be compared with, times two for
	// mirror images. A fixed 2e7 (10^7 captures) makes the decision
	// independent of the bank's size and conservative below it.
	Tests float64
	// MaxLogNFA is the decision threshold: a capture matches when log10
	// of its expected number of false alarms is at most this.
	MaxLogNFA float64
	// MinInlierFraction is the share of the capture's features that the
	// model places in the query, at a scale the query was searched at,
	// that must be inliers. A copy keeps a fair share of what stays
	// visible; another photograph of the same person, plate or camera
	// view shares only the object or background they have in common.
	MinInlierFraction float64
	// MaxVerify bounds the captures verified per query, MaxCorr the
	// correspondences per capture: both bound a hostile query's cost.
	MaxVerify int
	MaxCorr   int
	// MaxRead bounds the captures read where a model puts their features
	// per query (SearchStats.Read counts them).
	MaxRead int
	// MinSiteAgreement is the share of a capture's features, read in the
	// query where a significant model puts them, that must read as
	// enrolled when the detected inliers alone are too few.
	MinSiteAgreement float64
}

// DefaultSearchOptions is the measured policy (BENCHMARKS.md).
func DefaultSearchOptions() SearchOptions {
	return SearchOptions{MaxDistance: 16, Probes: 3, Tests: 2e7, MaxLogNFA: -6, MinInlierFraction: 0.21, MaxVerify: 64, MaxCorr: 256, MaxRead: 16, MinSiteAgreement: 0.93}
}

// WithDefaults returns o with every unset (zero or negative) field at its
// default, so that a policy that sets one field keeps the others sound.
func (o SearchOptions) WithDefaults() SearchOptions {
	d := DefaultSearchOptions()
	if o.MaxDistance <= 0 {
		o.MaxDistance = d.MaxDistance
	}
	if o.Probes <= 0 {
		o.Probes = d.Probes
	}
	if o.Tests < 1 {
		o.Tests = d.Tests
	}
	if o.MaxLogNFA == 0 {
		o.MaxLogNFA = d.MaxLogNFA
	}
	if o.MinInlierFraction <= 0 {
		o.MinInlierFraction = d.MinInlierFraction
	}
	if o.MaxVerify <= 0 {
		o.MaxVerify = d.MaxVerify
	}
	if o.MaxCorr <= 0 {
		o.MaxCorr = d.MaxCorr
	}
	if o.MaxRead <= 0 {
		o.MaxRead = d.MaxRead
	}
	if o.MinSiteAgreement <= 0 {
		o.MinSiteAgreement = d.MinSiteAgreement
	}
	return o
}

// Hit is a capture the query matched through its features.
type Hit struct {
	Capture int
	Verdict Verdict
}

// SearchStats counts the work of one search.
type SearchStats struct {
	Probes, Entries, Candidates, Verified int
	// Crowded counts probes skipped because their list was crowded.
	Crowded int
	// Read counts captures whose features were read where a model put
	// them.
	Read int
	// Unread counts captures with a plausible model that MaxRead left
	// unread: a copy among them may have been missed. (Captures beyond
	// MaxVerify are not counted: the shortlist is ranked by
	// correspondences, and in a bank of hundreds every query has
	// hundreds of captures with a few chance ones.)
	Unread int
	// RivalReads counts the captures read only to settle rivals: at
	// most one per match.
	RivalReads int
	// Refused are the captures whose features, compared exhaustively,
	// gave a model significant by the decision threshold, which the
	// inlier share and the reading both refused although at least half
	// the sites read as enrolled: a copy too damaged to decide on
	// (stickers on a turned copy, tiled text), or another photograph of
	// the same subject or camera. Never matches; for a person to look
	// at. At most MaxRead, most significant first.
	Refused []Hit
}

// Search matches query keypoints (found in a qw x qh image) against the
// index and returns the captures whose correspondences pass the decision,
// most significant first.
func (ix *Index) Search(query *Query, o SearchOptions) ([]Hit, SearchStats) {
	var st SearchStats
	// Unset fields take their defaults: a zero bound would silently drop
	// every correspondence.
	o = o.WithDefaults()
	q, qw, qh := query.Keypoints, query.W, query.H
	if len(ix.descs) == 0 || len(q) == 0 {
		return nil, st
	}
	maxList := max(256, 16*int(ix.listOff[len(ix.listOff)-1])>>ix.keyBits)
	minScale := query.minScale
	perCap := map[uint32][]Corr{}
	// best[feature] per (query keypoint, orientation): keep one
	// correspondence per capture and query keypoint, the closest.
	type cand struct {
		cap  uint32
		feat uint32
		dist int
	}
	var cands []cand
	for qi := range q {
		k := &q[qi]
		for mir := 0; mir < 2; mir++ {
			d, mg := k.Desc, &k.margin
			if mir == 1 {
				if k.Mirror == (Descriptor{}) {
					break
				}
				d, mg = k.Mirror, &k.mirMargin
			}
			key := keyOf(d, ix.keyBits)
			weak := weakest(mg, ix.keyBits, o.Probes)
			cands = cands[:0]
			for p := 0; p < 1<<len(weak); p++ {
				pk := key
				for b, bit := range weak {
					if p&(1<<b) != 0 {
						pk ^= 1 << bit
					}
				}
				st.Probes++
				lo, hi := ix.listOff[pk], ix.listOff[pk+1]
				if int(hi-lo) > maxList {
					// A crowded key is a common pattern (a stop word):
					// it costs much and tells little.
					st.Crowded++
					continue
				}
				st.Entries += int(hi - lo)
				for j, ed := range ix.descs[lo:hi] {
					if dist := ed.Distance(d); dist <= o.MaxDistance {
						p := lo + uint32(j)
						cands = append(cands, cand{ix.owner[p], p, dist})
					}
				}
			}
			slices.SortFunc(cands, func(a, b cand) int {
				return cmp.Or(cmp.Compare(a.cap, b.cap), cmp.Compare(a.dist, b.dist))
			})
			for i, c := range cands {
				if i > 0 && cands[i-1].cap == c.cap {
					continue
				}
				perCap[c.cap] = append(perCap[c.cap], Corr{
					E: ix.point(c.feat), Q: Point{X: k.X, Y: k.Y, Scale: k.Scale, Angle: k.Angle},
					Mirrored: mir == 1, Dist: c.dist, EI: int32(c.feat), QI: int32(qi),
				})
			}
		}
	}
	// Verify the captures with the most distinct query keypoints first.
	type capN struct {
		cap uint32
		n   int
	}
	var order []capN
	for c, cs := range perCap {
		if len(cs) >= 3 {
			order = append(order, capN{c, len(cs)})
		}
	}
	st.Candidates = len(order)
	slices.SortFunc(order, func(a, b capN) int { return cmp.Or(cmp.Compare(b.n, a.n), cmp.Compare(a.cap, b.cap)) })
	if len(order) > o.MaxVerify {
		order = order[:o.MaxVerify]
	}
	type verified struct {
		cap uint32
		v   Verdict
		vo  VerifyOptions
	}
	var all []verified
	for _, c := range order {
		cs := perCap[c.cap]
		if len(cs) > o.MaxCorr {
			slices.SortFunc(cs, func(a, b Corr) int { return a.Dist - b.Dist })
			cs = cs[:o.MaxCorr]
		}
		vo := ix.verifyOptions(c.cap, qw, qh, minScale, o)
		v := Verify(cs, vo)
		st.Verified++
		if v.Inliers > 0 {
			all = append(all, verified{c.cap, v, vo})
		}
	}
	// Evidence two captures share is evidence for neither: two frames of
	// one camera share their background, which the query shows at the
	// same place for both. An inlier of a capture is shared when another
	// plausible capture that the query places at the same spot has an
	// inlier near it; each capture is decided on the rest.
	plausible := func(v Verdict) bool { return v.Inliers >= 3 && v.LogNFA <= plausibleLogNFA }
	shared := make([]map[int32]bool, len(all))
	// The most significant plausible verdicts only, so that the pairwise
	// comparison stays bounded whatever the query.
	var top []int
	for x := range all {
		if plausible(all[x].v) {
			top = append(top, x)
		}
	}
	slices.SortFunc(top, func(a, b int) int { return cmp.Compare(all[a].v.LogNFA, all[b].v.LogNFA) })
	if len(top) > maxShared {
		top = top[:maxShared]
	}
	for _, x := range top {
		for _, y := range top {
			if x == y || !samePlace(all[x].v.Rect, all[y].v.Rect) {
				continue
			}
			r := sharedRadius * math.Hypot(all[x].v.Rect[2]-all[x].v.Rect[0], all[x].v.Rect[3]-all[x].v.Rect[1])
			for _, qa := range all[x].v.inlierQ {
				for _, qb := range all[y].v.inlierQ {
					if math.Hypot(float64(q[qa].X-q[qb].X), float64(q[qa].Y-q[qb].Y)) <= r {
						if shared[x] == nil {
							shared[x] = map[int32]bool{}
						}
						shared[x][qa] = true
						break
					}
				}
			}
		}
	}
	var hits []Hit
	// queued marks the captures already matched or queued for reading.
	queued := map[uint32]bool{}
	type toRead struct {
		cap uint32
		vo  VerifyOptions
		nfa float64
		v   Verdict // the index's model, when plausible
	}
	var reads []toRead
	for x, a := range all {
		v := a.v
		// The exclusive inliers keep the residuals they had against the
		// models fitted with every inlier but themselves: close enough,
		// and the NFA only grows as inliers are taken away.
		var res []float64
		for i, qi := range v.inlierQ {
			if !shared[x][qi] {
				v.Exclusive++
				res = append(res, v.inlierRes[i])
			}
		}
		if v.Exclusive < v.Inliers {
			v.LogNFA = logNFA(v.n, res, v.Model, a.vo)
		}
		if v.Exclusive >= 3 && v.LogNFA <= o.MaxLogNFA && float64(v.Exclusive) >= o.MinInlierFraction*float64(v.Visible) {
			hits = append(hits, Hit{Capture: int(a.cap), Verdict: v})
			queued[a.cap] = true
			continue
		}
		if v.LogNFA <= plausibleLogNFA {
			reads = append(reads, toRead{a.cap, a.vo, v.LogNFA, v})
			queued[a.cap] = true
		}
	}
	// The most significant failed verdicts are read first, then the
	// captures with the most correspondences whose detected inliers gave
	// no plausible model: a copy shown small (a thumbnail in a grid) keeps
	// too few detected corners for one, yet reads as enrolled.
	slices.SortStableFunc(reads, func(a, b toRead) int { return cmp.Compare(a.nfa, b.nfa) })
	for _, c := range order {
		if len(reads) >= o.MaxRead {
			break
		}
		if !queued[c.cap] {
			reads = append(reads, toRead{cap: c.cap, vo: ix.verifyOptions(c.cap, qw, qh, minScale, o), nfa: math.Inf(1)})
		}
	}
	if len(query.levels) == 0 {
		reads = nil
	}
	var read []Hit
	var first [][2]uint64
	for i, c := range reads {
		if st.Read >= o.MaxRead {
			// A capture placed where a match already is would not be
			// read anyway (another frame of the same camera).
			for _, u := range reads[i:] {
				if !math.IsInf(u.nfa, 1) && !slices.ContainsFunc(hits, func(h Hit) bool { return samePlace(h.Verdict.Rect, u.v.Rect) }) {
					st.Unread++
				}
			}
			break
		}
		// A model whose detected inliers are too few for the share rule
		// (the copy is small, blurred, or shown through a screen) is
		// checked where it matters: every feature of the capture is read
		// in the query where the model puts it. A copy shows nearly all
		// of them; another photograph of the same person or plate shows
		// only the parts the two have in common.
		st.Read++
		if first == nil {
			first = firstWords(q)
		}
		cs := ix.rematch(q, first, c.cap, o.MaxDistance, nil)
		if len(cs) > o.MaxCorr {
			slices.SortFunc(cs, func(a, b Corr) int { return a.Dist - b.Dist })
			cs = cs[:o.MaxCorr]
		}
		r := Verify(cs, c.vo)
		if r.Inliers < 3 || r.LogNFA > plausibleLogNFA {
			continue
		}
		if slices.ContainsFunc(hits, func(h Hit) bool { return samePlace(h.Verdict.Rect, r.Rect) }) {
			// Another capture already explains this part of the query.
			continue
		}
		r.Exclusive = r.Inliers
		var spread float64
		r.Sites, r.Agree, spread = ix.readSites(query, c.cap, &r)
		// The exhaustive comparison finds the correspondences a
		// degraded copy's keys lost: its model is decided by the rule
		// the index's was, or else by the reading.
		ok := r.LogNFA <= o.MaxLogNFA && float64(r.Inliers) >= o.MinInlierFraction*float64(r.Visible) &&
			float64(r.Agree) >= shareAgreement*float64(r.Sites) && spread >= minAgreeSpread
		if r.Sites >= minSites && float64(r.Agree) >= o.MinSiteAgreement*float64(r.Sites) {
			if sn := siteLogNFA(len(cs), r.Sites, r.Agree, o.Tests); sn <= o.MaxLogNFA {
				r.LogNFA = min(r.LogNFA, sn)
				ok = true
			}
		}
		if !ok {
			if r.LogNFA <= o.MaxLogNFA && r.Sites >= minSites && 2*r.Agree >= r.Sites {
				st.Refused = append(st.Refused, Hit{Capture: int(c.cap), Verdict: r})
			}
			continue
		}
		read = append(read, Hit{Capture: int(c.cap), Verdict: r})
	}
	slices.SortStableFunc(st.Refused, func(a, b Hit) int { return cmp.Compare(a.Verdict.LogNFA, b.Verdict.LogNFA) })
	hits = ix.settleRivals(query, append(hits, read...), len(hits), &st)
	slices.SortFunc(hits, func(a, b Hit) int {
		return cmp.Or(cmp.Compare(a.Verdict.LogNFA, b.Verdict.LogNFA), a.Capture-b.Capture)
	})
	return hits, st
}

// settleRivals drops the look-alikes among hits, of which the first
// byIndex were decided by the index and the rest by their readings: see
// settle. Captures decided by the index are read for it; those readings
// judge only and are not reported (st.RivalReads counts them).
func (ix *Index) settleRivals(query *Query, hits []Hit, byIndex int, st *SearchStats) []Hit {
	if len(hits) < 2 {
		return hits
	}
	rs := make([]rival, len(hits))
	for i, h := range hits {
		rs[i] = rival{outline: h.Verdict.Rect, rect: clipRect(h.Verdict.Rect, query.W, query.H), sites: h.Verdict.Sites, agree: h.Verdict.Agree, read: i >= byIndex}
	}
	for i := range rs {
		if rs[i].read || !hasRival(rs, i) {
			continue
		}
		v := hits[i].Verdict
		rs[i].sites, rs[i].agree, _ = ix.readSites(query, uint32(hits[i].Capture), &v)
		st.RivalReads++
	}
	keep := settle(rs)
	out := make([]Hit, 0, len(hits))
	for i, h := range hits {
		if keep[i] {
			out = append(out, h)
		}
	}
	return out
}

func hasRival(rs []rival, i int) bool {
	for j := range rs {
		if j != i && rivals(rs[j].rect, rs[i].rect) {
			return true
		}
	}
	return false
}

// rival is what settle knows of a hit: its outline in the query (and its
// part inside the query, rect), its reading, and whether the reading
// decided it.
type rival struct {
	outline, rect [4]float64
	sites, agree  int
	read          bool
}

// settle decides which hits to keep. Two captures matched over the same
// part of the query (outlines of about one size on one spot: rivals) are
// rival explanations of it: another frame of one camera, or a vehicle of
// the same model at a slightly different scale. Taken best reading
// first, a capture is not the copy when a rival already kept reads
// clearly better (by more than siteTie) and either has at least as many
// features agreeing, or both were decided by their readings and sit at
// the same place (outlines within 5%: two frames of one camera, read
// over the same pixels). The count keeps a reading over part of the
// picture (a look-alike face read over the face of a booth frame, the
// rest of which the copy's perspective degrades) from dropping the copy.
// A capture shown inside another's copy at up to 0.8 of its size (a
// picture in a picture) or beside it (a collage) is no rival. A capture
// no feature of which could be read is kept.
func settle(rs []rival) []bool {
	keep := make([]bool, len(rs))
	agreeOf := func(r rival) float64 { return float64(r.agree) / float64(max(r.sites, 1)) }
	order := make([]int, len(rs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(agreeOf(rs[b]), agreeOf(rs[a])) })
	for _, i := range order {
		r := rs[i]
		keep[i] = r.sites == 0 || !slices.ContainsFunc(order, func(j int) bool {
			b := rs[j]
			if !keep[j] || !rivals(b.rect, r.rect) || agreeOf(b) <= agreeOf(r)+siteTie {
				return false
			}
			return b.agree >= r.agree || b.read && r.read && samePlace(b.outline, r.outline)
		})
	}
	return keep
}

// Two captures are rivals when their outlines inside the query overlap by
// rivalIoU (intersection over union) and the smaller is at least
// rivalSize of the larger's area: a look-alike at 0.9 of the copy's scale
// overlaps it at about 0.8 and is 0.81 of its size; a picture inside a
// copy at up to 0.8 of its side (0.64 of its area) is no rival, nor is a
// thumbnail covering a quarter of it.
const (
	rivalIoU  = 0.5
	rivalSize = 0.64
)

// rivals reports whether two outlines inside the query are rivals.
func rivals(a, b [4]float64) bool {
	area := func(r [4]float64) float64 { return max(r[2]-r[0], 0) * max(r[3]-r[1], 0) }
	inter := area([4]float64{max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])})
	union := area(a) + area(b) - inter
	return union > 0 && inter >= rivalIoU*union && min(area(a), area(b)) >= rivalSize*max(area(a), area(b))
}

// clipRect is an outline's part inside a w x h query.
func clipRect(r [4]float64, w, h int) [4]float64 {
	return [4]float64{max(r[0], 0), max(r[1], 0), min(r[2], float64(w)), min(r[3], float64(h))}
}

// verifyOptions are the inputs of capture c's verification.
func (ix *Index) verifyOptions(c uint32, qw, qh int, minScale float64, o SearchOptions) VerifyOptions {
	w, h := ix.size(c)
	ps := ix.features(c)
	pts := make([]Point, 0, len(ps))
	for _, p := range ps {
		if !ix.isCommon(p) {
			pts = append(pts, ix.point(p))
		}
	}
	return VerifyOptions{Tests: o.Tests, QueryW: float64(qw), QueryH: float64(qh), CaptureW: w, CaptureH: h, Points: pts, MinScale: minScale}
}

// readSites reads capture c's features (the common ones excepted) in the
// query where v's model puts them: sites counts those the query shows at
// a scale it was described at, agree those that read close to the
// enrolled descriptor, and spread is the area of the agreeing ones'
// bounding box in the capture over that of all those read.
func (ix *Index) readSites(query *Query, c uint32, v *Verdict) (sites, agree int, spread float64) {
	var all, ok box
	ix.eachSite(query, c, v, func(_ uint32, p Point, d int) {
		sites++
		all.add(float64(p.X), float64(p.Y))
		if d <= siteMaxDist {
			agree++
			ok.add(float64(p.X), float64(p.Y))
		}
	})
	if a := all.area(); agree > 1 && a > 0 {
		spread = ok.area() / a
	}
	return sites, agree, spread
}

// eachSite calls fn with each of capture c's features (the common ones
// excepted, named by index position) that the query shows where v's model
// puts it, at a scale it was described at, and the distance at which the
// feature reads there.
func (ix *Index) eachSite(query *Query, c uint32, v *Verdict, fn func(fp uint32, p Point, d int)) {
	for _, fp := range ix.features(c) {
		if ix.isCommon(fp) {
			continue
		}
		p := ix.point(fp)
		m, in := v.at(float64(p.X), float64(p.Y))
		if !in {
			continue
		}
		if d, in := query.siteDistance(p, ix.descs[fp], m); in {
			fn(fp, p, d)
		}
	}
}

// box is a bounding box grown one point at a time.
type box struct {
	x0, y0, x1, y1 float64
	n              int
}

func (b *box) add(x, y float64) {
	if b.n == 0 {
		b.x0, b.y0, b.x1, b.y1 = x, y, x, y
	}
	b.x0, b.y0, b.x1, b.y1 = min(b.x0, x), min(b.y0, y), max(b.x1, x), max(b.y1, y)
	b.n++
}

func (b *box) area() float64 { return (b.x1 - b.x0) * (b.y1 - b.y0) }

// shareAgreement and minAgreeSpread are what a capture compared
// exhaustively must also read like to be decided by the inlier-share
// rule: most of its features read as enrolled (a degraded copy reads at
// 0.75-0.92, frames of one camera at 0.35-0.7), and the agreeing ones
// spread over most of what was read (another car with the same plate
// agrees only on the plate). BENCHMARKS.md, "Exhaustive comparison
// decided by share".
const (
	shareAgreement = 0.85
	minAgreeSpread = 0.6
)

// siteTie is how much lower a capture's reading may agree than a rival's
// and the capture still be kept (the same picture enrolled twice).
const siteTie = 0.03

// pSiteNull bounds the chance that a feature read where an unrelated
// model puts it agrees with its enrolled descriptor
// (TestSiteReadingNullRate measures it).
const pSiteNull = 0.05

// siteLogNFA is log10 of the expected false alarms of a site reading
// where agree of sites read features agree: the tests, the two-point
// hypotheses of the n correspondences the model came from, and the
// binomial tail of agreements under pSiteNull.
func siteLogNFA(n, sites, agree int, tests float64) float64 {
	return math.Log10(math.Max(tests, 1)) + math.Log10(math.Max(float64(n)*float64(n-1)/2, 1)) + logBinomTail(sites, agree, pSiteNull)
}

// minSites is the fewest features a site reading decides on.
const minSites = 12

// siteMaxDist is the largest distance at which a feature read at its
// predicted place agrees.
const siteMaxDist = 26

// perFeature is how many query keypoints an enrolled feature keeps in
// each orientation when a capture is compared exhaustively: the same
// corner found on two pyramid levels, or a repeated pattern, leaves the
// true one among the closest few for the geometry to pick.
const perFeature = 3

// firstWords lays out the first words of the query's descriptors, direct
// and mirrored, side by side: rematch rejects almost every pair on them
// alone, and a Keypoint is several times their size. One query's are
// laid out once for all the captures it reads.
func firstWords(q []Keypoint) [][2]uint64 {
	first := make([][2]uint64, len(q))
	for i := range q {
		first[i] = [2]uint64{q[i].Desc[0], q[i].Mirror[0]}
	}
	return first
}

// rematch returns the correspondences between capture c's features (the
// common ones excepted) and all query keypoints q (first their
// firstWords): for each feature and orientation, its perFeature closest
// keypoints within maxDist, the earlier keypoint first at equal distance.
func (ix *Index) rematch(q []Keypoint, first [][2]uint64, c uint32, maxDist int, out []Corr) []Corr {
	type near struct {
		qi   int32
		dist int
	}
	first = first[:len(q)] // one entry per keypoint
	for _, fp := range ix.features(c) {
		if ix.isCommon(fp) {
			continue
		}
		f0, f1 := ix.descs[fp][0], ix.descs[fp][1]
		var best [2][perFeature]near
		var nb [2]int
		for qi, w := range first {
			d0, d1 := bits.OnesCount64(f0^w[0]), bits.OnesCount64(f0^w[1])
			if d0 > maxDist && d1 > maxDist {
				continue
			}
			for mir, dist := range [2]int{d0, d1} {
				if dist > maxDist {
					continue
				}
				d := &q[qi].Desc
				if mir == 1 {
					d = &q[qi].Mirror
				}
				dist += bits.OnesCount64(f1 ^ d[1])
				if dist > maxDist {
					continue
				}
				bm, n := &best[mir], nb[mir]
				j := min(n, perFeature-1)
				if n == perFeature && dist >= bm[j].dist {
					continue
				}
				for j > 0 && bm[j-1].dist > dist {
					bm[j] = bm[j-1]
					j--
				}
				bm[j] = near{int32(qi), dist}
				nb[mir] = min(n+1, perFeature)
			}
		}
		e := ix.point(fp)
		for mir := range 2 {
			for _, b := range best[mir][:nb[mir]] {
				k := &q[b.qi]
				out = append(out, Corr{E: e, Q: Point{X: k.X, Y: k.Y, Scale: k.Scale, Angle: k.Angle},
					Mirrored: mir == 1, Dist: b.dist, EI: int32(fp), QI: b.qi})
			}
		}
	}
	return out
}

// plausibleLogNFA is the weakest verdict whose inliers are taken from
// the others: a second capture needs only to be a plausible explanation
// of a keypoint to make it ambiguous.
const plausibleLogNFA = 12

// maxShared bounds the verdicts compared for shared evidence.
const maxShared = 16

// sharedRadius is how near (a share of the capture's diagonal in the
// query) another capture's inlier makes an inlier shared.
const sharedRadius = 0.06

// samePlace reports whether two outlines of captures in the query are at
// the same spot: within 5% of their size.
func samePlace(a, b [4]float64) bool {
	d := math.Hypot(a[2]-a[0], a[3]-a[1])
	for i := range a {
		if math.Abs(a[i]-b[i]) > 0.05*d {
			return false
		}
	}
	return true
}

// weakest returns the positions of the n key bits with the smallest
// margins among the first nbits.
func weakest(m *[maxKeyBits]uint8, nbits, n int) []int {
	idx := make([]int, nbits)
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(m[a], m[b]) })
	return idx[:min(n, nbits)]
}
