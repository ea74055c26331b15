package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// IsPostgres reports whether a store location names a PostgreSQL database
// (postgres:// or postgresql://) rather than a SQLite file.
func IsPostgres(loc string) bool {
	l := strings.ToLower(strings.TrimSpace(loc))
	return strings.HasPrefix(l, "postgres://") || strings.HasPrefix(l, "postgresql://")
}

// LockPath is the run lock file of the SQLite store at loc, whichever
// way loc is written (PATH or sqlite:PATH).
func LockPath(loc string) string { return sqlitePath(loc) + ".lock" }

// sqlitePath strips the optional "sqlite:" prefix of a SQLite location.
func sqlitePath(loc string) string {
	if p, ok := strings.CutPrefix(loc, "sqlite:"); ok {
		return strings.TrimPrefix(p, "//")
	}
	return loc
}

// OnThisHost reports whether a PostgreSQL location connects only to this
// machine: unix sockets, loopback addresses and localhost, for every host
// pgx would try (the URL's, its host parameter's, or PGHOST's). It only
// parses; nothing is looked up. A SQLite location is on this host.
func OnThisHost(loc string) (bool, error) {
	if !IsPostgres(loc) {
		return true, nil
	}
	cfg, err := pgx.ParseConfig(loc)
	if err != nil {
		return false, fmt.Errorf("postgres URL: %w", err)
	}
	hosts := []string{cfg.Host}
	for _, f := range cfg.Fallbacks {
		hosts = append(hosts, f.Host)
	}
	for _, h := range hosts {
		if strings.HasPrefix(h, "/") || strings.EqualFold(h, "localhost") {
			continue
		}
		if ip, err := netip.ParseAddr(h); err == nil && ip.IsLoopback() {
			continue
		}
		return false, nil
	}
	return true, nil
}

// Redact returns the location with any password replaced, for messages.
func Redact(loc string) string {
	if !IsPostgres(loc) {
		return loc
	}
	cfg, err := pgx.ParseConfig(loc)
	if err != nil {
		return "postgres://(unparsable URL)"
	}
	return fmt.Sprintf("postgres://%s@%s:%d/%s", cfg.User, cfg.Host, cfg.Port, cfg.Database)
}

// openPostgres connects through pgx's database/sql driver. Queries are
// written once for both dialects with "?" placeholders; the connector
// numbers them for PostgreSQL.
func openPostgres(ctx context.Context, loc string) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(loc)
	if err != nil {
		return nil, fmt.Errorf("postgres URL: %w", err)
	}
	db := sql.OpenDB(rebindConnector{stdlib.GetConnector(*cfg)})
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(4)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to %s: %w", Redact(loc), err)
	}
	return db, nil
}

