package robustness

import (
	"context"
	"errors"
	"fmt"
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
	Queries   int     `json:"queries"`
	Matched   int     `json:"matched"`
	// Wrong counts queries that matched a capture other than their own.
	Wrong      int     `json:"wrong"`
	Unhashable int     `json:"unhashable"`
	Recall     float64 `json:"recall"`
	// Via counts the matched queries by the part that matched ("whole",
	// "region", "subimage", "window", "straightened").
	Via map[string]int `json:"via"`
	// Missed lists the captures not found.
	Missed []string `json:"missed,omitempty"`
	// MaxDistance is the largest distance at which a query found its
	// capture.
	MaxDistance int `json:"max_distance"`
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
	Queries       int      `json:"queries"`
	HardNegatives int      `json:"hard_negatives"`
	Unhashable    int      `json:"unhashable"`
	FalseMatches  int      `json:"false_matches"`
	Examples      []string `json:"examples,omitempty"`
}

// Report is the result of a run.
type Report struct {
	Seed      uint64                   `json:"seed"`
	N         int                      `json:"n"`
	Captures  int                      `json:"captures"`
	BankStats BankCost                 `json:"bank"`
	Rows      []Row                    `json:"rows"`
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
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	policy := fingerprint.DefaultMatchOptions()
	if o.Match != nil {
		policy = *o.Match
	}
	rep := Report{Seed: o.Seed, N: o.N, Policy: policy}

	caps := captures(o.Seed, o.N)
	bank := fingerprint.NewBank()
	enrolled := make([]fingerprint.Enrollment, len(caps))
	err := parallel(ctx, o.Workers, len(caps), func(i int) error {
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
		rep.BankStats.LowQualityRegions += fingerprint.RegionCount + 1 - len(e.PDQ)
	}
	rep.Captures = len(caps)
	rep.BankStats.HashesPerCapture = float64(rep.BankStats.PDQHashes) / float64(len(caps))
	bank.BuildIndex()
	m := fingerprint.NewMatcher(bank, policy)
	log.Info("enrolled", "captures", len(caps), "pdq_hashes", rep.BankStats.PDQHashes)

	// Positive queries: every transform of every capture.
	specs := transforms(0, o.Extras)
	rows := make([]Row, len(specs))
	for j, s := range specs {
		rows[j] = Row{Transform: s.name, Target: float64(s.target), Extra: s.extra, Via: map[string]int{}}
	}
	var mu sync.Mutex
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
		for j, s := range transforms(mix(o.Seed, streamTransform, uint64(i)), o.Extras) {
			if err := ctx.Err(); err != nil {
				return err
			}
			fp, err := fingerprint.Compute(s.fn(img))
			var ms []fingerprint.Match
			if err == nil {
				ms, err = m.Match(fp)
			}
			mu.Lock()
			r := &rows[j]
			r.Queries++
			switch {
			case errors.Is(err, fingerprint.ErrLowQuality):
				r.Unhashable++
				r.Missed = append(r.Missed, c.id)
			case err != nil:
				mu.Unlock()
				return fmt.Errorf("%s/%s: %w", c.id, s.name, err)
			default:
				found := false
				for _, mt := range ms {
					if mt.CaptureID == c.id {
						found = true
						r.Via[via(mt)]++
						r.MaxDistance = max(r.MaxDistance, mt.Distance)
						trueHist(via(mt))[mt.Distance]++
					} else {
						r.Wrong++
					}
				}
				if found {
					r.Matched++
				} else {
					r.Missed = append(r.Missed, c.id)
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
		if rows[i].Queries > 0 {
			rows[i].Recall = float64(rows[i].Matched) / float64(rows[i].Queries)
		}
	}
	rep.Rows = rows
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
	err = parallel(ctx, o.Workers, len(negs), func(i int) error {
		u := negs[i]
		fp, err := fingerprint.Compute(u.img())
		var ms []fingerprint.Match
		if err == nil {
			ms, err = m.Match(fp)
		}
		mu.Lock()
		defer mu.Unlock()
		n := &rep.Negatives
		n.Queries++
		if u.kind == "hardneg-face" || u.kind == "hardneg-plate" {
			n.HardNegatives++
		}
		switch {
		case errors.Is(err, fingerprint.ErrLowQuality):
			n.Unhashable++
		case err != nil:
			return fmt.Errorf("%s: %w", u.id, err)
		case len(ms) > 0:
			n.FalseMatches += len(ms)
			for _, mt := range ms {
				n.Examples = append(n.Examples, fmt.Sprintf("%s -> %s (%s, distance %d)", u.id, mt.CaptureID, via(mt), mt.Distance))
			}
		}
		if err == nil {
			dist.add(u.kind, fp, enrolled, policy.MinQuality)
			dist.addLeads(u.kind, m.PatchLeads(fp), func(ci uint32) string { return bank.Capture(ci).Kind })
		}
		return nil
	})
	if err != nil {
		return rep, err
	}
	slices.Sort(rep.Negatives.Examples)
	rep.Distances = dist.summaries()
	rep.Estimate = estimate(rep.Distances, policy)
	dist.within(rep.Distances)
	rep.Elapsed = time.Since(start)
	return rep, nil
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
