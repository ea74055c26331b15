package robustness

import (
	"math"

	"github.com/leakwatch/leakwatch/fingerprint"
	"github.com/leakwatch/leakwatch/fingerprint/pdq"
)

// Comparison kinds, as the matcher makes them.
const (
	CompareWhole        = "whole"        // whole query (8 variants) vs whole capture
	CompareRegion       = "region"       // whole query and central windows vs central regions
	CompareSubImage     = "subimage"     // detected sub-images vs whole capture
	CompareStraightened = "straightened" // straightened query vs one central region
	// ComparePatchLead is a query patch vs an enrolled patch: a lead to
	// verify, not a match, so it is left out of the false-match sum.
	ComparePatchLead = "patch lead"
	// ComparePatch is a verified lead: the query hashed where the lead
	// places a central region vs that region (best placement).
	ComparePatch = "patch"
)

var compareKinds = []string{CompareWhole, CompareRegion, CompareSubImage, CompareStraightened, ComparePatchLead, ComparePatch}

// Comparison summarises the distances between unrelated images for one
// kind of comparison.
type Comparison struct {
	Kind string `json:"kind"`
	// N is the number of hash comparisons measured.
	N int `json:"n"`
	// PerPair is the mean number of such comparisons between one query
	// and one capture.
	PerPair float64 `json:"per_pair"`
	Min     int     `json:"min"`
	Mean    float64 `json:"mean"`
	SD      float64 `json:"sd"`
	// P001 and P01 are the 0.1% and 1% quantiles.
	P001 int `json:"p001"`
	P01  int `json:"p01"`
	// TailMean and TailSD are the normal fitted to the lower tail (the
	// empirical CDF up to its 20% quantile, on a probit scale).
	TailMean float64 `json:"tail_mean"`
	TailSD   float64 `json:"tail_sd"`
	// Radius is the policy's radius for this kind; Within the number of
	// measured comparisons at or below it.
	Radius int `json:"radius"`
	Within int `json:"within"`
	// PRadius is the estimated probability that one comparison falls
	// within Radius: a mixture of normals, one fitted (by its mean and
	// standard deviation) to each pair of content kinds (a face query
	// against face captures, a document against plates, ...), weighted by
	// how often the pair occurs. Unrelated images of the same kind are
	// far more alike than a single normal over all pairs suggests, and
	// the mixture keeps that.
	PRadius float64 `json:"p_radius"`
	// PTail is the estimate from the single normal fitted to the lower
	// tail of all classes together (TailMean, TailSD; both 0 when too few
	// comparisons lie in the tail to fit it, and PTail is then 0).
	PTail float64 `json:"p_tail"`
	// PExp extrapolates each class's empirical lower tail instead: log F
	// fitted as a straight line over the measured distances where F is at
	// most 1%, the shape a heavy tail takes, weighted like PRadius.
	// Classes too small to have such a tail count with their normal.
	PExp float64 `json:"p_exp"`
	// ReadN counts the comparisons within ReadWindow bits of Radius whose
	// placement the matcher could read, ReadPass those whose reading did
	// not refuse the match; PassRate is (ReadPass+1)/(ReadN+1), the share
	// of close unrelated comparisons the reading lets through, by which
	// the estimates above are multiplied (1 for kinds that are not read,
	// or with fewer than minReadN read).
	ReadN    int     `json:"read_n"`
	ReadPass int     `json:"read_pass"`
	PassRate float64 `json:"pass_rate"`
	// WorstExp names the pair of kinds with the highest PExp.
	WorstExp string `json:"worst_pair_exp"`
	// Worst names the pair of kinds with the highest estimate.
	Worst   string `json:"worst_pair"`
	classes map[string]*[257]int
}

