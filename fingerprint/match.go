package fingerprint

import (
	"cmp"
	"fmt"
	"slices"
	"sort"

	"github.com/leakwatch/leakwatch/fingerprint/feature"
	"github.com/leakwatch/leakwatch/fingerprint/hamming"
	"github.com/leakwatch/leakwatch/fingerprint/pdq"
)

// MatchOptions is the match policy. The zero value of a radius means its
// default; DefaultMatchOptions returns the measured policy (BENCHMARKS.md,
// "Robustness and hashing speed").
type MatchOptions struct {
	// PDQRadius is the largest PDQ Hamming distance between the whole
	// query (any of its eight dihedral variants when Dihedral is set) and
	// a whole capture that counts as a match. Meta's default is 31 of 256.
	PDQRadius int
	// RegionRadius is the largest distance between the query, one of its
	// central windows or a straightened version, and an enrolled central
	// region of a capture.
	RegionRadius int
	// SubImageRadius is the largest distance between a sub-image detected
	// in the query and a whole capture.
	SubImageRadius int
	// MinQuality is the PDQ quality below which a hash is not used: a
	// query none of whose hashes reaches it is reported as unhashable
	// (ErrLowQuality), and enrolled hashes below it are never matched.
	MinQuality int
	// PHashRadius is the largest pHash distance reported as agreeing with
	// a PDQ match. pHash never raises or vetoes a match on its own: see
	// Match.PHashAgrees and README.md, "Match policy".
	PHashRadius int
	// Dihedral also compares the seven rotated and mirrored variants of
	// the whole query with whole captures.
	Dihedral bool
	// SubImages also compares the query's candidates (detected
	// sub-images, central windows, straightened versions). The keypoint
	// patches (Patches) need it too.
	SubImages bool
	// Patches also follows the leads of the query's keypoint patches
	// (uneven crops; patches.go) for captures no other comparison
	// matched. It needs SubImages and a freshly computed fingerprint.
	Patches bool
	// PatchRadius is the largest distance between a query patch and an
	// enrolled patch that is checked further (patches.go).
	PatchRadius int
	// PatchMatchRadius is the largest distance between the query, hashed
	// where a patch lead places an enrolled central region, and that
	// region: the patch route's match decision. It is tighter than
	// RegionRadius because the placement is searched (BENCHMARKS.md).
	PatchMatchRadius int
	// NoFeatures turns the local-feature route off (features.go).
	NoFeatures bool
	// Features is the feature route's policy (zero value: its default).
	Features feature.SearchOptions
}

// Default radii, set from the distances measured between unrelated images
// (BENCHMARKS.md): each keeps the estimated false-match rate of its kind
// of comparison below 1e-12, so that the hundred or so comparisons a query
// makes with each capture stay below 1e-10.
const (
	DefaultRegionRadius   = 24
	DefaultSubImageRadius = 31
	DefaultPHashRadius    = 6
)

// DefaultMatchOptions returns the policy measured in BENCHMARKS.md.
func DefaultMatchOptions() MatchOptions {
	return MatchOptions{
		PDQRadius:        pdq.MatchThreshold,
		RegionRadius:     DefaultRegionRadius,
		SubImageRadius:   DefaultSubImageRadius,
		PatchRadius:      DefaultPatchRadius,
		PatchMatchRadius: DefaultPatchMatchRadius,
		MinQuality:       pdq.MinQuality,
		PHashRadius:      DefaultPHashRadius,
		Dihedral:         true,
		SubImages:        true,
		Patches:          true,
	}
}

