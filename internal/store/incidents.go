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

// Match is the evidence that one capture was found at one place.
type Match struct {
	CaptureID   string    `json:"capture_id"`
	Kind        string    `json:"kind"`
	URL         string    `json:"url"`
	Page        string    `json:"page,omitempty"`
	ArchivePath string    `json:"archive_path,omitempty"`
	SHA256      string    `json:"sha256"`
	Algorithm   string    `json:"algorithm"`
	Distance    int       `json:"distance"`
	Quality     int       `json:"quality"`
	Variant     string    `json:"variant,omitempty"`
	FirstSeen   time.Time `json:"first_seen"`
	LastSeen    time.Time `json:"last_seen"`
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
}

// IncidentID derives the stable ID of the incident for a source, so every
// run (and every machine) names the same leak the same way.
func IncidentID(source string) string {
	sum := sha256.Sum256([]byte(source))
	return "inc_" + hex.EncodeToString(sum[:8])
}

// Outcome says what RecordMatches changed.
type Outcome struct {
	IncidentID  string
	Created     bool
	NewCaptures []string
	// Event is the outbox event written, or empty when nothing changed
	// that deserves an alert.
	Event string
}

// RecordMatches adds matches to the incident for source (creating it) and,
// in the same transaction, writes the outbox event announcing the change
// with a delivery row per endpoint. A rerun that finds nothing new only
// refreshes last_seen and writes no event.
func (s *Store) RecordMatches(ctx context.Context, source string, ms []Match, endpoints []string) (Outcome, error) {
	if len(ms) == 0 {
		return Outcome{}, errors.New("record matches: none given")
	}
	id := IncidentID(source)
	out := Outcome{IncidentID: id}
	now := s.now()
	nowS := s.ts(now)
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var status string
		var version int
		err := tx.QueryRowContext(ctx, `SELECT status, version FROM incidents WHERE id = ?`, id).Scan(&status, &version)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			out.Created = true
			version = 1
			status = StatusNew
			if _, err := tx.ExecContext(ctx, `INSERT INTO incidents(id, source, status, first_seen, last_seen, updated_at, version) VALUES (?, ?, ?, ?, ?, ?, 1)`,
				id, source, StatusNew, nowS, nowS, nowS); err != nil {
				return err
			}
		case err != nil:
			return err
		}
		known := map[string]bool{}
		rows, err := tx.QueryContext(ctx, `SELECT DISTINCT capture_id FROM incident_matches WHERE incident_id = ?`, id)
		if err != nil {
			return err
		}
		for rows.Next() {
			var c string
			if err := rows.Scan(&c); err != nil {
				rows.Close()
				return err
			}
			known[c] = true
		}
		rows.Close()
		fresh := map[string]bool{}
		for _, m := range ms {
			if _, err := tx.ExecContext(ctx, `INSERT INTO incident_matches(incident_id, capture_id, kind, url, page, archive_path, sha256, algorithm, distance, quality, variant, first_seen, last_seen)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT(incident_id, capture_id, sha256, archive_path) DO UPDATE SET last_seen = excluded.last_seen,
					distance = MIN(distance, excluded.distance)`,
				id, m.CaptureID, m.Kind, m.URL, m.Page, m.ArchivePath, m.SHA256, m.Algorithm, m.Distance, m.Quality, m.Variant, nowS, nowS); err != nil {
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
		evType := ""
		switch {
		case out.Created:
			evType = EventCreated
		case status == StatusResolved:
			evType = EventReappeared
			status = StatusNew
		case len(fresh) > 0:
			evType = EventUpdated
		}
		if evType != "" && !out.Created {
			version++
		}
		if _, err := tx.ExecContext(ctx, `UPDATE incidents SET last_seen = ?, status = ?, version = ?, updated_at = CASE WHEN ? THEN ? ELSE updated_at END WHERE id = ?`,
			nowS, status, version, evType != "", nowS, id); err != nil {
			return err
		}
		if evType == "" {
			return nil
		}
		inc, err := getIncident(ctx, tx, id)
		if err != nil {
			return err
		}
		payload, err := json.Marshal(EventData{Incident: inc, NewCaptures: out.NewCaptures})
		if err != nil {
			return err
		}
		out.Event = fmt.Sprintf("evt_%s_v%d", strings.TrimPrefix(id, "inc_"), version)
		return insertEvent(ctx, tx, out.Event, id, evType, payload, endpoints, nowS)
	})
	if err != nil {
		return Outcome{}, fmt.Errorf("record matches for %s: %w", source, err)
	}
	return out, nil
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
	rows, err := q.QueryContext(ctx, `SELECT capture_id, kind, url, page, archive_path, sha256, algorithm, distance, quality, variant, first_seen, last_seen
		FROM incident_matches WHERE incident_id = ? ORDER BY capture_id, url, archive_path`, id)
	if err != nil {
		return Incident{}, err
	}
	defer rows.Close()
	seen := map[string]bool{}
	for rows.Next() {
		var m Match
		if err := rows.Scan(&m.CaptureID, &m.Kind, &m.URL, &m.Page, &m.ArchivePath, &m.SHA256, &m.Algorithm, &m.Distance, &m.Quality, &m.Variant, &fs, &ls); err != nil {
			return Incident{}, err
		}
		m.FirstSeen, m.LastSeen = parseTS(fs), parseTS(ls)
		inc.Matches = append(inc.Matches, m)
		if !seen[m.CaptureID] {
			seen[m.CaptureID] = true
			inc.Captures = append(inc.Captures, m.CaptureID)
		}
	}
	return inc, rows.Err()
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
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
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
