package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrLeaseLost reports that a work item's lease ended (it was not renewed
// in time) and another worker may have claimed it: the holder must drop
// its result.
var ErrLeaseLost = errors.New("work item lease lost")

// ErrNotShared reports a run that is a single-process scan, not a shared
// run with a queue.
var ErrNotShared = errors.New("not a shared run")

// Work item states.
const (
	ItemPending = "pending"
	ItemRunning = "running"
	ItemDone    = "done"
	ItemFailed  = "failed"
)

// Run states of a shared run.
const (
	RunRunning = "running"
	RunDone    = "done"
)

// MaxItemAttempts bounds how often an item whose worker died is claimed
// again: an item that kills every worker that takes it (a decoder crash,
// a memory bomb) ends failed instead of looping.
const MaxItemAttempts = 3

// Item is one unit of work of a shared run: a page to fetch and parse, or
// an image or archive to fetch and match.
type Item struct {
	ID    int64
	RunID int64
	URL   string
	// Page is the page that linked the item (empty for a seed).
	Page     string
	Kind     string
	Depth    int
	Attempts int
}

// ms is a time as the Unix milliseconds the frontier stores: integers
// compare correctly in both dialects, unlike formatted text.
func ms(t time.Time) int64 { return t.UnixMilli() }

// skipLocked is the row-locking clause of a claim: PostgreSQL skips rows
// another claimer holds; SQLite has a single writer and no such clause.
func (s *Store) skipLocked(of string) string {
	if s.pg {
		return " FOR UPDATE OF " + of + " SKIP LOCKED"
	}
	return ""
}

// CreateRun starts a shared run with its configuration (scope and limits,
// opaque to the store) and its seed items, in one transaction.
func (s *Store) CreateRun(ctx context.Context, seeds string, config []byte, items []Item) (int64, error) {
	var id int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `INSERT INTO runs(started_at, seeds, config) VALUES (?, ?, ?) RETURNING id`,
			s.ts(s.now()), seeds, string(config)).Scan(&id); err != nil {
			return err
		}
		for _, it := range items {
			if _, err := tx.ExecContext(ctx, `INSERT INTO work_items(run_id, url, page, kind, depth) VALUES (?, ?, ?, ?, ?)
				ON CONFLICT(run_id, url) DO NOTHING`, id, it.URL, it.Page, it.Kind, it.Depth); err != nil {
				return err
			}
		}
		if len(items) == 0 {
			_, err := tx.ExecContext(ctx, `UPDATE runs SET status = ?, finished_at = ? WHERE id = ?`, RunDone, s.ts(s.now()), id)
			return err
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("create run: %w", err)
	}
	return id, nil
}

// RunConfig returns the configuration a shared run was created with.
func (s *Store) RunConfig(ctx context.Context, id int64) ([]byte, error) {
	var c sql.NullString
	err := s.db.QueryRowContext(ctx, `SELECT config FROM runs WHERE id = ?`, id).Scan(&c)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("run %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("run config: %w", err)
	}
	if !c.Valid {
		return nil, fmt.Errorf("run %d is a single-process scan: %w", id, ErrNotShared)
	}
	return []byte(c.String), nil
}