// rebind turns "?" placeholders into $1, $2, ... outside string literals,
// quoted identifiers and comments.
func rebind(q string) string {
	if !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'' || c == '"':
			j := i + 1
			for j < len(q) && q[j] != c {
				j++
			}
			b.WriteString(q[i:min(j+1, len(q))])
			i = j
		case c == '-' && i+1 < len(q) && q[i+1] == '-':
			j := strings.IndexByte(q[i:], '\n')
			if j < 0 {
				j = len(q) - i - 1
			}
			b.WriteString(q[i : i+j+1])
			i += j
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

type rebindConnector struct{ driver.Connector }

func (c rebindConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &rebindConn{conn.(*stdlib.Conn)}, nil
}

// rebindConn is pgx's connection with every query rebound; it forwards
// the optional driver interfaces database/sql looks for.
type rebindConn struct{ c *stdlib.Conn }

func (r *rebindConn) Prepare(q string) (driver.Stmt, error) { return r.c.Prepare(rebind(q)) }
func (r *rebindConn) Close() error                          { return r.c.Close() }
func (r *rebindConn) Begin() (driver.Tx, error) {
	return r.c.BeginTx(context.Background(), driver.TxOptions{})
}
func (r *rebindConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	return r.c.PrepareContext(ctx, rebind(q))
}
func (r *rebindConn) BeginTx(ctx context.Context, o driver.TxOptions) (driver.Tx, error) {
	return r.c.BeginTx(ctx, o)
}
func (r *rebindConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	return r.c.ExecContext(ctx, rebind(q), args)
}
func (r *rebindConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	return r.c.QueryContext(ctx, rebind(q), args)
}
func (r *rebindConn) Ping(ctx context.Context) error             { return r.c.Ping(ctx) }
func (r *rebindConn) CheckNamedValue(v *driver.NamedValue) error { return r.c.CheckNamedValue(v) }
func (r *rebindConn) ResetSession(ctx context.Context) error     { return r.c.ResetSession(ctx) }

// retryable reports a PostgreSQL error that a transaction retry resolves:
// a serialization failure or a deadlock victim.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// maxTxAttempts bounds retries of a transaction that keeps conflicting.
const maxTxAttempts = 30

// pgTx runs fn in a SERIALIZABLE transaction, retried with jittered
// backoff when PostgreSQL reports a serialization failure or deadlock, so
// every read-then-write in the store is as safe across workers as SQLite's
// single writer makes it. fn must be safe to run again: it starts from
// scratch on each attempt.
func (s *Store) pgTx(ctx context.Context, fn func(*sql.Tx) error) error {
	return s.pgRetry(ctx, &sql.TxOptions{Isolation: sql.LevelSerializable}, fn)
}

// pgRetry runs fn in a transaction with options o, retried as pgTx says.
func (s *Store) pgRetry(ctx context.Context, o *sql.TxOptions, fn func(*sql.Tx) error) error {
	var err error
	for attempt := 0; attempt < maxTxAttempts; attempt++ {
		if err = s.txOnce(ctx, o, fn); err == nil || !retryable(err) {
			return err
		}
		s.retries.Add(1)
		d := time.Duration(1+rand.IntN(1<<min(attempt, 7))) * time.Millisecond
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(d):
		}
	}
	return fmt.Errorf("after %d attempts: %w", maxTxAttempts, err)
}

// TxRetries counts transactions retried after a serialization failure or
// deadlock (PostgreSQL only).
func (s *Store) TxRetries() int64 { return s.retries.Load() }

// MissingPrivileges lists the store's tables on which the connected role
// cannot read and write (PostgreSQL; nil for SQLite, where file
// permissions decide and Open has already written).
func (s *Store) MissingPrivileges(ctx context.Context) ([]string, error) {
	if !s.pg {
		return nil, nil
	}
	rows, err := s.db.QueryContext(ctx, `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = current_schema() AND c.relkind = 'r'
			AND NOT (has_table_privilege(c.oid, 'SELECT') AND has_table_privilege(c.oid, 'INSERT')
				AND has_table_privilege(c.oid, 'UPDATE') AND has_table_privilege(c.oid, 'DELETE'))
		ORDER BY c.relname`)
	if err != nil {
		return nil, fmt.Errorf("privileges: %w", err)
	}
	return scanStrings(rows)
}

// runTx runs fn with run's row locked, so the completions of one run
// queue one behind the other instead of failing serialization against
// each other (each reads the run's counts): on PostgreSQL READ COMMITTED
// with SELECT ... FOR UPDATE on the run, each statement seeing what the
// previous holder committed; on SQLite the write transaction is exclusive
// already.
func (s *Store) runTx(ctx context.Context, run int64, fn func(*sql.Tx) error) error {
	if !s.pg {
		return s.tx(ctx, fn)
	}
	return s.pgRetry(ctx, nil, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT id FROM runs WHERE id = ? FOR UPDATE`, run); err != nil {
			return err
		}
		return fn(tx)
	})
}

// incidentTx runs fn, which changes one incident, so that changes of one
// incident queue one behind the other: on PostgreSQL READ COMMITTED under
// a transaction advisory lock on the incident (workers matching captures
// of one source wait for each other instead of failing serialization; each
// statement sees what the previous holder committed); on SQLite the write
// transaction is exclusive already.
func (s *Store) incidentTx(ctx context.Context, id string, fn func(*sql.Tx) error) error {
	if !s.pg {
		return s.tx(ctx, fn)
	}
	return s.pgRetry(ctx, nil, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext(?))`, id); err != nil {
			return err
		}
		return fn(tx)
	})
}
