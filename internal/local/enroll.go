package local

import (
	"context"
	"errors"
	"fmt"
	"github.com/leakwatch/leakwatch/fingerprint/feature"
	"os"
	"time"

	"github.com/leakwatch/leakwatch/fingerprint"
	"github.com/leakwatch/leakwatch/fingerprint/pdq"
)

// Enrollment statuses.
const (
	StatusEnrolled   = "enrolled"
	StatusLowQuality = "low_quality" // enrolled, but PDQ quality is below the match threshold
	StatusDuplicate  = "duplicate"   // capture ID already in the bank: skipped
	StatusError      = "error"
)

// EnrollOptions configure Enroll.
type EnrollOptions struct {
	// Kind is the capture kind for files not described by the manifest.
	Kind string
	// Manifest rows override ID, kind, source and metadata per file.
	Manifest []ManifestRow
	Limits   fingerprint.Limits
	Now      func() time.Time
	// NoPatches enrolls no keypoint patches: a bank about 5x smaller,
	// without the uneven-crop route.
	NoPatches bool
	// Features is the number of local features kept per capture (0:
	// fingerprint.DefaultFeatures; negative: none, no feature route).
	Features int
	// Workers hash files in parallel (0: GOMAXPROCS).
	Workers int
}

// EnrollResult reports one file.
type EnrollResult struct {
	Path      string `json:"path"`
	CaptureID string `json:"capture_id,omitempty"`
	Kind      string `json:"kind,omitempty"`
	Status    string `json:"status"`
	PDQ       string `json:"pdq,omitempty"`
	Quality   int    `json:"quality"`
	PHash     string `json:"phash,omitempty"`
	Regions   int    `json:"regions,omitempty"`
	Error     string `json:"error,omitempty"`
}

// EnrollSummary counts results.
type EnrollSummary struct {
	Enrolled, LowQuality, Duplicates, Errors int
}

// ValidKinds are the accepted capture kinds.
var ValidKinds = []string{"face", "plate", "other"}

// CheckKind accepts "" or one of ValidKinds.
func CheckKind(k string) error {
	if k == "" {
		return nil
	}
	for _, v := range ValidKinds {
		if k == v {
			return nil
		}
	}
	return fmt.Errorf("unknown kind %q (want face, plate or other)", k)
}

// Enroll hashes files (and the manifest's files) and adds them to the bank
// at bankPath, creating it if needed. Hashing happens before the bank lock
// is taken, so a long enrollment does not block other writers for long.
func Enroll(ctx context.Context, bankPath string, files []string, opts EnrollOptions, report func(EnrollResult)) (EnrollSummary, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if err := CheckKind(opts.Kind); err != nil {
		return EnrollSummary{}, err
	}
	type job struct {
		path string
		row  *ManifestRow
	}
	var jobs []job
	for i := range opts.Manifest {
		if err := CheckKind(opts.Manifest[i].Kind); err != nil {
			return EnrollSummary{}, fmt.Errorf("manifest %s: %w", opts.Manifest[i].File, err)
		}
		jobs = append(jobs, job{opts.Manifest[i].File, &opts.Manifest[i]})
	}
	for _, f := range files {
		jobs = append(jobs, job{path: f})
	}
	if len(jobs) == 0 {
		return EnrollSummary{}, errors.New("no image files to enroll")
	}
	var sum EnrollSummary
	var pending []fingerprint.Enrollment
	var pendingRes []EnrollResult
	// Capture IDs are assigned in order first, so that a repeated ID is
	// reported against the same file whatever the hashing order.
	type item struct {
		path    string
		res     EnrollResult
		capture fingerprint.Capture
	}
	var items []item
	ids := map[string]string{}
	for _, j := range jobs {
		res := EnrollResult{Path: j.path, CaptureID: CaptureID(j.path), Kind: opts.Kind}
		c := fingerprint.Capture{ID: res.CaptureID, Kind: opts.Kind, EnrolledAt: opts.Now().UTC()}
		if j.row != nil {
			c.ID, c.Source, c.Meta = j.row.CaptureID, j.row.Source, j.row.Meta
			if j.row.Kind != "" {
				c.Kind = j.row.Kind
			}
			res.CaptureID, res.Kind = c.ID, c.Kind
		}
		if prev, dup := ids[c.ID]; dup {
			res.Status, res.Error = StatusError, fmt.Sprintf("capture ID %q also used by %s", c.ID, prev)
			sum.Errors++
			report(res)
			continue
		}
		ids[c.ID] = j.path
		items = append(items, item{j.path, res, c})
	}
	type hashed struct {
		e   fingerprint.Enrollment
		err error
	}
	// Files are decoded and hashed on every core, one decode per core.
	err := inOrder(ctx, len(items), opts.Workers, func(ctx context.Context, i int) hashed {
		e, err := hashFile(ctx, items[i].path, opts.Limits)
		return hashed{e, err}
	}, func(i int, h hashed) {
		res, e, err := items[i].res, h.e, h.err
		if opts.NoPatches {
			e = e.WithoutPatches()
		}
		switch {
		case opts.Features < 0:
			e.Features = feature.CaptureSet{}
		case opts.Features > 0 && opts.Features < len(e.Features.Features):
			// Enrollment keeps features in order of priority.
			e.Features.Features = e.Features.Features[:opts.Features]
		}
		if err != nil {
			res.Status, res.Error = StatusError, err.Error()
			sum.Errors++
			report(res)
			return
		}
		e.Capture = items[i].capture
		res.PDQ, res.Quality, res.PHash, res.Regions = e.PDQ[0].Hash.Hex(), e.PDQ[0].Quality, e.PHash.Hex(), len(e.PDQ)-1
		pending = append(pending, e)
		pendingRes = append(pendingRes, res)
	})
	if err != nil {
		return sum, err
	}
	err = fingerprint.UpdateBank(bankPath, func(b *fingerprint.Bank) error {
		for i, e := range pending {
			res := &pendingRes[i]
			switch err := b.Add(e); {
			case errors.Is(err, fingerprint.ErrDuplicate):
				res.Status = StatusDuplicate
				sum.Duplicates++
			case err != nil:
				res.Status, res.Error = StatusError, err.Error()
				sum.Errors++
			case res.Quality < pdq.MinQuality:
				res.Status = StatusLowQuality
				sum.LowQuality++
			default:
				res.Status = StatusEnrolled
				sum.Enrolled++
			}
		}
		return nil
	})
	if err != nil {
		return sum, err
	}
	for _, r := range pendingRes {
		report(r)
	}
	return sum, nil
}

func hashFile(ctx context.Context, path string, lim fingerprint.Limits) (fingerprint.Enrollment, error) {
	f, err := os.Open(path)
	if err != nil {
		return fingerprint.Enrollment{}, err
	}
	defer f.Close()
	d, err := fingerprint.DecodeContext(ctx, f, lim, fingerprint.ForEnroll())
	if err != nil {
		return fingerprint.Enrollment{}, err
	}
	return fingerprint.EnrollImage(d.Image)
}