// Estimate is the false-match rate extrapolated from the fitted tails.
type Estimate struct {
	// PerCapture is the probability that an unrelated query matches one
	// given capture: sum over kinds of PerPair * PRadius.
	PerCapture float64 `json:"per_capture"`
	// BankSize and PerQuery: the probability of a false match against a
	// bank of BankSize captures.
	BankSize float64 `json:"bank_size"`
	PerQuery float64 `json:"per_query"`
	// PerCaptureTail and PerQueryTail use the single lower-tail normal;
	// PerCaptureExp and PerQueryExp the per-class tail extrapolation.
	PerCaptureTail float64 `json:"per_capture_tail_fit"`
	PerQueryTail   float64 `json:"per_query_tail_fit"`
	PerCaptureExp  float64 `json:"per_capture_exp_tail"`
	PerQueryExp    float64 `json:"per_query_exp_tail"`
	// LeadsPerQuery is the expected number of patch leads (enrolled
	// patches within PatchRadius) an unrelated query raises in a bank of
	// BankSize captures, from the measured rate: search and ranking work,
	// not matches (at most 32 of them are verified per query).
	LeadsPerQuery float64 `json:"patch_leads_per_query"`
}

// distances accumulates histograms of comparison distances, in total and
// per pair of content kinds.
type distances struct {
	hist    map[string]*[257]int
	classes map[string]map[string]*[257]int // comparison kind -> "query/capture" kinds
	pairs   map[string]int                  // query-capture pairs seen, per kind
	// readings of close comparisons, and those the reading let through
	readN, readPass map[string]int
}

// ReadWindow is how far beyond a kind's radius an unrelated comparison
// is read; minReadN the fewest readings a pass rate is used from.
const (
	ReadWindow = 64
	minReadN   = 20
)

func newDistances() *distances {
	d := &distances{hist: map[string]*[257]int{}, classes: map[string]map[string]*[257]int{}, pairs: map[string]int{},
		readN: map[string]int{}, readPass: map[string]int{}}
	for _, k := range compareKinds {
		d.hist[k] = new([257]int)
		d.classes[k] = map[string]*[257]int{}
	}
	return d
}

// record counts one comparison distance.
func (d *distances) record(kind, class string, dist int) {
	d.hist[kind][dist]++
	h := d.classes[kind][class]
	if h == nil {
		h = new([257]int)
		d.classes[kind][class] = h
	}
	h[dist]++
}

// read reads, for a comparison of kind within ReadWindow of radius, the
// capture where the match would place it, and counts whether the
// reading would let the match through.
func (d *distances) read(kind string, dist, radius int, m *fingerprint.BankMatcher, fp fingerprint.Fingerprint, ci uint32, mt fingerprint.Match) {
	if m == nil || dist > radius+ReadWindow {
		return
	}
	mt.Algorithm = fingerprint.AlgoPDQ
	if _, refused, ok := m.ReadMatch(fp, ci, mt); ok {
		d.readN[kind]++
		if !refused {
			d.readPass[kind]++
		}
	}
}

// add records the comparisons the matcher would make between fp and every
// enrolled capture but skip (a frame of the same camera: see run.go), and
// reads the close ones with m (nil: none) as the matcher would.
func (d *distances) add(qkind string, fp fingerprint.Fingerprint, enrolled []fingerprint.Enrollment, m *fingerprint.BankMatcher, o fingerprint.MatchOptions, skip string) {
	minQ := o.MinQuality
	patches := fp.PatchHashes()
	for ei, e := range enrolled {
		if skip != "" && (e.Capture.ID == skip || e.Capture.ID == skip+siblingSuffix) {
			continue
		}
		ci := uint32(ei)
		class := qkind + "/" + e.Capture.Kind
		for _, r := range e.PDQ {
			if r.Quality < minQ {
				continue
			}
			if fp.PDQ.Quality >= minQ {
				if r.Region == 0 {
					for v, h := range fp.PDQ.Hashes {
						dist := h.Distance(r.Hash)
						d.record(CompareWhole, class, dist)
						d.read(CompareWhole, dist, o.PDQRadius, m, fp, ci, fingerprint.Match{Variant: pdq.Transform(v).String()})
					}
				} else if fingerprint.IsCentralRegion(r.Region) {
					dist := fp.PDQ.Hashes[0].Distance(r.Hash)
					d.record(CompareRegion, class, dist)
					d.read(CompareRegion, dist, o.RegionRadius, m, fp, ci, fingerprint.Match{Variant: pdq.Original.String(), Region: r.Region})
				}
			}
			if r.Region == fingerprint.RegionPatch {
				for _, q := range patches {
					if q.Quality >= minQ {
						d.record(ComparePatchLead, class, q.Hash.Distance(r.Hash))
					}
				}
				continue
			}
			for _, c := range fp.Candidates {
				if c.Quality < minQ {
					continue
				}
				rect := [4]int{c.Rect.Min.X, c.Rect.Min.Y, c.Rect.Max.X, c.Rect.Max.Y}
				mt := fingerprint.Match{Variant: pdq.Original.String(), Region: r.Region, Via: c.Kind.String(), Rect: &rect, Rotation: c.Angle}
				dist := c.Hash.Distance(r.Hash)
				switch {
				case c.Kind == fingerprint.CandidateSubImage && r.Region == 0:
					d.record(CompareSubImage, class, dist)
					d.read(CompareSubImage, dist, o.SubImageRadius, m, fp, ci, mt)
				case c.Kind == fingerprint.CandidateWindow && fingerprint.IsCentralRegion(r.Region):
					d.record(CompareRegion, class, dist)
					d.read(CompareRegion, dist, o.RegionRadius, m, fp, ci, mt)
				case c.Kind == fingerprint.CandidateStraightened && r.Region == c.Region:
					d.record(CompareStraightened, class, dist)
					d.read(CompareStraightened, dist, o.RegionRadius, m, fp, ci, mt)
				}
			}
		}
		for _, k := range compareKinds {
			d.pairs[k]++
		}
	}
}

