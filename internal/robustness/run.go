package robustness

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/leakwatch/leakwatch/fingerprint"
)

// Options configures a run.
type Options struct {
	// Seed drives every generator and randomised transform.
	Seed uint64
	// N is the number of captures per content kind (photos: at most the
	// number embedded); also the number of unrelated images per kind.
	N int
	// HardNegatives is the number of other photographs of each enrolled
	// face and plate queried as hard negatives.
	HardNegatives int
	// Extras adds the crops beyond transform.Suite (crop15, crop20, rot3,
	// cropuneven).
	Extras bool
	// Families adds the edit families (rotation keeping the canvas,
	// mirror with crops, perspective, deep crops, overlays, heavy text,
	// tone filters, screen photo, layouts, combinations, aspect-ratio
	// changes).
	Families bool
	// Kinds restricts the enrolled captures to these content kinds
	// (default: all; see CaptureKinds). Unrelated queries are not
	// restricted.
	Kinds []string
	// Only restricts the query transforms to these names or family
	// groups (default: all).
	Only []string
	// Match is the policy under test (zero value: DefaultMatchOptions).
	Match *fingerprint.MatchOptions
	// Workers bounds concurrency (default 1).
	Workers int
	// Logger receives progress (default: discard).
	Logger *slog.Logger
}

// Row is the outcome for one transform.
type Row struct {
	Transform string  `json:"transform"`
	Target    float64 `json:"target,omitempty"`
	Extra     bool    `json:"extra,omitempty"`
	// Group is the family group of an edit family; Heldout marks a
	// family kept out of tuning.
	Group   string `json:"group,omitempty"`
	Heldout bool   `json:"heldout,omitempty"`
	Queries int    `json:"queries"`
	Matched int    `json:"matched"`
	// Wrong counts queries that matched a capture other than their own.
	Wrong      int     `json:"wrong"`
	Unhashable int     `json:"unhashable"`
	Recall     float64 `json:"recall"`
	// Via counts the matched queries by the part that matched ("whole",
	// "region", "subimage", "window", "straightened").
	Via map[string]int `json:"via"`
	// Missed lists the captures not found.
	Missed []string `json:"missed,omitempty"`
	// Confused lists the wrong matches as "query capture -> matched
	// capture (route)".
	Confused []string `json:"confused,omitempty"`
	// MaxDistance is the largest distance at which a query found its
	// capture.
	MaxDistance int `json:"max_distance"`
	// Reviewed counts the queries that did not find their capture but
	// listed it for review (fingerprint.MatchStats.Review).
	Reviewed int `json:"reviewed"`
	// ReviewedOther counts the queries that listed another capture for
	// review, found or not: a look-alike, or the same subject in another
	// picture, which is not a copy of that capture.
	ReviewedOther int `json:"reviewed_other"`
}

// KindRecall is the recall on one content kind of capture, for the
// earlier suite and for the edit families (tuned and held out together):
// where the misses are.
type KindRecall struct {
	Kind          string `json:"kind"`
	Queries       int    `json:"queries"`
	Matched       int    `json:"matched"`
	FamilyQueries int    `json:"family_queries"`
	FamilyMatched int    `json:"family_matched"`
}

// TrueDistances summarises the distances at which queries found their own
// capture, per part of the query that matched: the margin left below each
// radius.
type TrueDistances struct {
	Via string `json:"via"`
	N   int    `json:"n"`
	P50 int    `json:"p50"`
	P95 int    `json:"p95"`
	Max int    `json:"max"`
}

// Negatives summarises the unrelated queries.
type Negatives struct {
	Queries int `json:"queries"`
	// HardNegatives counts the hard negatives among Queries: other
	// photographs of an enrolled person or plate and other frames of an
	// enrolled capture's camera.
	HardNegatives int      `json:"hard_negatives"`
	Unhashable    int      `json:"unhashable"`
	FalseMatches  int      `json:"false_matches"`
	Examples      []string `json:"examples,omitempty"`
	// Groups splits the counts: plain unrelated images, other shots of
	// the same person or plate, other frames of one camera template.
	Groups []NegativeGroup `json:"groups"`
}