// Claim leases up to limit work items of running shared runs (of run
// only, when run is not 0) to owner until lease from now: pending items,
// oldest first, and items whose holder's lease ran out. One statement: on
// PostgreSQL rows another worker is claiming are skipped (SKIP LOCKED),
// never waited for. Items that ran out of attempts are failed first.
// Items of the runs in skip are not claimed.
func (s *Store) Claim(ctx context.Context, owner string, run int64, limit int, lease time.Duration, skip ...int64) ([]Item, error) {
	now := s.now()
	// Items whose lease ran out once too often are failed at most once a
	// second per store: a claim is otherwise a single statement.
	if last := s.lastReap.Load(); ms(now)-last >= 1000 && s.lastReap.CompareAndSwap(last, ms(now)) {
		if _, err := s.db.ExecContext(ctx, `UPDATE work_items SET state = ?, error = ?, lease_owner = NULL
			WHERE state = ? AND lease_until < ? AND attempts >= ?`,
			ItemFailed, fmt.Sprintf("its worker stopped %d times while holding it", MaxItemAttempts), ItemRunning, ms(now), MaxItemAttempts); err != nil {
			return nil, fmt.Errorf("claim: %w", err)
		}
	}
	// Runs the worker cannot take part in (a Tor run, for a worker
	// without Tor) are left out, so their items do not stand in the way
	// of other runs'.
	notIn, skipArgs := "", []any(nil)
	if len(skip) > 0 {
		notIn = " AND w.run_id NOT IN (" + strings.Repeat("?, ", len(skip)-1) + "?)"
		for _, r := range skip {
			skipArgs = append(skipArgs, r)
		}
	}
	out, err := s.claim(ctx, owner, run, limit, now, lease, `w.state = ?`+notIn, append([]any{ItemPending}, skipArgs...)...)
	if err == nil && len(out) < limit {
		// Then items whose holder's lease ran out (it died or hangs).
		var more []Item
		more, err = s.claim(ctx, owner, run, limit-len(out), now, lease, `w.state = ? AND w.lease_until < ?`+notIn, append([]any{ItemRunning, ms(now)}, skipArgs...)...)
		out = append(out, more...)
	}
	if err != nil {
		return nil, fmt.Errorf("claim: %w", err)
	}
	return out, nil
}

