package report

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/leakwatch/leakwatch/fingerprint"
	"github.com/leakwatch/leakwatch/internal/attribution"
	"github.com/leakwatch/leakwatch/internal/store"
)

// IncidentSource is what an incident report reads from a store.
type IncidentSource interface {
	Incidents(ctx context.Context, status string) ([]store.Incident, error)
	Events(ctx context.Context, incidentID string) ([]store.Event, error)
}

// Filters choose the incidents a report covers; the report prints them.
type Filters struct {
	// Status keeps incidents with this status ("" for all).
	Status string `json:"status,omitempty"`
	// Since keeps incidents last seen at or after it (zero for all).
	Since time.Time `json:"since,omitzero"`
	// Incidents keeps incidents whose ID starts with one of these.
	Incidents []string `json:"incidents,omitempty"`
}

// Describe says in words which incidents the filters keep.
func (f Filters) Describe() string {
	var parts []string
	if f.Status != "" {
		parts = append(parts, "status "+f.Status)
	}
	if !f.Since.IsZero() {
		parts = append(parts, "last seen since "+f.Since.UTC().Format(time.RFC3339))
	}
	if len(f.Incidents) > 0 {
		parts = append(parts, "incidents "+strings.Join(f.Incidents, ", "))
	}
	if len(parts) == 0 {
		return "all incidents"
	}
	return strings.Join(parts, "; ")
}

func (f Filters) keep(inc store.Incident) bool {
	if !f.Since.IsZero() && inc.LastSeen.Before(f.Since) {
		return false
	}
	if len(f.Incidents) == 0 {
		return true
	}
	for _, p := range f.Incidents {
		if strings.HasPrefix(inc.ID, p) {
			return true
		}
	}
	return false
}

// Document is an incident report: everything the people who act on a leak
// need, rendered by WriteHTML, WriteDocumentJSON or WriteDocumentCSV.
type Document struct {
	Generated time.Time `json:"generated"`
	// Store and Bank name where the data came from (paths, for the record).
	Store     string         `json:"store,omitempty"`
	Bank      string         `json:"bank,omitempty"`
	Filters   Filters        `json:"filters"`
	Totals    Totals         `json:"totals"`
	Incidents []IncidentView `json:"incidents"`
	// Evidence is the evidence folder thumbnails came from, if any.
	Evidence string `json:"evidence,omitempty"`
}

// Totals count what the report covers.
type Totals struct {
	Incidents int            `json:"incidents"`
	ByStatus  map[string]int `json:"by_status"`
	Captures  int            `json:"captures"`
	Copies    int            `json:"copies"`
	Files     int            `json:"files"`
}

// IncidentView is one incident (one leak source) as reported.
type IncidentView struct {
	ID        string        `json:"id"`
	Source    string        `json:"source"`
	Status    string        `json:"status"`
	FirstSeen time.Time     `json:"first_seen"`
	LastSeen  time.Time     `json:"last_seen"`
	UpdatedAt time.Time     `json:"updated_at"`
	Timeline  []Step        `json:"timeline"`
	Captures  []CaptureView `json:"captures"`
	Matches   []MatchView   `json:"matches"`
	// Canaries and Attribution are the store's (absent while the ledger
	// is empty): canaries are not among the affected captures.
	Canaries    []string            `json:"canaries,omitempty"`
	Attribution *attribution.Result `json:"attribution,omitempty"`
}

// Step is one dated entry in an incident's timeline.
type Step struct {
	At   time.Time `json:"at"`
	What string    `json:"what"`
	// Detail adds the captures announced and where the alert was delivered.
	Detail string `json:"detail,omitempty"`
}