// NegativeGroup counts one group of unrelated queries. FalseMatches
// counts matches (a query may match several captures); Queries that
// matched anything are MatchedQueries.
type NegativeGroup struct {
	Name           string `json:"name"`
	Queries        int    `json:"queries"`
	Unhashable     int    `json:"unhashable"`
	MatchedQueries int    `json:"matched_queries"`
	FalseMatches   int    `json:"false_matches"`
	// Reviewed counts the queries that listed any capture for review.
	Reviewed int `json:"reviewed"`
}

// Names of the negative groups.
const (
	NegUnrelated    = "unrelated"
	NegSameSubject  = "same person or plate"
	NegSameTemplate = "same camera template"
)

// negativeGroup names the group of an unrelated query's kind.
func negativeGroup(kind string) string {
	switch kind {
	case kindRetakeFace, kindRetakePlate:
		return NegSameSubject
	case kindTemplateCheckpoint, kindTemplateBooth:
		return NegSameTemplate
	}
	return NegUnrelated
}

// Report is the result of a run.
type Report struct {
	Seed      uint64                   `json:"seed"`
	N         int                      `json:"n"`
	Captures  int                      `json:"captures"`
	BankStats BankCost                 `json:"bank"`
	Rows      []Row                    `json:"rows"`
	Kinds     []KindRecall             `json:"kinds"`
	Negatives Negatives                `json:"negatives"`
	Distances []Comparison             `json:"distances"`
	True      []TrueDistances          `json:"true_match_distances"`
	Estimate  Estimate                 `json:"estimate"`
	Elapsed   time.Duration            `json:"elapsed_ns"`
	Policy    fingerprint.MatchOptions `json:"policy"`
}

// BankCost is what the enrolled regions cost.
type BankCost struct {
	PDQHashes         int     `json:"pdq_hashes"`
	HashesPerCapture  float64 `json:"hashes_per_capture"`
	LowQualityRegions int     `json:"low_quality_regions_skipped"`
}