// claim leases up to limit items matching cond (on w, the work_items
// row), oldest first, in one statement.
func (s *Store) claim(ctx context.Context, owner string, run int64, limit int, now time.Time, lease time.Duration, cond string, args ...any) ([]Item, error) {
	q := `UPDATE work_items SET state = ?, lease_owner = ?, lease_until = ?, attempts = attempts + 1
		WHERE id IN (SELECT w.id FROM work_items w JOIN runs r ON r.id = w.run_id
			WHERE ` + cond + ` AND r.status = ? AND (? = 0 OR w.run_id = ?)
			ORDER BY w.id LIMIT ?` + s.skipLocked("w") + `)
		RETURNING id, run_id, url, page, kind, depth, attempts`
	all := append([]any{ItemRunning, owner, ms(now.Add(lease))}, args...)
	all = append(all, RunRunning, run, run, limit)
	rows, err := s.db.QueryContext(ctx, q, all...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Item
	for rows.Next() {
		var it Item
		if err := rows.Scan(&it.ID, &it.RunID, &it.URL, &it.Page, &it.Kind, &it.Depth, &it.Attempts); err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// Heartbeat renews owner's lease on an item. ErrLeaseLost means the lease
// had already been taken over: stop working on the item.
func (s *Store) Heartbeat(ctx context.Context, owner string, id int64, lease time.Duration) error {
	res, err := s.db.ExecContext(ctx, `UPDATE work_items SET lease_until = ? WHERE id = ? AND lease_owner = ? AND state = ?`,
		ms(s.now().Add(lease)), id, owner, ItemRunning)
	if err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return fmt.Errorf("item %d: %w", id, ErrLeaseLost)
	}
	return nil
}

// Release returns an item owner holds to the queue without a result, at
// once and without counting the attempt: the worker gave it up for a
// reason of its own (it is stopping, or could not record the item's
// matches), not because the item killed it. ErrLeaseLost means owner no
// longer held it.
func (s *Store) Release(ctx context.Context, owner string, id int64) error {
	res, err := s.db.ExecContext(ctx, `UPDATE work_items SET state = ?, lease_owner = NULL, lease_until = 0, attempts = attempts - 1
		WHERE id = ? AND lease_owner = ? AND state = ? AND attempts > 0`, ItemPending, id, owner, ItemRunning)
	if err != nil {
		return fmt.Errorf("release item: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return fmt.Errorf("item %d: %w", id, ErrLeaseLost)
	}
	return nil
}

// ChargeLinks spends n bytes of run's budget of stored page links (max
// bytes, shared by every worker of the run) if they fit. ok is false when
// they do not: the page's links are not stored, and it is fetched in full
// next time. first is set for the one caller that found the budget spent
// first, so the run reports it once whichever worker hits it.
func (s *Store) ChargeLinks(ctx context.Context, run, n, max int64) (ok, first bool, err error) {
	res, err := s.db.ExecContext(ctx, `UPDATE runs SET stored_link_bytes = stored_link_bytes + ? WHERE id = ? AND stored_link_bytes + ? <= ?`, n, run, n, max)
	if err != nil {
		return false, false, fmt.Errorf("charge links: %w", err)
	}
	if k, err := res.RowsAffected(); err != nil || k == 1 {
		return err == nil, false, err
	}
	res, err = s.db.ExecContext(ctx, `UPDATE runs SET link_budget_spent = 1 WHERE id = ? AND link_budget_spent = 0`, run)
	if err != nil {
		return false, false, fmt.Errorf("charge links: %w", err)
	}
	k, err := res.RowsAffected()
	return false, k == 1, err
}

// Result is what a worker reports for an item it finished.
type Result struct {
	// Err is the item's error; a non-empty Err fails the item.
	Err string
	// Matches counts the captures matched in the item.
	Matches int
	// Children are the items the item led to (the links of a page); those
	// already queued in the run are ignored, and pages beyond maxPages are
	// dropped (reported by Dropped).
	Children []Item
}

// Completion says what Complete did.
type Completion struct {
	// Dropped counts child pages not queued because of the run's page limit.
	Dropped int
	// RunDone is set for the one worker whose completion emptied the run's
	// queue: it finishes the run (announces, writes the summary).
	RunDone bool
}

// Complete records an item's result, queues its children and, if the
// run's queue is now empty, marks the run done, in one transaction. It
// fails with ErrLeaseLost, changing nothing, when owner no longer holds
// the item.
func (s *Store) Complete(ctx context.Context, owner string, it Item, r Result, maxPages, maxItems int) (Completion, error) {
	var c Completion
	err := s.runTx(ctx, it.RunID, func(tx *sql.Tx) error {
		c = Completion{}
		state := ItemDone
		if r.Err != "" {
			state = ItemFailed
		}
		res, err := tx.ExecContext(ctx, `UPDATE work_items SET state = ?, error = ?, matches = ?, lease_owner = NULL
			WHERE id = ? AND lease_owner = ? AND state = ?`, state, nullable(r.Err), r.Matches, it.ID, owner, ItemRunning)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return fmt.Errorf("item %d: %w", it.ID, ErrLeaseLost)
		}
		if len(r.Children) > 0 {
			var pages, items int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN kind = 'page' THEN 1 ELSE 0 END), 0) FROM work_items WHERE run_id = ?`,
				it.RunID).Scan(&items, &pages); err != nil {
				return err
			}
			for _, ch := range r.Children {
				isPage := ch.Kind == "page"
				if (isPage && pages >= maxPages) || items >= maxItems {
					// Over the limit: only a link not queued yet is lost.
					var one int
					err := tx.QueryRowContext(ctx, `SELECT 1 FROM work_items WHERE run_id = ? AND url = ?`, it.RunID, ch.URL).Scan(&one)
					if errors.Is(err, sql.ErrNoRows) {
						c.Dropped++
					} else if err != nil {
						return err
					}
					continue
				}
				res, err := tx.ExecContext(ctx, `INSERT INTO work_items(run_id, url, page, kind, depth) VALUES (?, ?, ?, ?, ?)
					ON CONFLICT(run_id, url) DO NOTHING`, it.RunID, ch.URL, ch.Page, ch.Kind, ch.Depth)
				if err != nil {
					return err
				}
				if n, _ := res.RowsAffected(); n == 1 {
					items++
					if isPage {
						pages++
					}
				}
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO run_workers(run_id, worker, first_seen, last_seen, items) VALUES (?, ?, ?, ?, 1)
			ON CONFLICT(run_id, worker) DO UPDATE SET last_seen = excluded.last_seen, items = run_workers.items + 1`,
			it.RunID, owner, s.ts(s.now()), s.ts(s.now())); err != nil {
			return err
		}
		var open int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM work_items WHERE run_id = ? AND state IN (?, ?)`,
			it.RunID, ItemPending, ItemRunning).Scan(&open); err != nil {
			return err
		}
		if open > 0 {
			return nil
		}
		res, err = tx.ExecContext(ctx, `UPDATE runs SET status = ?, finished_at = ? WHERE id = ? AND status = ?`, RunDone, s.ts(s.now()), it.RunID, RunRunning)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		c.RunDone = n == 1
		return err
	})
	if err != nil && !errors.Is(err, ErrLeaseLost) {
		err = fmt.Errorf("complete item: %w", err)
	}
	return c, err
}

// SetRunSummary stores the summary a shared run's last worker assembled.
func (s *Store) SetRunSummary(ctx context.Context, id int64, summary string) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE runs SET summary = ? WHERE id = ?`, summary, id); err != nil {
		return fmt.Errorf("run summary: %w", err)
	}
	return nil
}

// RunInfo is a run's state for "leakwatch runs".
type RunInfo struct {
	ID         int64     `json:"id"`
	Status     string    `json:"status"`
	Shared     bool      `json:"shared"`
	Seeds      string    `json:"seeds"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
	// Items by state (shared runs only).
	Pending int `json:"pending"`
	Running int `json:"running"`
	Done    int `json:"done"`
	Failed  int `json:"failed"`
	// Findings counts matches recorded by the run's items.
	Findings int          `json:"findings"`
	Workers  []WorkerSeen `json:"workers,omitempty"`
	Summary  string       `json:"summary,omitempty"`
}

// WorkerSeen is one worker that completed items of a run.
type WorkerSeen struct {
	Worker   string    `json:"worker"`
	Items    int       `json:"items"`
	LastSeen time.Time `json:"last_seen"`
}

// Runs lists the newest runs first, at most limit.
func (s *Store) Runs(ctx context.Context, limit int) ([]RunInfo, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id FROM runs ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("runs: %w", err)
	}
	ids, err := scanColumn[int64](rows)
	if err != nil {
		return nil, fmt.Errorf("runs: %w", err)
	}
	out := make([]RunInfo, 0, len(ids))
	for _, id := range ids {
		ri, err := s.Run(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, ri)
	}
	return out, nil
}

// Run returns one run's state.
func (s *Store) Run(ctx context.Context, id int64) (RunInfo, error) {
	ri := RunInfo{ID: id}
	var started string
	var finished, config, summary sql.NullString
	err := s.db.QueryRowContext(ctx, `SELECT status, seeds, started_at, finished_at, config, summary FROM runs WHERE id = ?`, id).
		Scan(&ri.Status, &ri.Seeds, &started, &finished, &config, &summary)
	if errors.Is(err, sql.ErrNoRows) {
		return RunInfo{}, fmt.Errorf("run %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return RunInfo{}, fmt.Errorf("run: %w", err)
	}
	ri.StartedAt, ri.FinishedAt, ri.Shared, ri.Summary = parseTS(started), parseTS(finished.String), config.Valid, summary.String
	rows, err := s.db.QueryContext(ctx, `SELECT state, COUNT(*), COALESCE(SUM(matches), 0) FROM work_items WHERE run_id = ? GROUP BY state`, id)
	if err != nil {
		return RunInfo{}, fmt.Errorf("run items: %w", err)
	}
	for rows.Next() {
		var st string
		var n, m int
		if err := rows.Scan(&st, &n, &m); err != nil {
			rows.Close()
			return RunInfo{}, err
		}
		ri.Findings += m
		switch st {
		case ItemPending:
			ri.Pending = n
		case ItemRunning:
			ri.Running = n
		case ItemDone:
			ri.Done = n
		case ItemFailed:
			ri.Failed = n
		}
	}
	rows.Close()
	rows, err = s.db.QueryContext(ctx, `SELECT worker, items, last_seen FROM run_workers WHERE run_id = ? ORDER BY worker`, id)
	if err != nil {
		return RunInfo{}, fmt.Errorf("run workers: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var w WorkerSeen
		var ls string
		if err := rows.Scan(&w.Worker, &w.Items, &ls); err != nil {
			return RunInfo{}, err
		}
		w.LastSeen = parseTS(ls)
		ri.Workers = append(ri.Workers, w)
	}
	return ri, rows.Err()
}

// AcquireHost takes one of a host's parallelism request slots for holder,
// for at most hold, if one is free and its delay since the last request
// has passed; ok is false otherwise (try again shortly). Slots live in the
// store, so parallelism and delay hold across every worker.
func (s *Store) AcquireHost(ctx context.Context, host, holder string, parallelism int, hold time.Duration) (slot int, ok bool, err error) {
	now := s.now()
	for i := range parallelism {
		// Rows for the slots are created on first use.
		if _, err := s.db.ExecContext(ctx, `INSERT INTO host_slots(host, slot) VALUES (?, ?) ON CONFLICT(host, slot) DO NOTHING`, host, i); err != nil {
			return 0, false, fmt.Errorf("host slot: %w", err)
		}
	}
	err = s.db.QueryRowContext(ctx, `UPDATE host_slots SET holder = ?, until_ms = ?
		WHERE (host, slot) IN (SELECT h.host, h.slot FROM host_slots h WHERE h.host = ? AND h.slot < ? AND h.until_ms < ? AND h.next_ms <= ?
			ORDER BY h.next_ms, h.slot LIMIT 1`+s.skipLocked("h")+`)
		RETURNING slot`, holder, ms(now.Add(hold)), host, parallelism, ms(now), ms(now)).Scan(&slot)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("host slot: %w", err)
	}
	return slot, true, nil
}

// ReleaseHost frees a slot; the host's next request on it waits delay.
func (s *Store) ReleaseHost(ctx context.Context, host string, slot int, holder string, delay time.Duration) error {
	now := s.now()
	_, err := s.db.ExecContext(ctx, `UPDATE host_slots SET holder = NULL, until_ms = 0, next_ms = ? WHERE host = ? AND slot = ? AND holder = ?`,
		ms(now.Add(delay)), host, slot, holder)
	if err != nil {
		return fmt.Errorf("release host slot: %w", err)
	}
	return nil
}

// FinishStranded marks done the running shared runs that have no item
// left to do: their last items failed without completing (the reaper in
// Claim fails an item whose workers kept dying), so no Complete ever
// emptied their queue. It returns the runs it marked: the caller owns
// their finishing (announcing, summary), as Completion.RunDone says.
func (s *Store) FinishStranded(ctx context.Context) ([]int64, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT r.id FROM runs r WHERE r.status = ? AND r.config IS NOT NULL
		AND NOT EXISTS (SELECT 1 FROM work_items w WHERE w.run_id = r.id AND w.state IN (?, ?))`, RunRunning, ItemPending, ItemRunning)
	if err != nil {
		return nil, fmt.Errorf("stranded runs: %w", err)
	}
	ids, err := scanColumn[int64](rows)
	if err != nil {
		return nil, fmt.Errorf("stranded runs: %w", err)
	}
	var done []int64
	for _, id := range ids {
		// Only one caller marks it (and finishes it); the queue is checked
		// again in the same statement, should an item have been added.
		res, err := s.db.ExecContext(ctx, `UPDATE runs SET status = ?, finished_at = ? WHERE id = ? AND status = ?
			AND NOT EXISTS (SELECT 1 FROM work_items w WHERE w.run_id = ? AND w.state IN (?, ?))`,
			RunDone, s.ts(s.now()), id, RunRunning, id, ItemPending, ItemRunning)
		if err != nil {
			return done, fmt.Errorf("finish run %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			done = append(done, id)
		}
	}
	return done, nil
}

// OpenSharedRuns counts shared runs still running.
func (s *Store) OpenSharedRuns(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM runs WHERE status = ? AND config IS NOT NULL`, RunRunning).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("open runs: %w", err)
	}
	return n, nil
}
