package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/leakwatch/leakwatch/internal/attribution"
)

// Incident statuses.
const (
	StatusNew          = "new"
	StatusAcknowledged = "acknowledged"
	StatusResolved     = "resolved"
)

// Event types written to the outbox.
const (
	EventCreated    = "incident.created"
	EventUpdated    = "incident.updated"
	EventReappeared = "incident.reappeared"
)

// Evidence says that one capture was found at one place: the scan builds
// it where an image matched, the store records it in the incident, and
// the scan's output (report.Finding) prints it.
type Evidence struct {
	CaptureID string `json:"capture_id"`
	Kind      string `json:"kind"`
	URL       string `json:"url"`
	// Page is the page that linked the image, ArchivePath the entry's
	// path inside an archive (members of nested archives joined with "!/").
	Page        string `json:"page,omitempty"`
	ArchivePath string `json:"archive_path,omitempty"`
	// SHA256 is the hex digest of the leaked file's bytes.
	SHA256    string `json:"sha256"`
	Algorithm string `json:"algorithm"`
	Distance  int    `json:"distance"`
	Quality   int    `json:"quality"`
	Variant   string `json:"variant,omitempty"`
	// Via is the route that matched (fingerprint.Match.Via: empty for the
	// whole image) and Inliers the feature route's inlier count (its
	// Distance is -1).
	Via     string `json:"via,omitempty"`
	Inliers int    `json:"inliers,omitempty"`
}

// Match is recorded evidence with when it was first and last seen.
type Match struct {
	Evidence
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
}

// Incident is one leak source with every capture found there.
type Incident struct {
	ID        string    `json:"id"`
	Source    string    `json:"source"`
	Status    string    `json:"status"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	UpdatedAt time.Time `json:"updated_at"`
	Version   int       `json:"version"`
	Captures  []string  `json:"captures"`
	Matches   []Match   `json:"matches,omitempty"`
	// Canaries are the captures found that are canaries: synthetic, no
	// person to notify. Attribution says whose copy leaked; both are
	// absent while the ledger is empty.
	Canaries    []string            `json:"canaries,omitempty"`
	Attribution *attribution.Result `json:"attribution,omitempty"`
}

// IncidentID derives the stable ID of the incident for a source, so every
// run (and every machine) names the same leak the same way.
func IncidentID(source string) string {
	sum := sha256.Sum256([]byte(source))
	return "inc_" + hex.EncodeToString(sum[:8])
}

// Outcome says what RecordMatches or Announce changed.
type Outcome struct {
	IncidentID  string
	Created     bool
	NewCaptures []string
	// Event is the outbox event written, or empty when nothing was
	// announced (yet).
	Event string
}

// RecordMatches adds matches to the incident for source, creating it.
//
// Alerting policy: a new incident, and a resolved one that re-appears, are
// announced at once (the outbox event is written in the same transaction),
// so the first alert goes out within a second of the match. Growth of an
// open incident is recorded as unannounced and announced by Announce, which
// a scan calls at its end (and at its start, to finish a killed run), so a
// run produces at most one "updated" event per incident instead of one per
// image. A rerun that finds nothing new only refreshes last_seen.
func (s *Store) RecordMatches(ctx context.Context, source string, ms []Evidence, endpoints []string) (Outcome, error) {
	if len(ms) == 0 {
		return Outcome{}, errors.New("record matches: none given")
	}
	id := IncidentID(source)
	out := Outcome{IncidentID: id}
	nowS := s.ts(s.now())
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var status string
		var version int
		err := tx.QueryRowContext(ctx, `SELECT status, version FROM incidents WHERE id = ?`, id).Scan(&status, &version)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			out.Created = true
			status = StatusNew
			if _, err := tx.ExecContext(ctx, `INSERT INTO incidents(id, source, status, first_seen, last_seen, updated_at, version) VALUES (?, ?, ?, ?, ?, ?, 0)`,
				id, source, StatusNew, nowS, nowS, nowS); err != nil {
				return err
			}
		case err != nil:
			return err
		}
		known, err := captureSet(ctx, tx, id)
		if err != nil {
			return err
		}
		fresh := map[string]bool{}
		for _, m := range ms {
			if _, err := tx.ExecContext(ctx, `INSERT INTO incident_matches(incident_id, capture_id, kind, url, page, archive_path, sha256, algorithm, distance, quality, variant, via, inliers, first_seen, last_seen, announced)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)
				ON CONFLICT(incident_id, capture_id, sha256, archive_path) DO UPDATE SET last_seen = excluded.last_seen,
					distance = MIN(distance, excluded.distance), inliers = MAX(inliers, excluded.inliers)`,
				id, m.CaptureID, m.Kind, m.URL, m.Page, m.ArchivePath, m.SHA256, m.Algorithm, m.Distance, m.Quality, m.Variant, m.Via, m.Inliers, nowS, nowS); err != nil {
				return err
			}
			if !known[m.CaptureID] {
				fresh[m.CaptureID] = true
			}
		}
		for c := range fresh {
			out.NewCaptures = append(out.NewCaptures, c)
		}
		sort.Strings(out.NewCaptures)
		if _, err := tx.ExecContext(ctx, `UPDATE incidents SET last_seen = ? WHERE id = ?`, nowS, id); err != nil {
			return err
		}
		switch {
		case out.Created:
			out.Event, err = announce(ctx, tx, id, EventCreated, StatusNew, out.NewCaptures, endpoints, nowS)
		case status == StatusResolved:
			out.Event, err = announce(ctx, tx, id, EventReappeared, StatusNew, out.NewCaptures, endpoints, nowS)
		}
		return err
	})
	if err != nil {
		return Outcome{}, fmt.Errorf("record matches for %s: %w", source, err)
	}
	return out, nil
}

// captureSet returns the captures already recorded for an incident.
func captureSet(ctx context.Context, tx *sql.Tx, id string) (map[string]bool, error) {
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT capture_id FROM incident_matches WHERE incident_id = ?`, id)
	if err != nil {
		return nil, err
	}
	cs, err := scanStrings(rows)
	known := make(map[string]bool, len(cs))
	for _, c := range cs {
		known[c] = true
	}
	return known, err
}

