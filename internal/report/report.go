package report

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/leakwatch/leakwatch/fingerprint"
	"github.com/leakwatch/leakwatch/internal/metrics"
	"github.com/leakwatch/leakwatch/internal/outbox"
	"github.com/leakwatch/leakwatch/internal/store"
)

// Message types: the "type" of each JSON line.
const (
	TypeFinding = "finding"
	TypeError   = "error"
	TypeSummary = "summary"
	TypeSkipped = "skipped"
	TypeReview  = "review"
)

// Writer renders a run's messages as they happen. Implementations are safe
// for concurrent use: a scan reports findings from several goroutines.
type Writer interface {
	Finding(Finding) error
	Error(Problem) error
	Finished(Finished) error
	Skipped(Skipped) error
}

// FileWriter renders the match command's results, one local file at a time.
type FileWriter interface {
	FileMatch(FileMatch) error
}

// Finding is one matched capture at one place, and the incident that now
// records it.
type Finding struct {
	store.Evidence
	IncidentID string `json:"incident_id"`
}

// Review is a capture left for review at one place (README, Match policy,
// "For review"): no match, no incident, no alert; the feature route's
// evidence for a person to judge.
type Review struct {
	URL         string `json:"url"`
	Page        string `json:"page,omitempty"`
	ArchivePath string `json:"archive_path,omitempty"`
	SHA256      string `json:"sha256"`
	fingerprint.Match
}

// Problem is one counted, non-fatal error: an item the run could not
// process, with a stable reason label.
type Problem struct {
	URL    string `json:"url"`
	Reason string `json:"reason"`
	Err    string `json:"error"`
}

// Summary counts what a run did; it is also stored with the run.
type Summary struct {
	RunID      int64 `json:"run_id"`
	Pages      int64 `json:"pages"`
	Unchanged  int64 `json:"unchanged"`
	Assets     int64 `json:"assets"`
	Images     int64 `json:"images"`
	Hashed     int64 `json:"hashed"`
	Cached     int64 `json:"cached"`
	Unhashable int64 `json:"unhashable"`
	// PatchLimited counts images whose patch leads outran the
	// verification budget (fingerprint.MatchStats): a copy among the
	// leads left unchecked may have been missed.
	PatchLimited int64 `json:"patch_limited"`
	// FeatureLimited counts images with more plausible feature models
	// than the reading budget (fingerprint.MatchStats.FeatureUnread).
	FeatureLimited int64 `json:"feature_limited"`
	// HashLimited counts images with more hash matches than the
	// readings that check them (fingerprint.MatchStats.HashUnread).
	HashLimited int64 `json:"hash_limited"`
	Matches     int64 `json:"matches"`
	// Reviewed counts images (or frames, or archive members) holding
	// captures left for review (fingerprint.MatchStats.Review), each
	// logged with its evidence.
	Reviewed int64 `json:"reviewed"`
	// Silenced counts matches left out because their (capture, file)
	// pair was dismissed or is in the baseline.
	Silenced    int64            `json:"silenced,omitempty"`
	Errors      int64            `json:"errors"`
	ErrorsBy    map[string]int64 `json:"errors_by_reason"`
	Incidents   []IncidentChange `json:"incidents"`
	Interrupted bool             `json:"interrupted,omitempty"`
	Duration    time.Duration    `json:"duration_ns"`
}

// IncidentChange summarises what a run did to one incident.
type IncidentChange struct {
	ID          string   `json:"id"`
	Source      string   `json:"source"`
	Created     bool     `json:"created"`
	NewCaptures []string `json:"new_captures"`
	Event       string   `json:"event,omitempty"`
}

// Changed counts incidents the run created, grew or re-opened: the ones
// that produced an alert event.
func (s Summary) Changed() int {
	n := 0
	for _, c := range s.Incidents {
		if c.Event != "" {
			n++
		}
	}
	return n
}

// NewIncidents counts incidents created by the run.
func (s Summary) NewIncidents() int {
	n := 0
	for _, c := range s.Incidents {
		if c.Created {
			n++
		}
	}
	return n
}

