package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// ClaimDue returns up to limit due deliveries for the given endpoints, as
// DueFor does, and on a PostgreSQL store also leases them: their next
// attempt moves lease into the future in the same transaction, rows
// locked by another claimer are skipped (FOR UPDATE SKIP LOCKED), so two
// workers never send one event at the same time. A worker that dies
// holding a claim only delays the delivery until the lease ends; the
// event keeps its ID, so a receiver still drops a duplicate. On SQLite,
// where the run lock already keeps two senders apart, it is DueFor.
func (s *Store) ClaimDue(ctx context.Context, endpoints []string, limit int, lease time.Duration) ([]Pending, error) {
	if !s.pg {
		return s.DueFor(ctx, endpoints, limit)
	}
	if len(endpoints) == 0 {
		return nil, nil
	}
	var out []Pending
	err := s.tx(ctx, func(tx *sql.Tx) error {
		out = nil
		now := s.now()
		in, args := inList(endpoints)
		args = append([]any{DeliveryPending, s.ts(now)}, args...)
		args = append(args, limit)
		rows, err := tx.QueryContext(ctx, `SELECT d.event_id, d.endpoint, d.attempts
			FROM deliveries d JOIN outbox o ON o.event_id = d.event_id
			WHERE d.status = ? AND d.next_attempt <= ? AND d.endpoint IN (`+in+`)
				AND d.endpoint NOT IN (SELECT key FROM endpoints WHERE disabled_at IS NOT NULL)
			ORDER BY o.created_at, o.event_id, d.endpoint LIMIT ? FOR UPDATE OF d SKIP LOCKED`, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var p Pending
			if err := rows.Scan(&p.EventID, &p.Endpoint, &p.Attempts); err != nil {
				rows.Close()
				return err
			}
			out = append(out, p)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		until := s.ts(now.Add(lease))
		for i := range out {
			p := &out[i]
			if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET next_attempt = ?, held = 0 WHERE event_id = ? AND endpoint = ?`, until, p.EventID, p.Endpoint); err != nil {
				return err
			}
			var c string
			if err := tx.QueryRowContext(ctx, `SELECT incident_id, type, payload, created_at FROM outbox WHERE event_id = ?`, p.EventID).
				Scan(&p.IncidentID, &p.Type, &p.Payload, &c); err != nil {
				return err
			}
			p.CreatedAt = parseTS(c)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	return out, nil
}