// CaptureView is one affected capture with what the bank knows of it (the
// manifest's kind, source and metadata columns).
type CaptureView struct {
	ID         string            `json:"capture_id"`
	Kind       string            `json:"kind"`
	Source     string            `json:"source,omitempty"`
	EnrolledAt time.Time         `json:"enrolled_at,omitzero"`
	Meta       map[string]string `json:"meta,omitempty"`
	// InBank is false when the report had no bank, or the bank no longer
	// holds the capture.
	InBank    bool      `json:"in_bank"`
	Copies    int       `json:"copies"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
}

// MatchView is the evidence of one copy: where it is, what it is and how
// it matched.
type MatchView struct {
	store.Match
	// Thumbnail is a small JPEG of the leaked copy, only when the report
	// was given the evidence folder and the identity to decrypt it.
	Thumbnail []byte `json:"-"`
}

// Route says how a copy matched, for a person: the algorithm and the
// part of the copy that matched.
func (m MatchView) Route() string {
	switch m.Via {
	case "":
		return m.Algorithm + ", whole image"
	case m.Algorithm:
		return m.Algorithm
	}
	return m.Algorithm + " via " + m.Via
}

// Strength is the distance, or for the feature route the inliers.
func (m MatchView) Strength() string {
	if m.Algorithm == string(fingerprint.AlgoFeatures) {
		return fmt.Sprintf("%d inliers", m.Inliers)
	}
	return fmt.Sprintf("distance %d", m.Distance)
}

// BuildOptions complete what Build reads from the store.
type BuildOptions struct {
	Filters Filters
	// Capture looks up a capture's manifest data (nil: no bank).
	Capture func(id string) (fingerprint.Capture, bool)
	// Thumbnail returns a small JPEG of the leaked file with this SHA-256
	// (nil, or false: none).
	Thumbnail func(sha256 string) ([]byte, bool)
	Now       time.Time
	Store     string
	Bank      string
	Evidence  string
}

// Build reads the incidents the filters keep and assembles the report.
func Build(ctx context.Context, src IncidentSource, o BuildOptions) (Document, error) {
	incs, err := src.Incidents(ctx, o.Filters.Status)
	if err != nil {
		return Document{}, fmt.Errorf("report: %w", err)
	}
	// The report is handed on (to legal, to management): a PostgreSQL
	// location's password never goes in it.
	doc := Document{Generated: o.Now.UTC(), Store: store.Redact(o.Store), Bank: o.Bank, Evidence: o.Evidence, Filters: o.Filters,
		Totals: Totals{ByStatus: map[string]int{}}, Incidents: []IncidentView{}}
	captures, files := map[string]bool{}, map[string]bool{}
	for _, inc := range incs {
		if !o.Filters.keep(inc) {
			continue
		}
		evs, err := src.Events(ctx, inc.ID)
		if err != nil {
			return Document{}, fmt.Errorf("report: %w", err)
		}
		v := IncidentView{ID: inc.ID, Source: inc.Source, Status: inc.Status, FirstSeen: inc.FirstSeen, LastSeen: inc.LastSeen,
			UpdatedAt: inc.UpdatedAt, Timeline: timeline(inc, evs), Captures: captureViews(inc, o.Capture), Matches: []MatchView{},
			Canaries: inc.Canaries, Attribution: inc.Attribution}
		for _, m := range inc.Matches {
			mv := MatchView{Match: m}
			if o.Thumbnail != nil {
				if b, ok := o.Thumbnail(m.SHA256); ok {
					mv.Thumbnail = b
				}
			}
			v.Matches = append(v.Matches, mv)
			captures[m.CaptureID] = true
			files[m.SHA256+"\x00"+m.ArchivePath] = true
		}
		doc.Totals.Copies += len(inc.Matches)
		doc.Totals.ByStatus[inc.Status]++
		doc.Incidents = append(doc.Incidents, v)
	}
	doc.Totals.Incidents, doc.Totals.Captures, doc.Totals.Files = len(doc.Incidents), len(captures), len(files)
	return doc, nil
}

// Statuses lists the statuses counted in the totals, in a stable order.
func (t Totals) Statuses() []string { return slices.Sorted(maps.Keys(t.ByStatus)) }

// timeline merges an incident's dates and its alert events, oldest first.
func timeline(inc store.Incident, evs []store.Event) []Step {
	steps := []Step{{At: inc.FirstSeen, What: "first seen at " + inc.Source}}
	for _, ev := range evs {
		s := Step{At: ev.CreatedAt, What: ev.Type + " (" + ev.ID + ")"}
		var parts []string
		if len(ev.NewCaptures) > 0 {
			parts = append(parts, fmt.Sprintf("%d new captures: %s", len(ev.NewCaptures), strings.Join(ev.NewCaptures, ", ")))
		}
		for _, d := range ev.Deliveries {
			p := fmt.Sprintf("%s %s after %d attempts", d.Endpoint, d.Status, d.Attempts)
			if !d.DeliveredAt.IsZero() {
				p += " at " + d.DeliveredAt.UTC().Format(time.RFC3339)
			}
			parts = append(parts, p)
		}
		if len(ev.Deliveries) == 0 {
			parts = append(parts, "no alert endpoint configured")
		}
		s.Detail = strings.Join(parts, "; ")
		steps = append(steps, s)
	}
	if inc.UpdatedAt.After(inc.FirstSeen) {
		steps = append(steps, Step{At: inc.UpdatedAt, What: "last change; status now " + inc.Status})
	}
	steps = append(steps, Step{At: inc.LastSeen, What: "last seen"})
	sort.SliceStable(steps, func(i, j int) bool { return steps[i].At.Before(steps[j].At) })
	return steps
}

// captureViews sums an incident's matches per capture and adds the bank's
// manifest data.
func captureViews(inc store.Incident, lookup func(string) (fingerprint.Capture, bool)) []CaptureView {
	out := []CaptureView{}
	for _, a := range inc.Affected() {
		v := CaptureView{ID: a.CaptureID, Kind: a.Kind, Copies: a.Copies, FirstSeen: a.FirstSeen, LastSeen: a.LastSeen}
		if lookup != nil {
			if c, ok := lookup(a.CaptureID); ok {
				v.InBank, v.Source, v.EnrolledAt, v.Meta = true, c.Source, c.EnrolledAt, c.Meta
				if c.Kind != "" {
					v.Kind = c.Kind
				}
			}
		}
		out = append(out, v)
	}
	return out
}

// ParseSince reads a --since value: a duration back from now ("72h",
// "14d"), a date ("2026-03-01", UTC) or an RFC 3339 time.
func ParseSince(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		var days int
		if _, err := fmt.Sscanf(n, "%d", &days); err == nil && days >= 0 && fmt.Sprint(days) == n {
			return now.AddDate(0, 0, -days), nil
		}
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("since %q: want a duration (72h, 14d), a date (2026-03-01) or an RFC 3339 time", s)
}
