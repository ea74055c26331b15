package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Endpoint is the delivery state of one alert endpoint. Endpoints are
// named by key (kind plus a hash of the URL, see alerts.EndpointKey), never
// by URL, because a Slack URL is itself a credential.
type Endpoint struct {
	Key string `json:"key"`
	// Name is the notifier's log name, e.g. "webhook(hooks.example.org)".
	Name           string    `json:"name,omitempty"`
	Disabled       bool      `json:"disabled"`
	DisabledAt     time.Time `json:"disabled_at,omitzero"`
	DisabledReason string    `json:"disabled_reason,omitempty"`
	LastSuccess    time.Time `json:"last_success,omitzero"`
	LastFailure    time.Time `json:"last_failure,omitzero"`
	LastError      string    `json:"last_error,omitempty"`
	// Failures counts failed attempts since the last success.
	Failures int `json:"consecutive_failures"`
	// Deliveries by state.
	Pending   int `json:"pending"`
	Delivered int `json:"delivered"`
	Failed    int `json:"failed"`
}

// DisableEndpoint stops deliveries to an endpoint (it answered 410 Gone)
// until EnableEndpoint. Its pending deliveries stay pending.
func (s *Store) DisableEndpoint(ctx context.Context, key, name, reason string) error {
	now := s.ts(s.now())
	_, err := s.db.ExecContext(ctx, `INSERT INTO endpoints(key, name, disabled_at, disabled_reason) VALUES (?, ?, ?, ?)
		ON CONFLICT(key) DO UPDATE SET name = CASE WHEN excluded.name = '' THEN endpoints.name ELSE excluded.name END,
			disabled_at = COALESCE(endpoints.disabled_at, excluded.disabled_at), disabled_reason = excluded.disabled_reason`,
		key, name, now, reason)
	if err != nil {
		return fmt.Errorf("disable endpoint %s: %w", key, err)
	}
	return nil
}

// EnableEndpoint re-enables an endpoint and makes its pending deliveries
// due at once. It reports whether the endpoint was disabled; an endpoint
// the store has never seen is ErrNotFound.
func (s *Store) EnableEndpoint(ctx context.Context, key string) (wasDisabled bool, err error) {
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var disabled sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT disabled_at FROM endpoints WHERE key = ?`, key).Scan(&disabled)
		if errors.Is(err, sql.ErrNoRows) {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM deliveries WHERE endpoint = ?`, key).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return fmt.Errorf("endpoint %s: %w", key, ErrNotFound)
			}
			return nil
		}
		if err != nil {
			return err
		}
		wasDisabled = disabled.Valid
		if _, err := tx.ExecContext(ctx, `UPDATE endpoints SET disabled_at = NULL, disabled_reason = NULL, failures = 0 WHERE key = ?`, key); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE deliveries SET next_attempt = ? WHERE endpoint = ? AND status = ?`, s.ts(s.now()), key, DeliveryPending)
		return err
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		err = fmt.Errorf("enable endpoint %s: %w", key, err)
	}
	return wasDisabled, err
}

// RecordEndpointResult keeps the endpoint's last success or failure, for
// "leakwatch alerts endpoints". attemptErr nil means success.
func (s *Store) RecordEndpointResult(ctx context.Context, key, name string, attemptErr error) error {
	now := s.ts(s.now())
	var err error
	if attemptErr == nil {
		_, err = s.db.ExecContext(ctx, `INSERT INTO endpoints(key, name, last_success) VALUES (?, ?, ?)
			ON CONFLICT(key) DO UPDATE SET name = excluded.name, last_success = excluded.last_success, failures = 0`, key, name, now)
	} else {
		_, err = s.db.ExecContext(ctx, `INSERT INTO endpoints(key, name, last_failure, last_error, failures) VALUES (?, ?, ?, ?, 1)
			ON CONFLICT(key) DO UPDATE SET name = excluded.name, last_failure = excluded.last_failure,
				last_error = excluded.last_error, failures = endpoints.failures + 1`, key, name, now, attemptErr.Error())
	}
	if err != nil {
		return fmt.Errorf("record endpoint result %s: %w", key, err)
	}
	return nil
}

// DisabledEndpoints returns the keys of disabled endpoints.
func (s *Store) DisabledEndpoints(ctx context.Context) (map[string]bool, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT key FROM endpoints WHERE disabled_at IS NOT NULL`)
	if err != nil {
		return nil, fmt.Errorf("disabled endpoints: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		out[k] = true
	}
	return out, rows.Err()
}