// scanStrings reads a one-column result and closes rows.
func scanStrings(rows *sql.Rows) ([]string, error) {
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// announce bumps the incident's version, marks all its matches announced
// and writes the outbox event with a delivery per endpoint, all inside tx.
func announce(ctx context.Context, tx *sql.Tx, id, evType, status string, newCaptures, endpoints []string, nowS string) (string, error) {
	if _, err := tx.ExecContext(ctx, `UPDATE incidents SET version = version + 1, status = ?, updated_at = ? WHERE id = ?`, status, nowS, id); err != nil {
		return "", err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE incident_matches SET announced = 1 WHERE incident_id = ? AND announced = 0`, id); err != nil {
		return "", err
	}
	inc, err := getIncident(ctx, tx, id)
	if err != nil {
		return "", err
	}
	if newCaptures == nil {
		newCaptures = []string{}
	}
	payload, err := json.Marshal(EventData{Incident: inc, NewCaptures: newCaptures})
	if err != nil {
		return "", err
	}
	// The ID is derived from the incident and its version, so the same
	// change always carries the same webhook-id, however often it is sent.
	ev := fmt.Sprintf("evt_%s_v%d", strings.TrimPrefix(id, "inc_"), inc.Version)
	return ev, insertEvent(ctx, tx, ev, id, evType, payload, endpoints, nowS)
}

// Announce writes one "updated" event for every incident that gained
// captures not announced yet. Matches that only add copies of captures
// already announced are marked announced without an event.
func (s *Store) Announce(ctx context.Context, endpoints []string) ([]Outcome, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT incident_id FROM incident_matches WHERE announced = 0`)
	if err != nil {
		return nil, fmt.Errorf("announce: %w", err)
	}
	ids, err := scanStrings(rows)
	if err != nil {
		return nil, err
	}
	var outs []Outcome
	for _, id := range ids {
		out := Outcome{IncidentID: id}
		nowS := s.ts(s.now())
		err := s.tx(ctx, func(tx *sql.Tx) error {
			r, err := tx.QueryContext(ctx, `SELECT DISTINCT capture_id FROM incident_matches m WHERE incident_id = ? AND announced = 0
				AND NOT EXISTS (SELECT 1 FROM incident_matches a WHERE a.incident_id = m.incident_id AND a.capture_id = m.capture_id AND a.announced = 1)
				ORDER BY capture_id`, id)
			if err != nil {
				return err
			}
			for r.Next() {
				var c string
				if err := r.Scan(&c); err != nil {
					r.Close()
					return err
				}
				out.NewCaptures = append(out.NewCaptures, c)
			}
			r.Close()
			if len(out.NewCaptures) == 0 {
				_, err := tx.ExecContext(ctx, `UPDATE incident_matches SET announced = 1 WHERE incident_id = ? AND announced = 0`, id)
				return err
			}
			var status string
			if err := tx.QueryRowContext(ctx, `SELECT status FROM incidents WHERE id = ?`, id).Scan(&status); err != nil {
				return err
			}
			out.Event, err = announce(ctx, tx, id, EventUpdated, status, out.NewCaptures, endpoints, nowS)
			return err
		})
		if err != nil {
			return outs, fmt.Errorf("announce %s: %w", id, err)
		}
		if out.Event != "" {
			outs = append(outs, out)
		}
	}
	return outs, nil
}

// EventData is the "data" of an incident event.
type EventData struct {
	Incident    Incident `json:"incident"`
	NewCaptures []string `json:"new_captures"`
}

type querier interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

func getIncident(ctx context.Context, q querier, id string) (Incident, error) {
	var inc Incident
	var fs, ls, up string
	err := q.QueryRowContext(ctx, `SELECT id, source, status, first_seen, last_seen, updated_at, version FROM incidents WHERE id = ?`, id).
		Scan(&inc.ID, &inc.Source, &inc.Status, &fs, &ls, &up, &inc.Version)
	if errors.Is(err, sql.ErrNoRows) {
		return Incident{}, fmt.Errorf("incident %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Incident{}, err
	}
	inc.FirstSeen, inc.LastSeen, inc.UpdatedAt = parseTS(fs), parseTS(ls), parseTS(up)
	rows, err := q.QueryContext(ctx, `SELECT capture_id, kind, url, page, archive_path, sha256, algorithm, distance, quality, variant, via, inliers, first_seen, last_seen
		FROM incident_matches WHERE incident_id = ? ORDER BY capture_id, url, archive_path`, id)
	if err != nil {
		return Incident{}, err
	}
	defer rows.Close()
	seen := map[string]bool{}
	for rows.Next() {
		var m Match
		if err := rows.Scan(&m.CaptureID, &m.Kind, &m.URL, &m.Page, &m.ArchivePath, &m.SHA256, &m.Algorithm, &m.Distance, &m.Quality, &m.Variant, &m.Via, &m.Inliers, &fs, &ls); err != nil {
			return Incident{}, err
		}
		m.FirstSeen, m.LastSeen = parseTS(fs), parseTS(ls)
		inc.Matches = append(inc.Matches, m)
		if !seen[m.CaptureID] {
			seen[m.CaptureID] = true
			inc.Captures = append(inc.Captures, m.CaptureID)
		}
	}
	if err := rows.Err(); err != nil {
		return Incident{}, err
	}
	rows.Close()
	inc.Attribution, inc.Canaries, err = attribute(ctx, q, inc.Captures)
	return inc, err
}

// Incident returns one incident with its matches. A unique ID prefix is
// accepted.
func (s *Store) Incident(ctx context.Context, id string) (Incident, error) {
	full, err := s.resolveID(ctx, id)
	if err != nil {
		return Incident{}, err
	}
	return getIncident(ctx, s.db, full)
}

func (s *Store) resolveID(ctx context.Context, id string) (string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id FROM incidents WHERE id = ? OR id LIKE ? ESCAPE '\' LIMIT 2`, id, escapeLike(id)+"%")
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return "", err
		}
		if v == id {
			return v, nil
		}
		ids = append(ids, v)
	}
	switch len(ids) {
	case 0:
		return "", fmt.Errorf("incident %s: %w", id, ErrNotFound)
	case 1:
		return ids[0], nil
	}
	return "", fmt.Errorf("incident prefix %s is ambiguous", id)
}