// addLeads records the verification distance of each patch lead an
// unrelated query raised (kindOf names the capture's content kind), but
// for leads to the capture skip.
func (d *distances) addLeads(qkind string, leads []fingerprint.PatchLead, capture func(uint32) fingerprint.Capture, skip string) {
	for _, l := range leads {
		c := capture(l.Capture)
		if skip != "" && (c.ID == skip || c.ID == skip+siblingSuffix) {
			continue
		}
		d.record(ComparePatch, qkind+"/"+c.Kind, l.Distance)
	}
}

// merge adds o's counts to d.
func (d *distances) merge(o *distances) {
	for k, h := range o.hist {
		dh := d.hist[k]
		if dh == nil {
			dh = new([257]int)
			d.hist[k] = dh
		}
		for i, v := range h {
			dh[i] += v
		}
	}
	for k, cs := range o.classes {
		if d.classes[k] == nil {
			d.classes[k] = map[string]*[257]int{}
		}
		for c, h := range cs {
			dh := d.classes[k][c]
			if dh == nil {
				dh = new([257]int)
				d.classes[k][c] = dh
			}
			for i, v := range h {
				dh[i] += v
			}
		}
	}
	for k, v := range o.pairs {
		d.pairs[k] += v
	}
	for k, v := range o.readN {
		d.readN[k] += v
	}
	for k, v := range o.readPass {
		d.readPass[k] += v
	}
}

func (d *distances) summaries() []Comparison {
	var out []Comparison
	for _, k := range compareKinds {
		c := summarise(k, d.hist[k], d.pairs[k])
		c.classes = d.classes[k]
		c.ReadN, c.ReadPass, c.PassRate = d.readN[k], d.readPass[k], 1
		if c.ReadN >= minReadN {
			c.PassRate = float64(c.ReadPass+1) / float64(c.ReadN+1)
		}
		out = append(out, c)
	}
	return out
}

func summarise(kind string, h *[257]int, pairs int) Comparison {
	c := Comparison{Kind: kind, Min: -1}
	var sum, sq float64
	for v, n := range h {
		if n == 0 {
			continue
		}
		if c.Min < 0 {
			c.Min = v
		}
		c.N += n
		sum += float64(v * n)
		sq += float64(v*v) * float64(n)
	}
	if c.N == 0 {
		return c
	}
	if pairs > 0 {
		c.PerPair = float64(c.N) / float64(pairs)
	}
	c.Mean = sum / float64(c.N)
	c.SD = math.Sqrt(math.Max(0, sq/float64(c.N)-c.Mean*c.Mean))
	c.P001, c.P01 = quantile(h, c.N, 0.001), quantile(h, c.N, 0.01)
	// A tail too short to fit stays at zero: JSON has no NaN.
	if mu, sd := tailFit(h, c.N); !math.IsNaN(sd) {
		c.TailMean, c.TailSD = mu, sd
	}
	return c
}