// Endpoints returns every endpoint the store knows, from its state record
// or its deliveries, sorted by key.
func (s *Store) Endpoints(ctx context.Context) ([]Endpoint, error) {
	byKey := map[string]*Endpoint{}
	get := func(k string) *Endpoint {
		e := byKey[k]
		if e == nil {
			e = &Endpoint{Key: k}
			byKey[k] = e
		}
		return e
	}
	rows, err := s.db.QueryContext(ctx, `SELECT key, name, disabled_at, disabled_reason, last_success, last_failure, last_error, failures FROM endpoints`)
	if err != nil {
		return nil, fmt.Errorf("endpoints: %w", err)
	}
	for rows.Next() {
		var k, name string
		var dis, reason, ok, fail, lastErr sql.NullString
		var failures int
		if err := rows.Scan(&k, &name, &dis, &reason, &ok, &fail, &lastErr, &failures); err != nil {
			rows.Close()
			return nil, err
		}
		e := get(k)
		e.Name, e.Disabled, e.DisabledReason, e.LastError, e.Failures = name, dis.Valid, reason.String, lastErr.String, failures
		e.DisabledAt, e.LastSuccess, e.LastFailure = parseTS(dis.String), parseTS(ok.String), parseTS(fail.String)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = s.db.QueryContext(ctx, `SELECT endpoint, status, COUNT(*) FROM deliveries GROUP BY endpoint, status`)
	if err != nil {
		return nil, fmt.Errorf("endpoints: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k, st string
		var n int
		if err := rows.Scan(&k, &st, &n); err != nil {
			return nil, err
		}
		e := get(k)
		switch st {
		case DeliveryPending:
			e.Pending = n
		case DeliveryDelivered:
			e.Delivered = n
		case DeliveryFailed:
			e.Failed = n
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]Endpoint, 0, len(byKey))
	for _, e := range byKey {
		out = append(out, *e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// DueFor returns up to limit deliveries that are due for the given
// endpoints, oldest event first, skipping disabled endpoints. Restricting
// the query to the endpoints a process can deliver to keeps deliveries for
// endpoints it does not know (or has disabled) from filling the batch.
func (s *Store) DueFor(ctx context.Context, endpoints []string, limit int) ([]Pending, error) {
	if len(endpoints) == 0 {
		return nil, nil
	}
	in, args := inList(endpoints)
	args = append([]any{DeliveryPending, s.ts(s.now())}, args...)
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, `SELECT o.event_id, o.incident_id, o.type, o.payload, o.created_at, d.endpoint, d.attempts
		FROM deliveries d JOIN outbox o ON o.event_id = d.event_id
		WHERE d.status = ? AND d.next_attempt <= ? AND d.endpoint IN (`+in+`)
			AND d.endpoint NOT IN (SELECT key FROM endpoints WHERE disabled_at IS NOT NULL)
		ORDER BY o.created_at, o.event_id, d.endpoint LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("due deliveries: %w", err)
	}
	defer rows.Close()
	var out []Pending
	for rows.Next() {
		var p Pending
		var c string
		if err := rows.Scan(&p.EventID, &p.IncidentID, &p.Type, &p.Payload, &c, &p.Endpoint, &p.Attempts); err != nil {
			return nil, err
		}
		p.CreatedAt = parseTS(c)
		out = append(out, p)
	}
	return out, rows.Err()
}

// PendingFor counts undelivered deliveries for the given endpoints that
// can still go out: disabled endpoints are not counted, since waiting for
// them is pointless until someone re-enables them.
func (s *Store) PendingFor(ctx context.Context, endpoints []string) (int, error) {
	if len(endpoints) == 0 {
		return 0, nil
	}
	in, args := inList(endpoints)
	args = append([]any{DeliveryPending}, args...)
	var n int
	// Held deliveries are left out: they belong to a scan still running
	// (another process's, on a shared store), whose end sends them.
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM deliveries WHERE status = ? AND held = 0 AND endpoint IN (`+in+`)
		AND endpoint NOT IN (SELECT key FROM endpoints WHERE disabled_at IS NOT NULL)`, args...).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("pending count: %w", err)
	}
	return n, nil
}

// inList returns "?, ?, ..." and the arguments for an IN clause.
func inList(vs []string) (string, []any) {
	args := make([]any, len(vs))
	for i, v := range vs {
		args[i] = v
	}
	return strings.TrimSuffix(strings.Repeat("?, ", len(vs)), ", "), args
}

// Delivery is one event's delivery to one endpoint.
type Delivery struct {
	EventID     string    `json:"event_id"`
	IncidentID  string    `json:"incident_id"`
	Type        string    `json:"type"`
	CreatedAt   time.Time `json:"created_at"`
	Endpoint    string    `json:"endpoint"`
	Status      string    `json:"status"`
	Attempts    int       `json:"attempts"`
	NextAttempt time.Time `json:"next_attempt,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
	DeliveredAt time.Time `json:"delivered_at,omitzero"`
}

// Deliveries lists deliveries, oldest event first; status "" means all.
func (s *Store) Deliveries(ctx context.Context, status string) ([]Delivery, error) {
	out, err := s.deliveriesWhere(ctx, `? = '' OR d.status = ?`, status, status)
	if err != nil {
		return nil, fmt.Errorf("deliveries: %w", err)
	}
	return out, nil
}

// deliveriesWhere lists the deliveries (d) of outbox events (o) that
// match the condition, oldest event first.
func (s *Store) deliveriesWhere(ctx context.Context, cond string, args ...any) ([]Delivery, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT o.event_id, o.incident_id, o.type, o.created_at, d.endpoint, d.status, d.attempts,
			d.next_attempt, d.last_error, d.delivered_at
		FROM deliveries d JOIN outbox o ON o.event_id = d.event_id
		WHERE `+cond+` ORDER BY o.created_at, o.event_id, d.endpoint`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Delivery
	for rows.Next() {
		var d Delivery
		var created, next string
		var lastErr, delivered sql.NullString
		if err := rows.Scan(&d.EventID, &d.IncidentID, &d.Type, &created, &d.Endpoint, &d.Status, &d.Attempts, &next, &lastErr, &delivered); err != nil {
			return nil, err
		}
		d.CreatedAt, d.LastError, d.DeliveredAt = parseTS(created), lastErr.String, parseTS(delivered.String)
		if d.Status == DeliveryPending {
			d.NextAttempt = parseTS(next)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// EventIDs returns the ID of every event in the outbox.
func (s *Store) EventIDs(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT event_id FROM outbox ORDER BY created_at, event_id`)
	if err != nil {
		return nil, fmt.Errorf("event ids: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// AdoptEndpoints records that this process delivers to the endpoints keys
// (from now on, the first time a key is seen) and gives each of them a
// delivery of every event recorded since then, and not before notBefore,
// that has none for it: an event gets deliveries for the endpoints of the
// process that recorded it, and a worker started without the alert
// configuration, or a scan with other endpoints than the watcher's,
// records events that the others' endpoints would otherwise never
// receive. A delivery added is held while the event's hold lasts, or due
// at once. It returns how many it added.
func (s *Store) AdoptEndpoints(ctx context.Context, keys []string, notBefore time.Time) (int, error) {
	now := s.now()
	nowS := s.ts(now)
	added := 0
	for _, key := range keys {
		var first sql.NullString
		err := s.tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO endpoints(key, first_seen) VALUES (?, ?)
				ON CONFLICT(key) DO UPDATE SET first_seen = COALESCE(endpoints.first_seen, excluded.first_seen)`, key, nowS); err != nil {
				return err
			}
			return tx.QueryRowContext(ctx, `SELECT first_seen FROM endpoints WHERE key = ?`, key).Scan(&first)
		})
		if err != nil {
			return added, fmt.Errorf("adopt endpoint %s: %w", key, err)
		}
		since := parseTS(first.String)
		if notBefore.After(since) {
			since = notBefore
		}
		// RFC 3339 text sorts as time to the second: the SQL bound takes
		// the second before, the exact bound is applied below.
		bound := since.Add(-time.Second).UTC().Format("2006-01-02T15:04:05")
		rows, err := s.db.QueryContext(ctx, `SELECT o.event_id, o.created_at FROM outbox o WHERE o.created_at >= ?
			AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = o.event_id AND d.endpoint = ?)`, bound, key)
		if err != nil {
			return added, fmt.Errorf("adopt endpoint %s: %w", key, err)
		}
		var events []string
		for rows.Next() {
			var ev, at string
			if err := rows.Scan(&ev, &at); err != nil {
				rows.Close()
				return added, fmt.Errorf("adopt endpoint %s: %w", key, err)
			}
			if !parseTS(at).Before(since) {
				events = append(events, ev)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return added, fmt.Errorf("adopt endpoint %s: %w", key, err)
		}
		for _, ev := range events {
			// One statement: the hold is read as the delivery is written,
			// so a release (ReleaseHeld) is seen wholly before or after.
			res, err := s.db.ExecContext(ctx, `INSERT INTO deliveries(event_id, endpoint, next_attempt, held)
				SELECT o.event_id, ?, COALESCE(o.held_until, ?), CASE WHEN o.held_until IS NULL THEN 0 ELSE 1 END FROM outbox o WHERE o.event_id = ?
				ON CONFLICT(event_id, endpoint) DO NOTHING`, key, nowS, ev)
			if err != nil {
				return added, fmt.Errorf("adopt endpoint %s: %w", key, err)
			}
			if k, _ := res.RowsAffected(); k == 1 {
				added++
			}
		}
	}
	return added, nil
}
