package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/leakwatch/leakwatch/internal/attribution"
)

// ErrConflict reports a transfer ID already recorded with other contents,
// or a canary given to a second recipient.
var ErrConflict = errors.New("conflicts with the ledger")

// ErrRevoked reports a transfer that is already revoked.
var ErrRevoked = errors.New("already revoked")

// Transfer is one disclosure: captures given to a recipient. Only IDs,
// names, dates and notes are kept, never pixels.
type Transfer struct {
	ID        string `json:"transfer_id"`
	Recipient string `json:"recipient"`
	// Date is the day of the disclosure, YYYY-MM-DD.
	Date string `json:"date"`
	Note string `json:"note,omitempty"`
	// Canary marks a transfer of canary captures (issued to this
	// recipient only).
	Canary bool `json:"canary,omitempty"`
	// Captures are the capture IDs given (on input; on output only from
	// TransferCaptures). Count is how many.
	Captures   []string    `json:"captures,omitempty"`
	Count      int         `json:"count"`
	RecordedAt time.Time   `json:"recorded_at"`
	Revoked    *Revocation `json:"revoked,omitempty"`
}

// Revocation withdraws a transfer recorded in error. The transfer stays
// in the history; its captures no longer count as held by its recipient.
type Revocation struct {
	At     time.Time `json:"at"`
	Reason string    `json:"reason"`
}

// Recipient sums up what one recipient was given.
type Recipient struct {
	Name      string `json:"recipient"`
	Transfers int    `json:"transfers"`
	Revoked   int    `json:"revoked,omitempty"`
	// Holds is the number of distinct captures held through transfers
	// not revoked, canaries included.
	Holds    int `json:"holds"`
	Canaries int `json:"canaries,omitempty"`
}

// digest identifies a transfer's contents, so that recording the same
// transfer twice is recognised whatever the order of its captures.
func (t Transfer) digest() string {
	cs := slices.Clone(t.Captures)
	slices.Sort(cs)
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%t\x00%s", t.Recipient, t.Date, t.Note, t.Canary, strings.Join(cs, "\n"))
	return hex.EncodeToString(h.Sum(nil))
}