func quantile(h *[257]int, n int, p float64) int {
	need := int(math.Ceil(p * float64(n)))
	acc := 0
	for v, k := range h {
		acc += k
		if acc >= max(need, 1) {
			return v
		}
	}
	return 256
}

// tailFit fits d = mu + sd*z to the points (probit(F(d)), d+0.5) of the
// empirical CDF F where at least 5 comparisons lie at or below d and F(d)
// is at most 0.2: a normal matched to the lower tail, which is what the
// false-match rate depends on, rather than to the bulk.
func tailFit(h *[257]int, n int) (mu, sd float64) {
	var xs, ys []float64
	acc := 0
	for v, k := range h {
		acc += k
		f := float64(acc) / float64(n)
		if acc < 5 || k == 0 {
			continue
		}
		if f > 0.2 {
			break
		}
		xs = append(xs, probit(f))
		ys = append(ys, float64(v)+0.5)
	}
	if len(xs) < 3 {
		return math.NaN(), math.NaN()
	}
	var mx, my float64
	for i := range xs {
		mx += xs[i]
		my += ys[i]
	}
	mx /= float64(len(xs))
	my /= float64(len(xs))
	var sxy, sxx float64
	for i := range xs {
		sxy += (xs[i] - mx) * (ys[i] - my)
		sxx += (xs[i] - mx) * (xs[i] - mx)
	}
	sd = sxy / sxx
	return my - sd*mx, sd
}

func probit(p float64) float64 { return math.Sqrt2 * math.Erfinv(2*p-1) }

// normalCDF is Φ(x).
func normalCDF(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }

// estimate fills each comparison's radius and tail probability and sums
// them into the per-capture and per-query rates for a bank of 10^7.
func estimate(cs []Comparison, o fingerprint.MatchOptions) Estimate {
	radius := map[string]int{
		CompareWhole: o.PDQRadius, CompareRegion: o.RegionRadius,
		CompareSubImage: o.SubImageRadius, CompareStraightened: o.RegionRadius,
		ComparePatchLead: o.PatchRadius, ComparePatch: o.PatchMatchRadius,
	}
	e := Estimate{BankSize: 1e7}
	var region *Comparison
	leadsPerPair := 0.0 // chance patch leads per query-capture pair
	for i := range cs {
		c := &cs[i]
		switch c.Kind {
		case CompareRegion:
			region = c
		case ComparePatchLead:
			// Taken as measured: lookalike patches (a letter of the same
			// font, a repeated texture) are far more common than any
			// fitted normal says.
			if c.N > 0 {
				within := 0
				for _, h := range c.classes {
					for d := 0; d <= radius[c.Kind] && d < len(h); d++ {
						within += h[d]
					}
				}
				leadsPerPair = c.PerPair * float64(within) / float64(c.N)
			}
		}
	}
	e.LeadsPerQuery = leadsPerPair * e.BankSize
	for i := range cs {
		c := &cs[i]
		c.Radius = radius[c.Kind]
		switch {
		case c.Kind == ComparePatch:
			// A verification is the best of PatchPlacements region
			// comparisons: bounded by that many draws from the region
			// comparisons' distribution at the patch radius. (The
			// measured best-placement distances mix searched and
			// unsearched leads, which no normal fits.) Verifications per
			// pair: as measured, but at least what the lead rate implies
			// (a capture gets at most 4), so that a run that happened to
			// raise no lead does not count the route as free.
			if region == nil || region.N == 0 {
				continue
			}
			k := float64(fingerprint.PatchPlacements)
			p, pe, pt, worst, worstExp := tails(region, c.Radius)
			c.PRadius, c.PExp, c.PTail = math.Min(1, k*p), math.Min(1, k*pe), math.Min(1, k*pt)
			c.Worst, c.WorstExp = worst, worstExp
			c.PerPair = math.Max(c.PerPair, math.Min(4, leadsPerPair))
		case c.N == 0:
			continue
		default:
			c.PRadius, c.PExp, c.PTail, c.Worst, c.WorstExp = tails(c, c.Radius)
		}
		if c.Kind == ComparePatchLead {
			continue // leads cost verification time; they are not matches
		}
		// A match within the radius must also pass its reading: taken
		// as independent of the distance, at the rate measured on the
		// closest unrelated comparisons.
		pass := c.PassRate
		if pass == 0 {
			pass = 1
		}
		e.PerCapture += c.PerPair * c.PRadius * pass
		e.PerCaptureTail += c.PerPair * c.PTail * pass
		e.PerCaptureExp += c.PerPair * c.PExp * pass
	}
	e.PerQuery = -math.Expm1(e.BankSize * math.Log1p(-e.PerCapture))
	e.PerQueryTail = -math.Expm1(e.BankSize * math.Log1p(-math.Min(e.PerCaptureTail, 1-1e-16)))
	e.PerQueryExp = -math.Expm1(e.BankSize * math.Log1p(-math.Min(e.PerCaptureExp, 1-1e-16)))
	return e
}

