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
	// StatusDismissed marks a false positive (Dismiss): its (capture,
	// leaked file) pairs are never recorded again.
	StatusDismissed = "dismissed"
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
	// Dismissed marks a pair dismissed as a false positive.
	Dismissed bool `json:"dismissed,omitempty"`
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
	// Reason is why it was dismissed (Dismiss).
	Reason string `json:"reason,omitempty"`
	// Captures are the captures found, leaving out those whose every
	// match was dismissed.
	Captures []string `json:"captures"`
	Matches  []Match  `json:"matches,omitempty"`
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
	// Event is the outbox event written (or grown), or empty when nothing
	// was announced (yet).
	Event string
	// Recorded are the matches recorded; the others were dismissed
	// earlier (see Dismiss) and left out.
	Recorded []Evidence
}

// RecordMatches adds matches to the incident for source, creating it.
//
// Alerting policy: a new incident, and a closed one (resolved or
// dismissed) that a new leaked file re-opens, are announced by an outbox
// event written in the same transaction. Its deliveries are held for the
// store's alert hold (WithAlertHold) so that growth found by the rest of
// the scan is folded into that one event (Announce) and the scan releases
// it when it ends (ReleaseHeld); a hold that runs out first sends it with
// what was known then. Growth of an open incident is recorded as
// unannounced and announced by Announce, which a scan calls at its end
// (and at its start, to finish a killed run), so a run produces one event
// per incident with its final state, or two if it outlasts the hold.
//
// A leaked file is its bytes (SHA-256) with the capture it shows: a
// resolved incident re-opens only for a file it did not hold, so a copy
// still online after resolution refreshes last_seen without alerting on
// every scan. Dismissed (capture, file) pairs are never recorded again.
func (s *Store) RecordMatches(ctx context.Context, source string, ms []Evidence, endpoints []string) (Outcome, error) {
	if len(ms) == 0 {
		return Outcome{}, errors.New("record matches: none given")
	}
	id := IncidentID(source)
	out := Outcome{IncidentID: id}
	// One incident's changes queue one behind the other (incidentTx), so
	// two workers recording the first match of a source create it once.
	err := s.incidentTx(ctx, id, func(tx *sql.Tx) error {
		out = Outcome{IncidentID: id} // a retried transaction starts afresh
		// The time is taken once the incident is ours: a wait for its
		// lock must not date what is written after it.
		now := s.now()
		nowS, dueS := s.ts(now), s.ts(now.Add(s.hold))
		for _, m := range ms {
			var one int
			err := tx.QueryRowContext(ctx, `SELECT 1 FROM dismissals WHERE capture_id = ? AND sha256 = ?`, m.CaptureID, m.SHA256).Scan(&one)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				out.Recorded = append(out.Recorded, m)
			case err != nil:
				return err
			}
		}
		if len(out.Recorded) == 0 {
			return nil
		}
		var status string
		err := tx.QueryRowContext(ctx, `SELECT status FROM incidents WHERE id = ?`, id).Scan(&status)
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
		newFile := false
		for _, m := range out.Recorded {
			var one int
			err := tx.QueryRowContext(ctx, `SELECT 1 FROM incident_matches WHERE incident_id = ? AND capture_id = ? AND sha256 = ? AND archive_path = ?`,
				id, m.CaptureID, m.SHA256, m.ArchivePath).Scan(&one)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				newFile = true
				if _, err := tx.ExecContext(ctx, `INSERT INTO incident_matches(incident_id, capture_id, kind, url, page, archive_path, sha256, algorithm, distance, quality, variant, via, inliers, first_seen, last_seen, announced)
					VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`,
					id, m.CaptureID, m.Kind, m.URL, m.Page, m.ArchivePath, m.SHA256, m.Algorithm, m.Distance, m.Quality, m.Variant, m.Via, m.Inliers, nowS, nowS); err != nil {
					return err
				}
			case err != nil:
				return err
			default:
				if _, err := tx.ExecContext(ctx, `UPDATE incident_matches SET last_seen = ?,
						distance = CASE WHEN distance < ? THEN distance ELSE ? END, inliers = CASE WHEN inliers > ? THEN inliers ELSE ? END
					WHERE incident_id = ? AND capture_id = ? AND sha256 = ? AND archive_path = ?`,
					nowS, m.Distance, m.Distance, m.Inliers, m.Inliers, id, m.CaptureID, m.SHA256, m.ArchivePath); err != nil {
					return err
				}
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
			out.Event, err = announce(ctx, tx, id, EventCreated, StatusNew, out.NewCaptures, endpoints, nowS, dueS)
		case (status == StatusResolved || status == StatusDismissed) && newFile:
			out.Event, err = announce(ctx, tx, id, EventReappeared, StatusNew, out.NewCaptures, endpoints, nowS, dueS)
		case status == StatusResolved || status == StatusDismissed:
			// Copies it already held, still online: seen, not news.
			_, err = tx.ExecContext(ctx, `UPDATE incident_matches SET announced = 1 WHERE incident_id = ? AND announced = 0`, id)
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

// scanStrings reads a one-column result of text and closes rows.
func scanStrings(rows *sql.Rows) ([]string, error) { return scanColumn[string](rows) }

// scanColumn reads a one-column result and closes rows.
func scanColumn[T any](rows *sql.Rows) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		var v T
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// announce bumps the incident's version, marks all its matches announced
// and writes the outbox event with a delivery per endpoint, all inside tx.
func announce(ctx context.Context, tx *sql.Tx, id, evType, status string, newCaptures, endpoints []string, nowS, dueS string) (string, error) {
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
	payload, err := eventPayload(EventData{Incident: inc, NewCaptures: newCaptures})
	if err != nil {
		return "", err
	}
	// The ID is derived from the incident and its version, so the same
	// change always carries the same webhook-id, however often it is sent.
	ev := fmt.Sprintf("evt_%s_v%d", strings.TrimPrefix(id, "inc_"), inc.Version)
	return ev, insertEvent(ctx, tx, ev, id, evType, payload, endpoints, nowS, dueS)
}

// Announce writes one "updated" event for every incident that gained
// captures not announced yet, or folds them into the incident's event
// that is still held (see RecordMatches): a scan thus announces an
// incident once, with its final state. Matches that only add copies of
// captures already announced are marked announced without an event.
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
		err := s.incidentTx(ctx, id, func(tx *sql.Tx) error {
			out = Outcome{IncidentID: id}
			now := s.now() // once the incident is ours, as in RecordMatches
			nowS := s.ts(now)
			r, err := tx.QueryContext(ctx, `SELECT DISTINCT capture_id FROM incident_matches m WHERE incident_id = ? AND announced = 0
				AND NOT EXISTS (SELECT 1 FROM incident_matches a WHERE a.incident_id = m.incident_id AND a.capture_id = m.capture_id AND a.announced = 1)
				ORDER BY capture_id`, id)
			if err != nil {
				return err
			}
			if out.NewCaptures, err = scanStrings(r); err != nil {
				return err
			}
			if len(out.NewCaptures) == 0 {
				_, err := tx.ExecContext(ctx, `UPDATE incident_matches SET announced = 1 WHERE incident_id = ? AND announced = 0`, id)
				return err
			}
			held, err := heldEvent(ctx, tx, id, now, s.pg)
			if err != nil {
				return err
			}
			if held != "" {
				out.Event, err = fold(ctx, tx, id, held, out.NewCaptures)
				return err
			}
			var status string
			if err := tx.QueryRowContext(ctx, `SELECT status FROM incidents WHERE id = ?`, id).Scan(&status); err != nil {
				return err
			}
			out.Event, err = announce(ctx, tx, id, EventUpdated, status, out.NewCaptures, endpoints, nowS, s.ts(now.Add(s.hold)))
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

// heldEvent returns the incident's newest event if every delivery of it
// is still held (ReleaseHeld and a claim both clear that) and none has
// been attempted or has come due, so it can still change; "" if none.
// An event without deliveries (recorded without endpoints) is held while
// its own hold lasts. On PostgreSQL the deliveries are locked: a claim
// under way, which has read the payload, is waited for, and then seen as
// no longer held.
func heldEvent(ctx context.Context, tx *sql.Tx, id string, now time.Time, pg bool) (string, error) {
	var ev string
	var heldUntil sql.NullString
	err := tx.QueryRowContext(ctx, `SELECT event_id, held_until FROM outbox WHERE incident_id = ? ORDER BY created_at DESC, event_id DESC LIMIT 1`, id).Scan(&ev, &heldUntil)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	q := `SELECT status, attempts, next_attempt, held FROM deliveries WHERE event_id = ?`
	if pg {
		q += ` FOR UPDATE`
	}
	rows, err := tx.QueryContext(ctx, q, ev)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var st, next string
		var attempts, held int
		if err := rows.Scan(&st, &attempts, &next, &held); err != nil {
			return "", err
		}
		// Timestamps are compared as times: their text does not sort.
		if st != DeliveryPending || held == 0 || attempts > 0 || !parseTS(next).After(now) {
			return "", rows.Err()
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	if n == 0 && (!heldUntil.Valid || !parseTS(heldUntil.String).After(now)) {
		// No delivery (recorded without endpoints: AdoptEndpoints adds
		// them later), and its hold is over.
		return "", nil
	}
	return ev, nil
}

// fold rewrites a held event's payload with the incident as it is now,
// adding newCaptures to the captures it announces, and marks the
// incident's matches announced. The event keeps its ID and version: no
// delivery of the old payload was attempted.
func fold(ctx context.Context, tx *sql.Tx, id, ev string, newCaptures []string) (string, error) {
	var raw []byte
	if err := tx.QueryRowContext(ctx, `SELECT payload FROM outbox WHERE event_id = ?`, ev).Scan(&raw); err != nil {
		return "", err
	}
	var old EventData
	if err := json.Unmarshal(raw, &old); err != nil {
		return "", fmt.Errorf("event %s: %w", ev, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE incident_matches SET announced = 1 WHERE incident_id = ? AND announced = 0`, id); err != nil {
		return "", err
	}
	inc, err := getIncident(ctx, tx, id)
	if err != nil {
		return "", err
	}
	seen := map[string]bool{}
	all := []string{}
	for _, c := range append(old.NewCaptures, newCaptures...) {
		if !seen[c] {
			seen[c] = true
			all = append(all, c)
		}
	}
	sort.Strings(all)
	d := EventData{Incident: inc, NewCaptures: all}
	if old.Omitted != nil && old.Omitted.NewCaptures > 0 {
		d.Omitted = &Omitted{NewCaptures: old.Omitted.NewCaptures}
	}
	payload, err := eventPayload(d)
	if err != nil {
		return "", err
	}
	_, err = tx.ExecContext(ctx, `UPDATE outbox SET payload = ? WHERE event_id = ?`, payload, ev)
	return ev, err
}

// ReleaseHeld makes every held delivery due now; a scan calls it when it
// ends, once its events carry their final state.
func (s *Store) ReleaseHeld(ctx context.Context) error {
	now := s.now()
	err := s.tx(ctx, func(tx *sql.Tx) error {
		// Only deliveries still held: one a worker has claimed (its next
		// attempt moved ahead as a lease) is being sent.
		rows, err := tx.QueryContext(ctx, `SELECT event_id, endpoint, next_attempt FROM deliveries WHERE status = ? AND attempts = 0 AND held = 1`, DeliveryPending)
		if err != nil {
			return err
		}
		type key struct{ ev, ep string }
		var due []key
		for rows.Next() {
			var k key
			var next string
			if err := rows.Scan(&k.ev, &k.ep, &next); err != nil {
				rows.Close()
				return err
			}
			if parseTS(next).After(now) {
				due = append(due, k)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, k := range due {
			if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET next_attempt = ?, held = 0 WHERE event_id = ? AND endpoint = ?`, s.ts(now), k.ev, k.ep); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `UPDATE outbox SET held_until = NULL WHERE held_until IS NOT NULL`)
		return err
	})
	if err != nil {
		return fmt.Errorf("release held alerts: %w", err)
	}
	return nil
}

// EventData is the "data" of an incident event.
type EventData struct {
	Incident    Incident `json:"incident"`
	NewCaptures []string `json:"new_captures"`
	// Omitted counts what was left out to keep the event within
	// MaxEventBytes; the store (`incidents show`) has all of it.
	Omitted *Omitted `json:"omitted,omitempty"`
}

// Omitted counts what an event leaves out of its lists: matches (copies),
// dismissed matches, captures, new captures, and entries of the canary
// and attribution lists (canaries, undisclosed captures, recipients).
type Omitted struct {
	Matches     int `json:"matches,omitempty"`
	Dismissed   int `json:"dismissed,omitempty"`
	Captures    int `json:"captures,omitempty"`
	NewCaptures int `json:"new_captures,omitempty"`
	Attribution int `json:"attribution,omitempty"`
}

// MaxEventBytes bounds an incident event's stored data. Receivers refuse
// large bodies (alerts.MaxPayloadBytes is 256 KiB, envelope and summary
// included), and a leak of a thousand copies lists about 400 KB of
// matches: such an event was refused as invalid and never sent.
const MaxEventBytes = 160 << 10

// eventPayload marshals d within MaxEventBytes: it leaves out matches
// first (dismissed ones first, each capture's first match last), then the
// last captures and new captures, then the last entries of the canary and
// attribution lists, and counts in d.Omitted what it left out.
func eventPayload(d EventData) ([]byte, error) {
	b, err := json.Marshal(d)
	if err != nil || len(b) <= MaxEventBytes {
		return b, err
	}
	var om Omitted
	if d.Omitted != nil {
		om = *d.Omitted // new captures an earlier version left out (fold)
	}
	d.Omitted = &om
	matches := d.Incident.Matches
	dismissed := 0
	for _, m := range matches {
		if m.Dismissed {
			dismissed++
		}
	}
	keepMatches := func(k int) {
		d.Incident.Matches = firstMatches(matches, k)
		keptDismissed := 0
		for _, m := range d.Incident.Matches {
			if m.Dismissed {
				keptDismissed++
			}
		}
		om.Dismissed = dismissed - keptDismissed
		om.Matches = len(matches) - len(d.Incident.Matches) - om.Dismissed
	}
	k, ok := largestFit(&d, len(matches), keepMatches)
	if ok {
		keepMatches(k)
		return json.Marshal(d)
	}
	keepMatches(0)
	caps, fresh, omittedNew := d.Incident.Captures, d.NewCaptures, om.NewCaptures
	keepCaptures := func(k int) {
		d.Incident.Captures, d.NewCaptures = caps[:min(k, len(caps))], fresh[:min(k, len(fresh))]
		om.Captures = len(caps) - len(d.Incident.Captures)
		om.NewCaptures = omittedNew + len(fresh) - len(d.NewCaptures)
	}
	k, ok = largestFit(&d, max(len(caps), len(fresh)), keepCaptures)
	keepCaptures(max(k, 0))
	if ok {
		return json.Marshal(d)
	}
	canaries := d.Incident.Canaries
	var attr attribution.Result
	if d.Incident.Attribution != nil {
		attr = *d.Incident.Attribution
	}
	keepLists := func(k int) {
		d.Incident.Canaries = canaries[:min(k, len(canaries))]
		om.Attribution = len(canaries) - len(d.Incident.Canaries)
		if d.Incident.Attribution == nil {
			return
		}
		a := attr
		a.Undisclosed = attr.Undisclosed[:min(k, len(attr.Undisclosed))]
		a.Canaries = attr.Canaries[:min(k, len(attr.Canaries))]
		a.Recipients = attr.Recipients[:min(k, len(attr.Recipients))]
		om.Attribution += len(attr.Undisclosed) + len(attr.Canaries) + len(attr.Recipients) - len(a.Undisclosed) - len(a.Canaries) - len(a.Recipients)
		d.Incident.Attribution = &a
	}
	k, _ = largestFit(&d, max(len(canaries), len(attr.Undisclosed), len(attr.Canaries), len(attr.Recipients)), keepLists)
	keepLists(max(k, 0))
	return json.Marshal(d)
}

// largestFit is the largest k <= n for which d, shaped by keep(k),
// marshals within MaxEventBytes; false if not even 0 does.
func largestFit(d *EventData, n int, keep func(k int)) (int, bool) {
	tooBig := sort.Search(n+1, func(k int) bool {
		keep(k)
		b, err := json.Marshal(d)
		return err != nil || len(b) > MaxEventBytes
	})
	return tooBig - 1, tooBig > 0
}

// firstMatches keeps k of ms, in their order: the first copy (match not
// dismissed) of each capture, then the other copies from the start, then
// dismissed matches.
func firstMatches(ms []Match, k int) []Match {
	if k >= len(ms) {
		return ms
	}
	keep := make([]bool, len(ms))
	seen := map[string]bool{}
	n := 0
	for i, m := range ms {
		if n < k && !m.Dismissed && !seen[m.CaptureID] {
			seen[m.CaptureID], keep[i] = true, true
			n++
		}
	}
	for _, dismissed := range []bool{false, true} {
		for i, m := range ms {
			if n < k && !keep[i] && m.Dismissed == dismissed {
				keep[i] = true
				n++
			}
		}
	}
	out := make([]Match, 0, k)
	for i, m := range ms {
		if keep[i] {
			out = append(out, m)
		}
	}
	return out
}

type querier interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

func getIncident(ctx context.Context, q querier, id string) (Incident, error) {
	var inc Incident
	var fs, ls, up string
	err := q.QueryRowContext(ctx, `SELECT id, source, status, status_reason, first_seen, last_seen, updated_at, version FROM incidents WHERE id = ?`, id).
		Scan(&inc.ID, &inc.Source, &inc.Status, &inc.Reason, &fs, &ls, &up, &inc.Version)
	if errors.Is(err, sql.ErrNoRows) {
		return Incident{}, fmt.Errorf("incident %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Incident{}, err
	}
	inc.FirstSeen, inc.LastSeen, inc.UpdatedAt = parseTS(fs), parseTS(ls), parseTS(up)
	rows, err := q.QueryContext(ctx, `SELECT m.capture_id, m.kind, m.url, m.page, m.archive_path, m.sha256, m.algorithm, m.distance, m.quality, m.variant, m.via, m.inliers, m.first_seen, m.last_seen,
			EXISTS (SELECT 1 FROM dismissals d WHERE d.capture_id = m.capture_id AND d.sha256 = m.sha256)
		FROM incident_matches m WHERE m.incident_id = ? ORDER BY m.capture_id, m.url, m.archive_path`, id)
	if err != nil {
		return Incident{}, err
	}
	defer rows.Close()
	seen := map[string]bool{}
	for rows.Next() {
		var m Match
		if err := rows.Scan(&m.CaptureID, &m.Kind, &m.URL, &m.Page, &m.ArchivePath, &m.SHA256, &m.Algorithm, &m.Distance, &m.Quality, &m.Variant, &m.Via, &m.Inliers, &fs, &ls, &m.Dismissed); err != nil {
			return Incident{}, err
		}
		m.FirstSeen, m.LastSeen = parseTS(fs), parseTS(ls)
		inc.Matches = append(inc.Matches, m)
		if !seen[m.CaptureID] && !m.Dismissed {
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
	if strings.TrimSpace(id) == "" {
		// Every ID has the empty prefix; it must not pick "the only one".
		return "", fmt.Errorf("empty incident ID: %w", ErrNotFound)
	}
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

// SetStatus moves an incident through its lifecycle (new, acknowledged,
// resolved; Dismiss dismisses). Re-opening a dismissed incident takes its
// dismissals back.
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
	err = s.incidentTx(ctx, full, func(tx *sql.Tx) error {
		var cur string
		if err := tx.QueryRowContext(ctx, `SELECT status FROM incidents WHERE id = ?`, full).Scan(&cur); err != nil {
			return err
		}
		if cur == StatusDismissed {
			if status != StatusNew {
				return fmt.Errorf("%w: incident %s is dismissed; reopen it first", ErrInvalidTransition, full)
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM dismissals WHERE incident_id = ?`, full); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `UPDATE incidents SET status = ?, status_reason = '', updated_at = ? WHERE id = ?`, status, s.ts(s.now()), full)
		return err
	})
	if err != nil {
		return Incident{}, fmt.Errorf("set status: %w", err)
	}
	return getIncident(ctx, s.db, full)
}

// Dismiss marks an incident a false positive: every (capture, leaked
// file) pair it holds is dismissed, so that no scan records, raises or
// re-opens anything for those pairs again (a new file of the same capture
// still does). "reopen" takes the dismissal back.
func (s *Store) Dismiss(ctx context.Context, id, reason string) (Incident, error) {
	if strings.TrimSpace(reason) == "" {
		return Incident{}, errors.New("dismiss: a reason is required")
	}
	full, err := s.resolveID(ctx, id)
	if err != nil {
		return Incident{}, err
	}
	nowS := s.ts(s.now())
	err = s.incidentTx(ctx, full, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO dismissals(capture_id, sha256, incident_id, reason, dismissed_at)
			SELECT DISTINCT capture_id, sha256, incident_id, ?, ? FROM incident_matches WHERE incident_id = ?
			ON CONFLICT(capture_id, sha256) DO NOTHING`, reason, nowS, full); err != nil {
			return err
		}
		// Unannounced growth of a false positive is not news either.
		if _, err := tx.ExecContext(ctx, `UPDATE incident_matches SET announced = 1 WHERE incident_id = ? AND announced = 0`, full); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE incidents SET status = ?, status_reason = ?, updated_at = ? WHERE id = ?`, StatusDismissed, reason, nowS, full)
		return err
	})
	if err != nil {
		return Incident{}, fmt.Errorf("dismiss %s: %w", full, err)
	}
	return getIncident(ctx, s.db, full)
}