// Match is one bank capture matched by a query image.
type Match struct {
	CaptureID string    `json:"capture_id"`
	Kind      string    `json:"kind"`
	Algorithm Algorithm `json:"algorithm"`
	Distance  int       `json:"distance"`
	// Variant names the dihedral transform of the query that matched.
	Variant string `json:"variant,omitempty"`
	// Region is the enrolled region that matched (0 = whole capture).
	Region Region `json:"region,omitempty"`
	// Via names the part of the query that matched: empty for the whole
	// image, a CandidateKind ("subimage", "window", "straightened"),
	// "patch" (ViaPatch) or "reference" (an imported hash).
	Via string `json:"via,omitempty"`
	// Rect is the matched part of the query, [x0, y0, x1, y1] in its
	// pixels, when Via is set.
	Rect *[4]int `json:"rect,omitempty"`
	// Quality is the PDQ quality of the query hash that matched.
	Quality int `json:"quality"`
	// PHashDistance is the pHash distance between the whole query and
	// the capture, reported as supporting evidence (-1 if unknown).
	PHashDistance int `json:"phash_distance"`
	// PHashAgrees says PHashDistance is within the policy's PHashRadius.
	PHashAgrees bool `json:"phash_agrees"`
	// Inliers is the number of the capture's features that the feature
	// route found where its model puts them (Algorithm "features", whose
	// Distance is -1), and LogNFA log10 of the expected number of
	// captures that would match that well by chance among 10^7.
	Inliers int     `json:"inliers,omitempty"`
	LogNFA  float64 `json:"log_nfa,omitempty"`
	// Rotation (degrees, clockwise as displayed: image y points down) and
	// Scale are the feature route's model: how the copy is turned and
	// sized relative to the enrolled capture. A straightened candidate's
	// match gives its turn as Rotation too.
	Rotation float64 `json:"rotation,omitempty"`
	Scale    float64 `json:"scale,omitempty"`
	// Perspective says the capture's features were placed by a
	// homography or an affine map (the copy is seen in perspective, or
	// squeezed to another aspect ratio); Rotation and Scale are still
	// those of the similarity that decided the match.
	Perspective bool `json:"perspective,omitempty"`
	// SitesRead and SitesAgree say how the capture's features read where
	// the match puts the capture: how many the query could be read at,
	// and how many read as enrolled. They are set when the feature route
	// decided by reading, and for a hash match other than an imported
	// hash's, which is refused when fewer than half of 12 or more sites
	// agree.
	SitesRead  int `json:"sites_read,omitempty"`
	SitesAgree int `json:"sites_agree,omitempty"`
}

// A Matcher finds the bank captures a fingerprint matches.
type Matcher interface {
	Match(fp Fingerprint) ([]Match, error)
}

// BankMatcher matches against a Bank with its index.
type BankMatcher struct {
	bank *Bank
	opts MatchOptions
}

// NewMatcher returns a Matcher over b with the given policy. Radii that are
// zero or negative take their defaults.
func NewMatcher(b *Bank, opts MatchOptions) *BankMatcher {
	if opts.PDQRadius <= 0 {
		opts.PDQRadius = pdq.MatchThreshold
	}
	if opts.RegionRadius <= 0 {
		opts.RegionRadius = DefaultRegionRadius
	}
	if opts.SubImageRadius <= 0 {
		opts.SubImageRadius = DefaultSubImageRadius
	}
	if opts.PatchRadius <= 0 {
		opts.PatchRadius = DefaultPatchRadius
	}
	if opts.PatchMatchRadius <= 0 {
		opts.PatchMatchRadius = DefaultPatchMatchRadius
	}
	opts.Features = opts.Features.WithDefaults()
	return &BankMatcher{bank: b, opts: opts}
}

// Options returns the policy m matches with, defaults filled in.
func (m *BankMatcher) Options() MatchOptions { return m.opts }

// Match implements Matcher: it returns at most one Match per capture, the
// closest, sorted by distance then capture ID. A query none of whose
// hashes reaches MinQuality returns ErrLowQuality: the caller counts it as
// unhashable rather than as "no match".
func (m *BankMatcher) Match(fp Fingerprint) ([]Match, error) {
	ms, _, err := m.MatchStats(fp)
	return ms, err
}

// MatchStats says what a match left undone because of its bounds.
type MatchStats struct {
	// PatchLeadsSkipped counts patch leads to captures not yet matched
	// that were not verified because the query used up its verification
	// budget (32): a copy among them may have been missed. It grows in
	// large banks of look-alike captures and with hostile images made of
	// look-alike patches.
	PatchLeadsSkipped int
	// FeatureEntries counts index entries the feature route compared,
	// FeatureVerified the captures it verified geometrically.
	FeatureEntries, FeatureVerified int
	// HashUnread counts hash matches kept unread because the query used
	// up its readings (256): a look-alike among them may be reported.
	HashUnread int
	// Refused names the captures whose hash match the reading of the
	// query's features refused; keep it with a cached fingerprint
	// (Fingerprint.Refused).
	Refused []string
	// FeatureUnread counts captures with a plausible feature model that
	// the reading budget (16 per query) left unread: a degraded copy among
	// them may have been missed.
	FeatureUnread int
	// Review lists the captures, matched by no route, whose features gave
	// a model as significant as a match's, where too few of them read as
	// enrolled for a match but at least half do
	// (feature.SearchStats.Refused): a copy damaged past what the
	// decision accepts, or another photograph of the same subject or
	// camera. They are not matches; a person decides. Most significant
	// first, at most the feature reading budget, none where a match
	// covers the same part of the query.
	Review []Match
}

