package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// ErrNotFound reports a missing incident or event.
var ErrNotFound = errors.New("not found")

// ErrInvalidTransition reports a status change the lifecycle does not
// allow.
var ErrInvalidTransition = errors.New("invalid status change")

// ErrSchemaTooNew reports a database written by a newer leakwatch.
var ErrSchemaTooNew = errors.New("database schema is newer than this build")

// Store is a leakwatch database: a SQLite file (one machine, the default)
// or a PostgreSQL database shared by workers on many machines. Both run
// the same queries; the few differences (placeholders, types in the
// schema, transaction isolation, locks) are confined to migrations and
// the helpers in postgres.go.
type Store struct {
	db  *sql.DB
	now func() time.Time
	// hold delays the first delivery of an incident's event (see
	// RecordMatches).
	hold time.Duration
	// pg is set for a PostgreSQL store.
	pg      bool
	retries atomic.Int64
	// lastReap is when Claim last failed items out of attempts (Unix ms).
	lastReap atomic.Int64
}

// Option configures Open.
type Option func(*Store)

// WithClock replaces time.Now (tests).
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// WithAlertHold holds the deliveries of each new incident event for up to
// d, so that a scan can fold what else it finds into that event and
// release it when it ends (RecordMatches, Announce, ReleaseHeld). Zero
// (the default) makes every event due at once.
func WithAlertHold(d time.Duration) Option { return func(s *Store) { s.hold = max(d, 0) } }

// Open opens the store at loc and applies pending migrations. loc is a
// PostgreSQL URL (postgres://USER@HOST/DB?...) or the path of a SQLite
// file, optionally written sqlite:PATH, created if needed.
func Open(ctx context.Context, loc string, opts ...Option) (*Store, error) {
	if IsPostgres(loc) {
		db, err := openPostgres(ctx, loc)
		if err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
		return open(ctx, db, true, Redact(loc), opts)
	}
	path := sqlitePath(loc)
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
	}
	if err := private(path); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+uriPath.Replace(path)+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return open(ctx, db, false, path, opts)
}

func open(ctx context.Context, db *sql.DB, pg bool, name string, opts []Option) (*Store, error) {
	s := &Store{db: db, now: time.Now, pg: pg}
	for _, o := range opts {
		o(s)
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", name, err)
	}
	return s, nil
}

// private creates the database file 0600 if it is missing (SQLite gives
// its -wal and -shm the database file's mode) and takes group and other
// access away from files an older build left readable: the store names
// the affected capture IDs.
func private(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		fi, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, fi.Mode().Perm()&0o700); err != nil {
				return err
			}
		}
	}
	return nil
}

// ErrDamaged reports a store that fails SQLite's integrity check.
var ErrDamaged = errors.New("store is damaged")