// AddTransfers records transfers in one transaction. For each it reports
// whether it was added; false means the same transfer (ID, recipient,
// date, note, kind and captures) was recorded before, so recording it
// again changes nothing. A transfer ID recorded with other contents, or a
// canary already issued to another recipient, fails the whole call with
// ErrConflict: a transfer is corrected by revoking it and recording a new
// one, never by rewriting it.
func (s *Store) AddTransfers(ctx context.Context, ts []Transfer) ([]bool, error) {
	added := make([]bool, len(ts))
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for i, t := range ts {
			var err error
			if added[i], err = addTransfer(ctx, tx, t, s.ts(s.now())); err != nil {
				return fmt.Errorf("transfer %s: %w", t.ID, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	return added, nil
}

func addTransfer(ctx context.Context, tx *sql.Tx, t Transfer, nowS string) (bool, error) {
	if t.ID == "" || t.Recipient == "" {
		return false, errors.New("transfer ID and recipient are required")
	}
	cs := slices.Clone(t.Captures)
	slices.Sort(cs)
	cs = slices.Compact(cs)
	t.Captures = cs
	dg := t.digest()
	var old string
	switch err := tx.QueryRowContext(ctx, `SELECT digest FROM ledger_transfers WHERE id = ?`, t.ID).Scan(&old); {
	case err == nil && old == dg:
		return false, nil
	case err == nil:
		return false, fmt.Errorf("%w: transfer ID already recorded with another recipient, date, note or captures (revoke it and record a new transfer)", ErrConflict)
	case !errors.Is(err, sql.ErrNoRows):
		return false, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO ledger_transfers(id, recipient, disclosed, note, canary, captures, digest, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.Recipient, t.Date, t.Note, boolInt(t.Canary), len(cs), dg, nowS); err != nil {
		return false, err
	}
	ins, err := tx.PrepareContext(ctx, `INSERT INTO ledger_items(transfer_id, capture_id) VALUES (?, ?)`)
	if err != nil {
		return false, err
	}
	defer ins.Close()
	for _, c := range cs {
		if _, err := ins.ExecContext(ctx, t.ID, c); err != nil {
			return false, err
		}
	}
	if t.Canary {
		if _, err := tx.ExecContext(ctx, `INSERT INTO ledger_canaries(capture_id, recipient, transfer_id)
			SELECT capture_id, ?, transfer_id FROM ledger_items WHERE transfer_id = ?
			ON CONFLICT(capture_id) DO NOTHING`, t.Recipient, t.ID); err != nil {
			return false, err
		}
	}
	// A canary names one recipient: it may never be given to another.
	var other string
	err = tx.QueryRowContext(ctx, `SELECT c.capture_id FROM ledger_items i JOIN ledger_canaries c ON c.capture_id = i.capture_id
		WHERE i.transfer_id = ? AND c.recipient <> ? LIMIT 1`, t.ID, t.Recipient).Scan(&other)
	switch {
	case err == nil:
		return false, fmt.Errorf("%w: %s is a canary issued to another recipient", ErrConflict, other)
	case !errors.Is(err, sql.ErrNoRows):
		return false, err
	}
	if t.Canary {
		err = tx.QueryRowContext(ctx, `SELECT h.capture_id FROM ledger_items i JOIN ledger_holdings h ON h.capture_id = i.capture_id
			WHERE i.transfer_id = ? AND h.recipient <> ? LIMIT 1`, t.ID, t.Recipient).Scan(&other)
		switch {
		case err == nil:
			return false, fmt.Errorf("%w: canary %s was already given to another recipient", ErrConflict, other)
		case !errors.Is(err, sql.ErrNoRows):
			return false, err
		}
	}
	var fresh int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM ledger_items i WHERE i.transfer_id = ?
		AND NOT EXISTS (SELECT 1 FROM ledger_holdings h WHERE h.capture_id = i.capture_id)`, t.ID).Scan(&fresh); err != nil {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO ledger_holdings(capture_id, recipient, transfers)
		SELECT capture_id, ?, 1 FROM ledger_items WHERE transfer_id = ?
		ON CONFLICT(capture_id, recipient) DO UPDATE SET transfers = ledger_holdings.transfers + 1`, t.Recipient, t.ID); err != nil {
		return false, err
	}
	return true, refreshCounts(ctx, tx, t.Recipient, fresh)
}

// refreshCounts recounts a recipient's holdings and moves the total of
// distinct captures held by delta.
func refreshCounts(ctx context.Context, tx *sql.Tx, recipient string, delta int) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO ledger_recipients(recipient, captures)
		VALUES (?, (SELECT COUNT(*) FROM ledger_holdings WHERE recipient = ?))
		ON CONFLICT(recipient) DO UPDATE SET captures = excluded.captures`, recipient, recipient); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `UPDATE ledger_totals SET captures = captures + ? WHERE id = 1`, delta)
	return err
}

// RevokeTransfer withdraws a transfer: it stays in the history with the
// reason, and its captures stop counting as held by its recipient (unless
// another transfer gave them too).
func (s *Store) RevokeTransfer(ctx context.Context, id, reason string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var rec string
		err := tx.QueryRowContext(ctx, `SELECT recipient FROM ledger_transfers WHERE id = ?`, id).Scan(&rec)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM ledger_revocations WHERE transfer_id = ?`, id).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return ErrRevoked
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO ledger_revocations(transfer_id, reason, revoked_at) VALUES (?, ?, ?)`, id, reason, s.ts(s.now())); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE ledger_holdings SET transfers = transfers - 1
			WHERE recipient = ? AND capture_id IN (SELECT capture_id FROM ledger_items WHERE transfer_id = ?)`, rec, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM ledger_holdings WHERE recipient = ? AND transfers <= 0`, rec); err != nil {
			return err
		}
		// Canaries issued by this transfer are unbound (a canary issued to
		// a misspelt recipient, revoked, can then be recorded for the right
		// one), unless another canary transfer not revoked issued them.
		if _, err := tx.ExecContext(ctx, `DELETE FROM ledger_canaries WHERE transfer_id = ?`, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO ledger_canaries(capture_id, recipient, transfer_id)
			SELECT i.capture_id, t.recipient, t.id FROM ledger_items i JOIN ledger_transfers t ON t.id = i.transfer_id
			WHERE t.canary = 1 AND t.id NOT IN (SELECT transfer_id FROM ledger_revocations)
			AND i.capture_id IN (SELECT capture_id FROM ledger_items WHERE transfer_id = ?)
			ON CONFLICT(capture_id) DO NOTHING`, id); err != nil {
			return err
		}
		var gone int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM ledger_items i WHERE i.transfer_id = ?
			AND NOT EXISTS (SELECT 1 FROM ledger_holdings h WHERE h.capture_id = i.capture_id)`, id).Scan(&gone); err != nil {
			return err
		}
		return refreshCounts(ctx, tx, rec, -gone)
	})
	if err != nil {
		return fmt.Errorf("revoke transfer %s: %w", id, err)
	}
	return nil
}

// Transfers lists recorded transfers, revoked ones included, oldest
// first; recipient "" lists everyone's.
func (s *Store) Transfers(ctx context.Context, recipient string) ([]Transfer, error) {
	q := `SELECT t.id, t.recipient, t.disclosed, t.note, t.canary, t.captures, t.recorded_at, r.reason, r.revoked_at
		FROM ledger_transfers t LEFT JOIN ledger_revocations r ON r.transfer_id = t.id`
	var args []any
	if recipient != "" {
		q += ` WHERE t.recipient = ?`
		args = append(args, recipient)
	}
	rows, err := s.db.QueryContext(ctx, q+` ORDER BY t.recorded_at, t.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("ledger transfers: %w", err)
	}
	defer rows.Close()
	var out []Transfer
	for rows.Next() {
		var t Transfer
		var canary int
		var rec string
		var reason, at sql.NullString
		if err := rows.Scan(&t.ID, &t.Recipient, &t.Date, &t.Note, &canary, &t.Count, &rec, &reason, &at); err != nil {
			return nil, err
		}
		t.Canary, t.RecordedAt = canary != 0, parseTS(rec)
		if at.Valid {
			t.Revoked = &Revocation{At: parseTS(at.String), Reason: reason.String}
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// TransferCaptures returns the capture IDs of a transfer, sorted.
func (s *Store) TransferCaptures(ctx context.Context, id string) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT capture_id FROM ledger_items WHERE transfer_id = ? ORDER BY capture_id`, id)
	if err != nil {
		return nil, fmt.Errorf("ledger transfer %s: %w", id, err)
	}
	return scanStrings(rows)
}

// Recipients sums up the ledger per recipient, by name.
func (s *Store) Recipients(ctx context.Context) ([]Recipient, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT t.recipient, COUNT(*), COUNT(r.transfer_id), COALESCE(MAX(h.captures), 0),
			(SELECT COUNT(*) FROM ledger_canaries c WHERE c.recipient = t.recipient)
		FROM ledger_transfers t LEFT JOIN ledger_revocations r ON r.transfer_id = t.id
		LEFT JOIN ledger_recipients h ON h.recipient = t.recipient
		GROUP BY t.recipient ORDER BY t.recipient`)
	if err != nil {
		return nil, fmt.Errorf("ledger recipients: %w", err)
	}
	defer rows.Close()
	var out []Recipient
	for rows.Next() {
		var r Recipient
		if err := rows.Scan(&r.Name, &r.Transfers, &r.Revoked, &r.Holds, &r.Canaries); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Attribute attributes a set of leaked captures (an incident's, a run's)
// to recipients from the ledger. It returns nil when the ledger has never
// recorded a transfer.
func (s *Store) Attribute(ctx context.Context, leaked []string) (*attribution.Result, error) {
	res, _, err := attribute(ctx, s.db, leaked)
	return res, err
}

// inChunk bounds the parameters of one IN (...) list.
const inChunk = 500

// eachChunk runs q with "(?,...)" in place of IN_LIST for each chunk of
// keys, calling fn per row.
func eachChunk(ctx context.Context, q querier, query string, keys []string, fn func(*sql.Rows) error) error {
	for len(keys) > 0 {
		n := min(len(keys), inChunk)
		in, args := inList(keys[:n])
		rows, err := q.QueryContext(ctx, strings.Replace(query, "IN_LIST", "("+in+")", 1), args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			if err := fn(rows); err != nil {
				rows.Close()
				return err
			}
		}
		if err := rows.Close(); err != nil {
			return err
		}
		keys = keys[n:]
	}
	return nil
}

// attribute gathers the ledger facts about the leaked captures and
// computes the attribution; it also returns the leaked captures that are
// canaries.
func attribute(ctx context.Context, q querier, leaked []string) (*attribution.Result, []string, error) {
	var transfers int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM ledger_transfers LIMIT 1) AS t`).Scan(&transfers); err != nil {
		return nil, nil, fmt.Errorf("attribute: %w", err)
	}
	if transfers == 0 {
		return nil, nil, nil
	}
	in := attribution.Input{Leaked: leaked, Holders: map[string][]string{}, Sizes: map[string]int{}, Canaries: map[string]string{}}
	err := eachChunk(ctx, q, `SELECT capture_id, recipient FROM ledger_holdings WHERE capture_id IN IN_LIST`, leaked, func(r *sql.Rows) error {
		var c, rec string
		if err := r.Scan(&c, &rec); err != nil {
			return err
		}
		in.Holders[c] = append(in.Holders[c], rec)
		if _, ok := in.Sizes[rec]; !ok {
			in.Sizes[rec] = 0
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("attribute: %w", err)
	}
	var canaries []string
	err = eachChunk(ctx, q, `SELECT capture_id, recipient FROM ledger_canaries WHERE capture_id IN IN_LIST`, leaked, func(r *sql.Rows) error {
		var c, rec string
		if err := r.Scan(&c, &rec); err != nil {
			return err
		}
		in.Canaries[c] = rec
		canaries = append(canaries, c)
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("attribute: %w", err)
	}
	names := make([]string, 0, len(in.Sizes))
	for n := range in.Sizes {
		names = append(names, n)
	}
	err = eachChunk(ctx, q, `SELECT recipient, captures FROM ledger_recipients WHERE recipient IN IN_LIST`, names, func(r *sql.Rows) error {
		var rec string
		var n int
		if err := r.Scan(&rec, &n); err != nil {
			return err
		}
		in.Sizes[rec] = n
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("attribute: %w", err)
	}
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM ledger_recipients`).Scan(&in.Recipients); err != nil {
		return nil, nil, fmt.Errorf("attribute: %w", err)
	}
	if err := q.QueryRowContext(ctx, `SELECT captures FROM ledger_totals WHERE id = 1`).Scan(&in.Universe); err != nil {
		return nil, nil, fmt.Errorf("attribute: %w", err)
	}
	res := attribution.Compute(in)
	slices.Sort(canaries)
	return &res, canaries, nil
}

