package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// Delivery states.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed" // given up: permanent error or too old
)

// insertEvent writes an event with one delivery per endpoint, first due
// at dueS.
func insertEvent(ctx context.Context, tx *sql.Tx, eventID, incidentID, typ string, payload []byte, endpoints []string, nowS, dueS string) error {
	held, heldUntil := 0, sql.NullString{}
	if dueS != nowS {
		// Until its scan ends (ReleaseHeld) or the hold runs out; the
		// event keeps it too, for deliveries added later (AdoptEndpoints).
		held, heldUntil = 1, sql.NullString{String: dueS, Valid: true}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO outbox(event_id, incident_id, type, payload, created_at, held_until) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT(event_id) DO NOTHING`, eventID, incidentID, typ, payload, nowS, heldUntil); err != nil {
		return err
	}
	for _, ep := range endpoints {
		if _, err := tx.ExecContext(ctx, `INSERT INTO deliveries(event_id, endpoint, next_attempt, held) VALUES (?, ?, ?, ?)
			ON CONFLICT(event_id, endpoint) DO NOTHING`, eventID, ep, dueS, held); err != nil {
			return err
		}
	}
	return nil
}

// Pending is one delivery that is due.
type Pending struct {
	EventID    string
	IncidentID string
	Type       string
	Payload    []byte
	CreatedAt  time.Time
	Endpoint   string
	Attempts   int
}

// MarkDelivered records a successful delivery; the first one recorded
// stands (a late duplicate attempt does not move its time).
func (s *Store) MarkDelivered(ctx context.Context, eventID, endpoint string) error {
	now := s.ts(s.now())
	_, err := s.db.ExecContext(ctx, `UPDATE deliveries SET status = ?, attempts = attempts + 1, delivered_at = ?, last_error = NULL
		WHERE event_id = ? AND endpoint = ? AND status <> ?`,
		DeliveryDelivered, now, eventID, endpoint, DeliveryDelivered)
	if err != nil {
		return fmt.Errorf("mark delivered: %w", err)
	}
	return nil
}

// MarkAttempt records a failed attempt: retry at next, or give up when
// next is zero. Only a pending delivery changes: a worker whose lease ran
// out may report late, after another delivered the event (whose receiver
// may then have answered the duplicate with an error).
func (s *Store) MarkAttempt(ctx context.Context, eventID, endpoint string, attemptErr error, next time.Time) error {
	status := DeliveryPending
	nextS := s.ts(next)
	if next.IsZero() {
		status, nextS = DeliveryFailed, s.ts(s.now())
	}
	_, err := s.db.ExecContext(ctx, `UPDATE deliveries SET status = ?, attempts = attempts + 1, next_attempt = ?, last_error = ?
		WHERE event_id = ? AND endpoint = ? AND status = ?`,
		status, nextS, attemptErr.Error(), eventID, endpoint, DeliveryPending)
	if err != nil {
		return fmt.Errorf("mark attempt: %w", err)
	}
	return nil
}

// DeliveryCounts counts deliveries by status.
func (s *Store) DeliveryCounts(ctx context.Context) (map[string]int, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT status, COUNT(*) FROM deliveries GROUP BY status`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, err
		}
		out[st] = n
	}
	return out, rows.Err()
}

// Event is one alert event in an incident's history, with the state of
// its delivery to each endpoint.
type Event struct {
	ID          string     `json:"id"`
	Type        string     `json:"type"`
	CreatedAt   time.Time  `json:"created_at"`
	Version     int        `json:"version"`
	Status      string     `json:"status"`
	NewCaptures []string   `json:"new_captures"`
	Deliveries  []Delivery `json:"deliveries"`
}

// Events returns an incident's alert events, oldest first: the timeline
// of what was announced, and to whom it was delivered.
func (s *Store) Events(ctx context.Context, incidentID string) ([]Event, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT event_id, type, created_at, payload FROM outbox WHERE incident_id = ? ORDER BY created_at, event_id`, incidentID)
	if err != nil {
		return nil, fmt.Errorf("events of %s: %w", incidentID, err)
	}
	var out []Event
	for rows.Next() {
		var ev Event
		var at string
		var payload []byte
		if err := rows.Scan(&ev.ID, &ev.Type, &at, &payload); err != nil {
			rows.Close()
			return nil, fmt.Errorf("events of %s: %w", incidentID, err)
		}
		ev.CreatedAt = parseTS(at)
		var data EventData
		if json.Unmarshal(payload, &data) == nil {
			ev.Version, ev.Status, ev.NewCaptures = data.Incident.Version, data.Incident.Status, data.NewCaptures
		}
		out = append(out, ev)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("events of %s: %w", incidentID, err)
	}
	for i := range out {
		if out[i].Deliveries, err = s.deliveriesWhere(ctx, `d.event_id = ?`, out[i].ID); err != nil {
			return nil, fmt.Errorf("events of %s: %w", incidentID, err)
		}
	}
	return out, nil
}