// Run generates the suite, enrolls, queries and reports. It stops early
// when ctx is cancelled.
func Run(ctx context.Context, o Options) (Report, error) {
	start := time.Now()
	if o.N <= 0 {
		return Report{}, errors.New("robustness: N must be positive")
	}
	if o.Workers <= 0 {
		o.Workers = 1
	}
	for _, k := range o.Kinds {
		if !slices.Contains(captureKinds, k) {
			return Report{}, fmt.Errorf("robustness: unknown capture kind %q (known: %v)", k, captureKinds)
		}
	}
	if len(selected(transforms(0, o.Extras, o.Families, nil), o.Only)) == 0 {
		return Report{}, fmt.Errorf("robustness: no transform named or grouped as %v (with --extras %v, --families %v)", o.Only, o.Extras, o.Families)
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	policy := fingerprint.DefaultMatchOptions()
	if o.Match != nil {
		policy = *o.Match
	}
	rep := Report{Seed: o.Seed, N: o.N, Policy: policy}

	caps := captures(o.Seed, o.N, o.Kinds)
	bank := fingerprint.NewBank()
	// A fixed camera's captures are enrolled together: each camera capture
	// comes with a sibling frame of the same camera, which is never
	// queried, as a bank holds every capture of a camera.
	toEnroll := append(slices.Clone(caps), siblings(caps)...)
	enrolled := make([]fingerprint.Enrollment, len(toEnroll))
	err := parallel(ctx, o.Workers, len(toEnroll), func(i int) error {
		caps := toEnroll
		e, err := fingerprint.EnrollImage(caps[i].img())
		if err != nil {
			return fmt.Errorf("enroll %s: %w", caps[i].id, err)
		}
		e.Capture = fingerprint.Capture{ID: caps[i].id, Kind: caps[i].kind}
		enrolled[i] = e
		return nil
	})
	if err != nil {
		return rep, err
	}
	for _, e := range enrolled {
		if err := bank.Add(e); err != nil {
			return rep, err
		}
		rep.BankStats.PDQHashes += len(e.PDQ)
		regions := 0
		for _, h := range e.PDQ {
			if h.Region != fingerprint.RegionPatch {
				regions++
			}
		}
		rep.BankStats.LowQualityRegions += fingerprint.RegionCount + 1 - regions
	}
	rep.Captures = len(caps)
	rep.BankStats.HashesPerCapture = float64(rep.BankStats.PDQHashes) / float64(len(toEnroll))
	bank.BuildIndex()
	m := fingerprint.NewMatcher(bank, policy)
	log.Info("enrolled", "captures", len(caps), "pdq_hashes", rep.BankStats.PDQHashes)

	// Positive queries: every transform of every capture.
	var fill []image.Image
	if o.Families {
		fill = fillers(o.Seed)
	}
	specs := selected(transforms(0, o.Extras, o.Families, fill), o.Only)
	rows := make([]Row, len(specs))
	for j, s := range specs {
		rows[j] = Row{Transform: s.name, Target: float64(s.target), Extra: s.extra, Group: s.group, Heldout: s.heldout, Via: map[string]int{}}
	}
	var mu sync.Mutex
	kinds := map[string]*KindRecall{}
	trueHists := map[string]*[257]int{}
	trueHist := func(v string) *[257]int {
		if trueHists[v] == nil {
			trueHists[v] = new([257]int)
		}
		return trueHists[v]
	}
	err = parallel(ctx, o.Workers, len(caps), func(i int) error {
		c := caps[i]
		// Generated again rather than kept from enrollment, so that memory
		// does not grow with N.
		img := c.img()
		for j, s := range selected(transforms(mix(o.Seed, streamTransform, uint64(c.index)), o.Extras, o.Families, fill), o.Only) {
			if err := ctx.Err(); err != nil {
				return err
			}
			fp, err := fingerprint.Compute(s.fn(img))
			var ms []fingerprint.Match
			var stats fingerprint.MatchStats
			if err == nil {
				ms, stats, err = m.MatchStats(fp)
			}
			mu.Lock()
			r := &rows[j]
			r.Queries++
			k := kinds[c.kind]
			if k == nil {
				k = &KindRecall{Kind: c.kind}
				kinds[c.kind] = k
			}
			family := r.Group != ""
			if family {
				k.FamilyQueries++
			} else {
				k.Queries++
			}
			switch {
			case errors.Is(err, fingerprint.ErrLowQuality):
				r.Unhashable++
				r.Missed = append(r.Missed, c.id)
			case err != nil:
				mu.Unlock()
				return fmt.Errorf("%s/%s: %w", c.id, s.name, err)
			default:
				own, other := reviews(c.id, stats.Review)
				if other {
					r.ReviewedOther++
				}
				found := false
				for _, mt := range ms {
					if mt.CaptureID == c.id {
						found = true
						r.Via[via(mt)]++
						if mt.Distance >= 0 { // the feature route has inliers, not a distance
							r.MaxDistance = max(r.MaxDistance, mt.Distance)
							trueHist(via(mt))[mt.Distance]++
						}
					} else {
						r.Wrong++
						r.Confused = append(r.Confused, fmt.Sprintf("%s -> %s (%s)", c.id, mt.CaptureID, via(mt)))
					}
				}
				if found {
					r.Matched++
					if family {
						k.FamilyMatched++
					} else {
						k.Matched++
					}
				} else {
					r.Missed = append(r.Missed, c.id)
					if own {
						r.Reviewed++
					}
				}
			}
			mu.Unlock()
		}
		log.Debug("queried", "capture", c.id)
		return nil
	})
	if err != nil {
		return rep, err
	}
	for i := range rows {
		slices.Sort(rows[i].Missed)
		slices.Sort(rows[i].Confused)
		if rows[i].Queries > 0 {
			rows[i].Recall = float64(rows[i].Matched) / float64(rows[i].Queries)
		}
	}
	rep.Rows = rows
	for _, kind := range captureKinds {
		if k := kinds[kind]; k != nil {
			rep.Kinds = append(rep.Kinds, *k)
		}
	}
	for _, v := range []string{"whole", "region", "window", "straightened", "subimage", "patch"} {
		if h := trueHists[v]; h != nil {
			t := TrueDistances{Via: v}
			n, _, _ := moments(h)
			t.N, t.P50, t.P95 = n, quantile(h, n, 0.5), quantile(h, n, 0.95)
			for d, k := range h {
				if k > 0 {
					t.Max = d
				}
			}
			rep.True = append(rep.True, t)
		}
	}

	// Negative queries, and the distances they have to every enrolled hash.
	photosEnrolled := 0
	for _, c := range caps {
		if c.kind == "photo" {
			photosEnrolled++
		}
	}
	negs := unrelated(o.Seed, o.N, photosEnrolled, o.HardNegatives, caps)
	dist := newDistances()
	groups := map[string]*NegativeGroup{}
	for _, g := range []string{NegUnrelated, NegSameSubject, NegSameTemplate} {
		groups[g] = &NegativeGroup{Name: g}
	}
	err = parallel(ctx, o.Workers, len(negs), func(i int) error {
		u := negs[i]
		fp, err := fingerprint.Compute(u.img())
		var ms []fingerprint.Match
		var stats fingerprint.MatchStats
		if err == nil {
			ms, stats, err = m.MatchStats(fp)
		}
		// This query's comparisons, read outside the lock (each reading
		// describes the query's features) and merged under it.
		var own *distances
		if err == nil {
			// A frame of an enrolled capture's camera resembles that one
			// capture, not the bank: its pair with it is left out of the
			// model extrapolated to 10^7 captures (its false matches are
			// counted below); its pairs with every other capture are in.
			own = newDistances()
			own.add(u.kind, fp, enrolled, m, policy, u.sameCamera)
			own.addLeads(u.kind, m.PatchLeads(fp), bank.Capture, u.sameCamera)
		}
		mu.Lock()
		defer mu.Unlock()
		n := &rep.Negatives
		g := groups[negativeGroup(u.kind)]
		n.Queries++
		g.Queries++
		if g.Name != NegUnrelated {
			n.HardNegatives++
		}
		switch {
		case errors.Is(err, fingerprint.ErrLowQuality):
			n.Unhashable++
			g.Unhashable++
		case err != nil:
			return fmt.Errorf("%s: %w", u.id, err)
		case len(ms) > 0:
			n.FalseMatches += len(ms)
			g.FalseMatches += len(ms)
			g.MatchedQueries++
			for _, mt := range ms {
				n.Examples = append(n.Examples, fmt.Sprintf("%s -> %s (%s)", u.id, mt.CaptureID, evidence(mt)))
			}
		}
		if len(stats.Review) > 0 {
			g.Reviewed++
		}
		if own != nil {
			dist.merge(own)
		}
		return nil
	})
	if err != nil {
		return rep, err
	}
	slices.Sort(rep.Negatives.Examples)
	for _, g := range []string{NegUnrelated, NegSameSubject, NegSameTemplate} {
		rep.Negatives.Groups = append(rep.Negatives.Groups, *groups[g])
	}
	rep.Distances = dist.summaries()
	rep.Estimate = estimate(rep.Distances, policy)
	dist.within(rep.Distances)
	rep.Elapsed = time.Since(start)
	return rep, nil
}

// reviews reports whether a query of capture id listed its own capture
// for review, and whether it listed another.
func reviews(id string, review []fingerprint.Match) (own, other bool) {
	for _, m := range review {
		if m.CaptureID == id {
			own = true
		} else {
			other = true
		}
	}
	return own, other
}

// via names how a match was made.
func via(m fingerprint.Match) string {
	switch {
	case m.Via != "":
		return m.Via
	case m.Region != 0:
		return "region"
	}
	return "whole"
}

// parallel runs fn(0..n-1) on at most workers goroutines and returns the
// first error; it stops handing out work once ctx is done or fn failed.
func parallel(ctx context.Context, workers, n int, fn func(i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(i); err != nil {
					cancel(err)
				}
			}
		}()
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	return context.Cause(ctx)
}

// evidence says why a match was made: the distance of a hash, or the
// inliers, NFA and site reading of a feature match.
func evidence(m fingerprint.Match) string {
	if m.Algorithm != fingerprint.AlgoFeatures {
		return fmt.Sprintf("%s, distance %d", via(m), m.Distance)
	}
	s := fmt.Sprintf("%s, %d inliers, log10 NFA %.1f", via(m), m.Inliers, m.LogNFA)
	if m.SitesRead > 0 {
		s += fmt.Sprintf(", %d of %d sites agree", m.SitesAgree, m.SitesRead)
	}
	return s
}
