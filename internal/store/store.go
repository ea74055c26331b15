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

// Store is a leakwatch database.
type Store struct {
	db  *sql.DB
	now func() time.Time
	// hold delays the first delivery of an incident's event (see
	// RecordMatches).
	hold time.Duration
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

// Open opens (creating if needed) the SQLite database at path and applies
// pending migrations.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
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
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	s := &Store{db: db, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
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
func (s *Store) Integrity(ctx context.Context) error {
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

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	// Each step reads the version and applies the next migration in one
	// write transaction (BEGIN IMMEDIATE), so two processes opening a new
	// store at once (a cron scan and the watcher) never both apply it.
	for {
		done := false
		var v int
		err := s.tx(ctx, func(tx *sql.Tx) error {
			var cur int
			if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&cur); err != nil {
				return err
			}
			if cur > len(migrations) {
				return fmt.Errorf("%w: version %d, this build knows %d", ErrSchemaTooNew, cur, len(migrations))
			}
			if cur == len(migrations) {
				done = true
				return nil
			}
			v = cur + 1
			if _, err := tx.ExecContext(ctx, migrations[v-1]); err != nil {
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

func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
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
	res, err := s.db.ExecContext(ctx, `INSERT INTO runs(started_at, seeds) VALUES (?, ?)`, s.ts(s.now()), seeds)
	if err != nil {
		return 0, fmt.Errorf("begin run: %w", err)
	}
	return res.LastInsertId()
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