// Integrity runs SQLite's integrity check over the whole database (it
// reads every page, so it takes a while on a large store) and reports
// ErrDamaged with the first problems found.
//
// A PostgreSQL store is only read through (the server checks its own
// pages; amcheck is the database administrator's tool).
func (s *Store) Integrity(ctx context.Context) error {
	if s.pg {
		var n int
		if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM incidents`).Scan(&n); err != nil {
			return fmt.Errorf("%w: %w", ErrDamaged, err)
		}
		return nil
	}
	rows, err := s.db.QueryContext(ctx, `PRAGMA integrity_check(10)`)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrDamaged, err)
	}
	defer rows.Close()
	var msgs []string
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			return fmt.Errorf("%w: %w", ErrDamaged, err)
		}
		if m != "ok" {
			msgs = append(msgs, m)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrDamaged, err)
	}
	if len(msgs) > 0 {
		return fmt.Errorf("%w: %s", ErrDamaged, strings.Join(msgs, "; "))
	}
	return nil
}

// Postgres reports whether the store is a PostgreSQL database.
func (s *Store) Postgres() bool { return s.pg }

// uriPath escapes what would end or garble the path of a SQLite file URI:
// '?' starts the query, '#' the fragment, '%' an escape.
var uriPath = strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

func (s *Store) migrate(ctx context.Context) error {
	steps := migrations
	if s.pg {
		steps = postgresMigrations
	}
	// Each step reads the version and applies the next migration in one
	// write transaction (BEGIN IMMEDIATE; on PostgreSQL under an advisory
	// lock), so two processes opening a new store at once (a cron scan and
	// the watcher, or several workers) never both apply it.
	// An up-to-date store needs no write: a role that may only use the
	// tables (not create them) can open it.
	var cur int
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&cur); err == nil && cur == len(steps) {
		return nil
	}
	// On PostgreSQL a step runs READ COMMITTED: its reads must see what the
	// previous holder of the lock committed, which a serializable snapshot
	// taken before the lock was granted would not.
	step := s.tx
	if s.pg {
		step = func(ctx context.Context, fn func(*sql.Tx) error) error { return s.txOnce(ctx, nil, fn) }
	}
	for {
		done := false
		var v int
		err := step(ctx, func(tx *sql.Tx) error {
			if s.pg {
				if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(?)`, migrationLock); err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
				return err
			}
			var cur int
			if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&cur); err != nil {
				return err
			}
			if cur > len(steps) {
				return fmt.Errorf("%w: version %d, this build knows %d", ErrSchemaTooNew, cur, len(steps))
			}
			if cur == len(steps) {
				done = true
				return nil
			}
			v = cur + 1
			if _, err := tx.ExecContext(ctx, steps[v-1]); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations(version, applied_at) VALUES (?, ?)`, v, s.ts(s.now()))
			return err
		})
		if errors.Is(err, ErrSchemaTooNew) {
			return err
		}
		if err != nil {
			return fmt.Errorf("migration %d: %w", v, err)
		}
		if done {
			return nil
		}
	}
}

// SchemaVersion returns the applied migration count.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}

// migrationLock is the advisory lock key that serialises migrations on
// PostgreSQL.
const migrationLock = 0x6c77_6d69_6772 // "lwmigr"

// tx runs fn in a write transaction. On PostgreSQL it is SERIALIZABLE and
// retried on conflicts, so fn must start from scratch each time it runs.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	if s.pg {
		return s.pgTx(ctx, fn)
	}
	return s.txOnce(ctx, nil, fn)
}

func (s *Store) txOnce(ctx context.Context, o *sql.TxOptions, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, o)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

const tsLayout = time.RFC3339Nano

func (s *Store) ts(t time.Time) string { return t.UTC().Format(tsLayout) }

func parseTS(v string) time.Time {
	t, _ := time.Parse(tsLayout, v)
	return t
}

// BeginRun records the start of a scan and returns its ID.
func (s *Store) BeginRun(ctx context.Context, seeds string) (int64, error) {
	var id int64
	err := s.db.QueryRowContext(ctx, `INSERT INTO runs(started_at, seeds) VALUES (?, ?) RETURNING id`, s.ts(s.now()), seeds).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("begin run: %w", err)
	}
	return id, nil
}

// FinishRun records how a scan ended.
func (s *Store) FinishRun(ctx context.Context, id int64, status, summary string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE runs SET finished_at = ?, status = ?, summary = ? WHERE id = ?`, s.ts(s.now()), status, summary, id)
	if err != nil {
		return fmt.Errorf("finish run: %w", err)
	}
	return nil
}

// SeenAsset returns the cached fingerprint of a file already hashed in an
// earlier run, keyed by the file's SHA-256.
func (s *Store) SeenAsset(ctx context.Context, sha string) (fp []byte, errMsg string, ok bool, err error) {
	var e sql.NullString
	err = s.db.QueryRowContext(ctx, `SELECT fingerprint, error FROM seen_assets WHERE sha256 = ?`, sha).Scan(&fp, &e)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", false, nil
	}
	if err != nil {
		return nil, "", false, fmt.Errorf("seen asset: %w", err)
	}
	_, _ = s.db.ExecContext(ctx, `UPDATE seen_assets SET last_seen = ? WHERE sha256 = ?`, s.ts(s.now()), sha)
	return fp, e.String, true, nil
}

// RecordAsset caches the fingerprint (or the decode error) of a file.
func (s *Store) RecordAsset(ctx context.Context, sha string, fp []byte, errMsg string) error {
	now := s.ts(s.now())
	_, err := s.db.ExecContext(ctx, `INSERT INTO seen_assets(sha256, first_seen, last_seen, fingerprint, error) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT(sha256) DO UPDATE SET last_seen = excluded.last_seen, fingerprint = excluded.fingerprint, error = excluded.error`,
		sha, now, now, fp, nullable(errMsg))
	if err != nil {
		return fmt.Errorf("record asset: %w", err)
	}
	return nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