func escapeLike(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}

// Incidents lists incidents, newest first, optionally filtered by status.
func (s *Store) Incidents(ctx context.Context, status string) ([]Incident, error) {
	q := `SELECT id FROM incidents`
	var args []any
	if status != "" {
		q += ` WHERE status = ?`
		args = append(args, status)
	}
	q += ` ORDER BY first_seen DESC, id`
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	ids, err := scanStrings(rows)
	if err != nil {
		return nil, err
	}
	out := make([]Incident, 0, len(ids))
	for _, id := range ids {
		inc, err := getIncident(ctx, s.db, id)
		if err != nil {
			return nil, err
		}
		out = append(out, inc)
	}
	return out, nil
}

// SetStatus moves an incident through its lifecycle.
func (s *Store) SetStatus(ctx context.Context, id, status string) (Incident, error) {
	switch status {
	case StatusNew, StatusAcknowledged, StatusResolved:
	default:
		return Incident{}, fmt.Errorf("unknown status %q", status)
	}
	full, err := s.resolveID(ctx, id)
	if err != nil {
		return Incident{}, err
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE incidents SET status = ?, updated_at = ? WHERE id = ?`, status, s.ts(s.now()), full); err != nil {
		return Incident{}, fmt.Errorf("set status: %w", err)
	}
	return getIncident(ctx, s.db, full)
}