// RunCaptures returns the captures matched in a run (run <= 0: the latest
// run): those whose last sighting falls within the run, dismissed matches
// left out. That is exact for
// the latest run; for an earlier run it leaves out captures seen again
// since.
func (s *Store) RunCaptures(ctx context.Context, run int64) (int64, []string, error) {
	q := `SELECT id, started_at, COALESCE(finished_at, '') FROM runs WHERE id = ?`
	args := []any{run}
	if run <= 0 {
		q, args = `SELECT id, started_at, COALESCE(finished_at, '') FROM runs ORDER BY id DESC LIMIT 1`, nil
	}
	var id int64
	var st, fin string
	err := s.db.QueryRowContext(ctx, q, args...).Scan(&id, &st, &fin)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil, fmt.Errorf("run: %w", ErrNotFound)
	}
	if err != nil {
		return 0, nil, fmt.Errorf("run captures: %w", err)
	}
	from, to := parseTS(st), s.now()
	if fin != "" {
		to = parseTS(fin)
	}
	// Dismissed matches (false positives) leaked nothing.
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT m.capture_id, m.last_seen FROM incident_matches m
		WHERE NOT EXISTS (SELECT 1 FROM dismissals d WHERE d.capture_id = m.capture_id AND d.sha256 = m.sha256)`)
	if err != nil {
		return 0, nil, fmt.Errorf("run captures: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var c, ls string
		if err := rows.Scan(&c, &ls); err != nil {
			return 0, nil, err
		}
		// Timestamps are compared as times: RFC 3339 with trimmed
		// fractions does not sort as text.
		if t := parseTS(ls); !t.Before(from) && !t.After(to) {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return id, slices.Compact(out), rows.Err()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