// MatchStats is Match, also reporting what the bounds left undone, so a
// caller can count it.
func (m *BankMatcher) MatchStats(fp Fingerprint) ([]Match, MatchStats, error) {
	o := m.opts
	var stats MatchStats
	best := map[uint32]Match{}
	// every hash match offered per capture: each is a placement the
	// reading may try.
	offered := map[uint32][]Match{}
	offer := func(ci uint32, mt Match) {
		if len(offered[ci]) < maxPlacements {
			offered[ci] = append(offered[ci], mt)
		}
		cur, seen := best[ci]
		if !seen || mt.Distance < cur.Distance || (mt.Distance == cur.Distance && mt.Via == "" && cur.Via != "") {
			best[ci] = mt
		}
	}
	usable := false
	if fp.PDQ.Quality >= o.MinQuality {
		usable = true
		n := 1
		if o.Dihedral {
			n = 8
		}
		for v := 0; v < n; v++ {
			radius := o.PDQRadius
			if v == 0 && o.SubImages {
				radius = max(radius, o.RegionRadius)
			}
			m.bank.SearchPDQ(fp.PDQ.Hashes[v], radius, func(h PDQHit) bool {
				if h.Quality < o.MinQuality {
					return true
				}
				switch {
				case h.Region == RegionImported:
					return true // compared with the reference hashes below
				case h.Region == RegionPatch:
					return true // patches are compared with patches only
				case h.Region == 0 && h.Distance <= o.PDQRadius:
				case h.Region != 0 && v == 0 && o.SubImages && h.Distance <= o.RegionRadius:
				default:
					return true
				}
				offer(h.Capture, Match{Algorithm: AlgoPDQ, Distance: h.Distance, Variant: pdq.Transform(v).String(), Region: h.Region, Quality: fp.PDQ.Quality})
				return true
			})
		}
	}
	if m.bank.Imported() > 0 && fp.HasReference && fp.Reference.Quality >= o.MinQuality {
		// Hashes imported from other systems were made with Meta's
		// reference front end: compare them with the query's reference
		// hashes, which are what such a system would compute for it.
		usable = true
		for v := 0; v < 8; v++ {
			m.bank.SearchPDQ(fp.Reference.Hashes[v], o.PDQRadius, func(h PDQHit) bool {
				if h.Region == RegionImported {
					offer(h.Capture, Match{Algorithm: AlgoPDQ, Distance: h.Distance, Variant: pdq.Transform(v).String(), Region: h.Region, Via: "reference", Quality: fp.Reference.Quality})
				}
				return true
			})
		}
	}
	if o.SubImages {
		for i := range fp.Candidates {
			c := &fp.Candidates[i]
			if c.Quality < o.MinQuality {
				continue
			}
			usable = true
			radius := o.RegionRadius
			if c.Kind == CandidateSubImage {
				radius = o.SubImageRadius
			}
			m.bank.SearchPDQ(c.Hash, radius, func(h PDQHit) bool {
				if h.Quality < o.MinQuality || !candidateTargets(c, h.Region) {
					return true
				}
				r := [4]int{c.Rect.Min.X, c.Rect.Min.Y, c.Rect.Max.X, c.Rect.Max.Y}
				offer(h.Capture, Match{Algorithm: AlgoPDQ, Distance: h.Distance, Variant: pdq.Original.String(), Region: h.Region,
					Via: c.Kind.String(), Rect: &r, Quality: c.Quality, Rotation: c.Angle})
				return true
			})
		}
	}
	if o.SubImages && o.Patches && fp.local != nil && m.bank.Patches() > 0 {
		stats.PatchLeadsSkipped = m.matchPatches(fp.local, best, offer)
	}
	var refused []uint32
	var hashReads []hashRead
	switch {
	case !o.NoFeatures && fp.local != nil && len(best) > 0:
		refused, stats.HashUnread, hashReads = m.readHashMatches(fp.local, best, offered, maxHashReads)
	case fp.local == nil && len(fp.Refused) > 0:
		// A cached fingerprint brings the refusals of the scan that read
		// it; they hold under any policy, --no-features included, since
		// each says the image is not that capture.
		for ci := range best {
			if slices.Contains(fp.Refused, m.bank.Capture(ci).ID) {
				delete(best, ci)
			}
		}
	}
	if !o.NoFeatures && fp.local != nil {
		// The query's features are computed here, on first use: a bank
		// without features (or a policy without the route) never pays
		// for them.
		if ix := m.bank.featureIndex(); ix.Features() > 0 {
			if q := fp.local.features(); len(q.q.Keypoints) > 0 {
				usable = true
				st := m.matchFeatures(ix, q, func(ci uint32, mt Match) {
					if _, ok := best[ci]; !ok && !explained(mt, hashReads, q.toQuery) {
						best[ci] = mt
					}
				})
				stats.FeatureEntries, stats.FeatureVerified, stats.FeatureUnread = st.Entries, st.Verified, st.Unread
				for _, h := range st.Refused {
					if _, matched := best[uint32(h.Capture)]; !matched {
						mt := featureMatch(h.Verdict, q)
						if matchedThere(best, mt.Rect, fp.local.imgW, fp.local.imgH) {
							// A look-alike of what matched there.
							continue
						}
						c := m.bank.Capture(uint32(h.Capture))
						mt.CaptureID, mt.Kind = c.ID, c.Kind
						mt.PHashDistance = m.bank.phashDistance(uint32(h.Capture), fp.PHash)
						mt.PHashAgrees = mt.PHashDistance >= 0 && mt.PHashDistance <= o.PHashRadius
						stats.Review = append(stats.Review, mt)
					}
				}
			}
		}
	}
	// A capture the feature route found despite its refused hash match
	// is matched: a cached fingerprint, which cannot run the route, must
	// not refuse it.
	for _, ci := range refused {
		if _, matched := best[ci]; !matched {
			stats.Refused = append(stats.Refused, m.bank.Capture(ci).ID)
		}
	}
	slices.Sort(stats.Refused)
	if !usable {
		return nil, stats, fmt.Errorf("%w: quality %d < %d", ErrLowQuality, fp.PDQ.Quality, o.MinQuality)
	}
	out := make([]Match, 0, len(best))
	for ci, mt := range best {
		c := m.bank.Capture(ci)
		mt.CaptureID, mt.Kind = c.ID, c.Kind
		mt.PHashDistance = m.bank.phashDistance(ci, fp.PHash)
		mt.PHashAgrees = mt.PHashDistance >= 0 && mt.PHashDistance <= o.PHashRadius
		out = append(out, mt)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Distance != out[j].Distance {
			return out[i].Distance < out[j].Distance
		}
		return out[i].CaptureID < out[j].CaptureID
	})
	return out, stats, nil
}