// tails returns the probability that one of c's comparisons is within
// radius: under per-kind normals mixed by frequency (p, worst kind),
// per-kind tail extrapolation (pe, worstExp), and the pooled lower-tail
// normal (pt).
func tails(c *Comparison, radius int) (p, pe, pt float64, worst, worstExp string) {
	if c.TailSD > 0 {
		pt = normalCDF((float64(radius) + 0.5 - c.TailMean) / c.TailSD)
	}
	worstP, worstPE := 0.0, 0.0
	for class, h := range c.classes {
		n, mean, sd := moments(h)
		if n == 0 {
			continue
		}
		q := normalCDF((float64(radius) + 0.5 - mean) / math.Max(sd, 0.5))
		p += float64(n) / float64(c.N) * q
		if q > worstP || worst == "" {
			worstP, worst = q, class
		}
		qe, ok := expTail(h, n, radius)
		if !ok {
			qe = q
		}
		pe += float64(n) / float64(c.N) * qe
		if qe > worstPE || worstExp == "" {
			worstPE, worstExp = qe, class
		}
	}
	return p, pe, pt, worst, worstExp
}

// expTail fits log10 F(d) = a + b*d by least squares over the distances d
// where at least 3 comparisons lie at or below d and F(d) <= 1%, and
// returns F extrapolated to radius+0.5 (never above the smallest measured
// F). It needs 3 such points.
func expTail(h *[257]int, n, radius int) (float64, bool) {
	var xs, ys []float64
	acc := 0
	for v, k := range h {
		acc += k
		f := float64(acc) / float64(n)
		if f > 0.01 {
			break
		}
		if acc < 3 || k == 0 {
			continue
		}
		xs = append(xs, float64(v)+0.5)
		ys = append(ys, math.Log10(f))
	}
	if len(xs) < 3 {
		return 0, false
	}
	var mx, my float64
	for i := range xs {
		mx += xs[i]
		my += ys[i]
	}
	mx /= float64(len(xs))
	my /= float64(len(xs))
	var sxy, sxx float64
	for i := range xs {
		sxy += (xs[i] - mx) * (ys[i] - my)
		sxx += (xs[i] - mx) * (xs[i] - mx)
	}
	if sxx == 0 || sxy <= 0 {
		return 0, false
	}
	b := sxy / sxx
	p := math.Pow(10, my+b*(float64(radius)+0.5-mx))
	return math.Min(p, math.Pow(10, ys[0])), true
}

// moments returns the count, mean and standard deviation of a histogram.
func moments(h *[257]int) (n int, mean, sd float64) {
	var sum, sq float64
	for v, k := range h {
		n += k
		sum += float64(v * k)
		sq += float64(v*v) * float64(k)
	}
	if n == 0 {
		return 0, 0, 0
	}
	mean = sum / float64(n)
	return n, mean, math.Sqrt(math.Max(0, sq/float64(n)-mean*mean))
}

// within counts the measured comparisons at or below each radius.
func (d *distances) within(cs []Comparison) {
	for i := range cs {
		h := d.hist[cs[i].Kind]
		n := 0
		for v := 0; v <= cs[i].Radius && v < len(h); v++ {
			n += h[v]
		}
		cs[i].Within = n
	}
}