// Finished ends a run's output (the "summary" message). A scan sets
// Alerts, the deliveries made while it ran; a watcher sets Status, its
// verdict on the run (metrics.StatusOK and the like), and Err when the run
// failed.
type Finished struct {
	Status string `json:"status,omitempty"`
	Err    string `json:"error,omitempty"`
	Summary
	Alerts *outbox.Result `json:"alerts,omitempty"`
}

// Lines describes the run for a person, one line per fact: the counters,
// a warning about unverified patch leads, each incident touched, and the
// alerts sent.
func (f Finished) Lines() []string {
	if f.Err != "" && f.Status == metrics.StatusFailed {
		return []string{"run failed: " + f.Err}
	}
	sum := f.Summary
	reasons := make([]string, 0, len(sum.ErrorsBy))
	for r, n := range sum.ErrorsBy {
		reasons = append(reasons, fmt.Sprintf("%s=%d", r, n))
	}
	sort.Strings(reasons)
	out := []string{fmt.Sprintf("scanned %d pages, %d assets, %d images (%d hashed, %d cached, %d unhashable); %d matches; %d errors %s",
		sum.Pages, sum.Assets, sum.Images, sum.Hashed, sum.Cached, sum.Unhashable, sum.Matches, sum.Errors, strings.Join(reasons, " "))}
	if sum.Silenced > 0 {
		out = append(out, fmt.Sprintf("%d matches silenced (dismissed as false positives or in the baseline)", sum.Silenced))
	}
	if sum.PatchLimited > 0 {
		out = append(out, fmt.Sprintf("%d images raised more patch leads than the verification budget: an uneven crop among them may have been missed (README, Match policy)", sum.PatchLimited))
	}
	if sum.FeatureLimited > 0 {
		out = append(out, fmt.Sprintf("%d images had more plausible feature matches than the reading budget: a degraded copy among them may have been missed (raise --max-feature-reads; README, Match policy)", sum.FeatureLimited))
	}
	if sum.Reviewed > 0 {
		out = append(out, fmt.Sprintf("%d images place a capture's features as a match would, but too few read as enrolled there for a match: each is logged \"for review, not a match\" (README, Match policy)", sum.Reviewed))
	}
	if sum.HashLimited > 0 {
		out = append(out, fmt.Sprintf("%d images matched more captures by hash than could be checked by reading: a look-alike among them may be reported (README, Match policy)", sum.HashLimited))
	}
	for _, c := range sum.Incidents {
		state := "updated"
		if c.Created {
			state = "new"
		} else if len(c.NewCaptures) == 0 {
			state = "seen again"
		}
		out = append(out, fmt.Sprintf("incident %s (%s) %s: %d new captures: %s", c.ID, c.Source, state, len(c.NewCaptures), strings.Join(c.NewCaptures, ", ")))
	}
	if d := f.Alerts; d != nil && d.Delivered+d.Retrying+d.GaveUp > 0 {
		out = append(out, fmt.Sprintf("alerts: %d delivered, %d to retry, %d given up", d.Delivered, d.Retrying, d.GaveUp))
	}
	return out
}

// FileMatch is the match command's result for one local file: the
// captures it matches (an empty list when none), or why it could not be
// matched.
type FileMatch struct {
	Path    string              `json:"path"`
	Matches []fingerprint.Match `json:"matches"`
	// Review lists captures the file is not matched with, but whose
	// features place them in it as significantly as a match's would,
	// where too few of them read as enrolled for a match and at least
	// half do (fingerprint.MatchStats.Review): for a person to look at.
	Review     []fingerprint.Match `json:"review,omitempty"`
	Unhashable bool                `json:"unhashable,omitempty"`
	Quality    int                 `json:"quality"`
	Error      string              `json:"error,omitempty"`
}

// Skipped says a scheduled run did not start, and why ("locked": another
// run held the store).
type Skipped struct {
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}