// matchPatches follows the leads of the query's keypoint patches: each
// enrolled patch within PatchRadius names a capture and where the query
// would hold its central regions; the capture matches if the query hashed
// there is within PatchMatchRadius of the region (localQuery.verify).
// Captures another comparison matched are not checked: the patch route is
// the fallback for copies that nothing else lines up with. It returns the
// leads the verification budget left unchecked.
func (m *BankMatcher) matchPatches(lq *localQuery, best map[uint32]Match, offer func(uint32, Match)) int {
	o := m.opts
	return m.followLeads(lq, func(ci uint32) bool { _, ok := best[ci]; return !ok }, func(ci uint32, v patchVerdict) {
		if v.distance > o.PatchMatchRadius || v.quality < o.MinQuality {
			return
		}
		r := [4]int{v.rect.Min.X, v.rect.Min.Y, v.rect.Max.X, v.rect.Max.Y}
		offer(ci, Match{Algorithm: AlgoPDQ, Distance: v.distance, Variant: pdq.Original.String(), Region: v.region,
			Via: ViaPatch, Rect: &r, Quality: v.quality})
	})
}

// followLeads collects the enrolled patches within PatchRadius of the
// query's patches and verifies those of captures want accepts, best-led
// captures first, at most verifyPerCapture per capture and verifyPerQuery
// in all, calling fn with each verdict. It returns how many leads it would
// still have verified but for the per-query budget.
func (m *BankMatcher) followLeads(lq *localQuery, want func(uint32) bool, fn func(uint32, patchVerdict)) int {
	o := m.opts
	// rank orders the captures leads point at: by how many distinct query
	// patches lead to them, then by their closest lead. A true copy raises
	// many leads; a chance lookalike patch (a letter of the same font, a
	// repeated texture) usually one, and in a large bank such chance leads
	// must not use up the verification quota before the copy's capture.
	type rank struct {
		ci       uint32
		patches  int
		closest  int
		lastSeen int
	}
	type lead struct {
		qp  int
		hit PDQHit
		r   *rank
	}
	ranks := map[uint32]*rank{}
	var leads []lead
	patches := lq.computePatches()
	for i := range patches {
		qp := &patches[i]
		if qp.quality < o.MinQuality {
			continue
		}
		// Collect first: verification reads the bank, which must not be
		// re-locked inside the search callback. Each query patch may add
		// at most maxLeadsPerPatch, so that one patch of a very common
		// texture cannot crowd out the others.
		n := 0
		m.bank.SearchPDQ(qp.hash, o.PatchRadius, func(h PDQHit) bool {
			if h.Region != RegionPatch || h.Quality < o.MinQuality {
				return true
			}
			r := ranks[h.Capture]
			if r == nil {
				r = &rank{ci: h.Capture, closest: h.Distance, lastSeen: -1}
				ranks[h.Capture] = r
			}
			if r.lastSeen != i {
				r.patches++
				r.lastSeen = i
			}
			r.closest = min(r.closest, h.Distance)
			leads = append(leads, lead{i, h, r})
			n++
			return n < maxLeadsPerPatch
		})
	}
	slices.SortFunc(leads, func(a, b lead) int {
		switch {
		case a.r.patches != b.r.patches:
			return b.r.patches - a.r.patches
		case a.r.closest != b.r.closest:
			return a.r.closest - b.r.closest
		case a.r.ci != b.r.ci:
			return cmp.Compare(a.r.ci, b.r.ci)
		case a.hit.Distance != b.hit.Distance:
			return a.hit.Distance - b.hit.Distance
		}
		return a.qp - b.qp
	})
	tries := map[uint32]int{}
	regions := map[uint32][]RegionHash{}
	total, skipped := 0, 0
	for _, l := range leads {
		ci := l.hit.Capture
		if tries[ci] >= verifyPerCapture || !want(ci) {
			continue
		}
		if total >= verifyPerQuery {
			skipped++
			continue
		}
		tries[ci]++
		total++
		rs, ok := regions[ci]
		if !ok {
			rs = m.bank.centralRegions(ci)
			regions[ci] = rs
		}
		if v, ok := lq.verify(&patches[l.qp], l.hit.Frame, rs, o.MinQuality); ok {
			fn(ci, v)
		}
	}
	return skipped
}

// PatchLead is one verified patch lead, for analysis: the capture it named
// and the distance its verification found.
type PatchLead struct {
	Capture  uint32
	Distance int
}

// PatchLeads verifies fp's patch leads with Match's ranking and quotas
// (at most 4 per capture, 32 in all), but also for captures other
// comparisons matched, and returns each verification distance without
// deciding. The robustness report uses it to measure the patch route's
// distances between unrelated images.
func (m *BankMatcher) PatchLeads(fp Fingerprint) []PatchLead {
	if fp.local == nil {
		return nil
	}
	var out []PatchLead
	m.followLeads(fp.local, func(uint32) bool { return true }, func(ci uint32, v patchVerdict) {
		out = append(out, PatchLead{Capture: ci, Distance: v.distance})
	})
	return out
}

// PatchHashes returns the PDQ hashes of the query's keypoint patches
// (none for a cached or whole-only fingerprint), for analysis.
func (fp *Fingerprint) PatchHashes() []pdq.Result {
	if fp.local == nil {
		return nil
	}
	patches := fp.local.computePatches()
	out := make([]pdq.Result, len(patches))
	for i, p := range patches {
		out[i] = pdq.Result{Hash: p.hash, Quality: p.quality}
	}
	return out
}

// ViaPatch is Match.Via for a match found through keypoint patches.
const ViaPatch = "patch"

// candidateTargets reports whether candidate c is compared with enrolled
// region r.
func candidateTargets(c *Candidate, r Region) bool {
	if r == RegionImported {
		return false
	}
	switch c.Kind {
	case CandidateSubImage:
		return r == 0
	case CandidateWindow:
		_, ok := regionKeep(r)
		return ok
	case CandidateStraightened:
		return r == c.Region
	}
	return false
}

// phashDistance returns the distance from q to capture ci's pHash, or -1.
func (b *Bank) phashDistance(ci uint32, q hamming.Hash64) int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	// pHash entries are appended in capture order, at most one per
	// capture (imported PDQ hashes have none), so phCap is sorted.
	if int(ci) < len(b.phHash) && b.phCap[ci] == ci {
		return b.phHash[ci].Distance(q)
	}
	if i, ok := slices.BinarySearch(b.phCap, ci); ok {
		return b.phHash[i].Distance(q)
	}
	return -1
}

// matchedThere reports whether a match in best covers the same part of a
// w x h query as rect: a match without a rectangle covers all of it.
func matchedThere(best map[uint32]Match, rect *[4]int, w, h int) bool {
	box := func(r *[4]int) [4]float64 {
		if r == nil {
			return [4]float64{0, 0, float64(w), float64(h)}
		}
		return [4]float64{float64(r[0]), float64(r[1]), float64(r[2]), float64(r[3])}
	}
	for _, mt := range best {
		if overlap(box(rect), box(mt.Rect)) >= samePlaceOverlap {
			return true
		}
	}
	return false
}
