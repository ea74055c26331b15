package pgtest

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver for CreateDB

	"github.com/leakwatch/leakwatch/internal/freeport"
)

// Package is what to install when the server binaries are missing.
const Package = "postgresql"

// Server is a running test server.
type Server struct {
	// Port is the TCP port on 127.0.0.1.
	Port int
	dir  string
	bin  string
	cred *syscall.Credential
	dbs  atomic.Int64
}

// superuser is the role initdb creates; it is also the URL's user.
const superuser = "leakwatch"

// URL returns the connection URL of database db.
func (s *Server) URL(db string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", superuser, s.Port, db)
}

// Bin returns the directory holding the server binaries, or "" when
// Debian's postgresql package is not installed.
func Bin() string {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if _, err := exec.LookPath("initdb"); err == nil {
			return filepath.Dir(p)
		}
	}
	// Debian keeps them out of PATH, one directory per major version.
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d
		}
	}
	return ""
}

func version(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

// Start starts a server for the test and stops it at the end. It skips the
// test when the binaries are missing, or when running as root without a
// "postgres" user to run the server as.
func Start(tb testing.TB) *Server {
	tb.Helper()
	bin := Bin()
	if bin == "" {
		tb.Skipf("PostgreSQL server binaries (initdb, pg_ctl) not found: install Debian's %q package (apt-get install %s)", Package, Package)
	}
	s := &Server{bin: bin, dir: tb.TempDir()}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			tb.Skipf("running as root and no unprivileged %q user to run PostgreSQL as (Debian's %q package creates it): %v", "postgres", Package, err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		// The server user must reach its directory: t.TempDir's parent is
		// private to root, so open it for traversal only.
		if err := os.Chmod(filepath.Dir(s.dir), 0o711); err != nil {
			tb.Fatal(err)
		}
		if err := os.Chown(s.dir, uid, gid); err != nil {
			tb.Fatal(err)
		}
	}
	data := filepath.Join(s.dir, "data")
	if out, err := s.run("initdb", "-D", data, "-U", superuser, "--auth=trust", "-N", "-E", "UTF8", "--locale=C"); err != nil {
		tb.Fatalf("initdb: %v\n%s", err, out)
	}
	conf := "listen_addresses = '127.0.0.1'\nunix_socket_directories = ''\n" +
		"fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n" +
		"max_connections = 100\nshared_buffers = 16MB\n"
	f, err := os.OpenFile(filepath.Join(data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		tb.Fatal(err)
	}
	_, err = f.WriteString(conf)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		tb.Fatal(err)
	}
	// A free port can be taken between our probe and the server's bind:
	// try a few.
	var out []byte
	for try := 0; try < 5; try++ {
		s.Port = freePort(tb)
		if out, err = s.start(); err == nil {
			break
		}
	}
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(s.dir, "server.log"))
		tb.Fatalf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
	tb.Cleanup(func() {
		if out, err := s.run("pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"); err != nil && !strings.Contains(string(out), "not running") {
			tb.Logf("pg_ctl stop: %v\n%s", err, out)
		}
	})
	return s
}

func (s *Server) start() ([]byte, error) {
	return s.run("pg_ctl", "-D", filepath.Join(s.dir, "data"), "-l", filepath.Join(s.dir, "server.log"), "-w", "-t", "60",
		"-o", "-p "+strconv.Itoa(s.Port), "start")
}

// Stop stops the server at once, as a crash would (every connection
// breaks); Resume starts it again on the same port.
func (s *Server) Stop(tb testing.TB) {
	tb.Helper()
	if out, err := s.run("pg_ctl", "-D", filepath.Join(s.dir, "data"), "-m", "immediate", "-w", "stop"); err != nil {
		tb.Fatalf("pg_ctl stop: %v\n%s", err, out)
	}
}

// Resume starts a server stopped by Stop again, on the same port.
func (s *Server) Resume(tb testing.TB) {
	tb.Helper()
	if out, err := s.start(); err != nil {
		log, _ := os.ReadFile(filepath.Join(s.dir, "server.log"))
		tb.Fatalf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
}

// TerminateBackends ends every other connection to database db (as an
// administrator's pg_terminate_backend, or a network cut, would) and
// returns how many it ended.
func (s *Server) TerminateBackends(tb testing.TB, db string) int {
	tb.Helper()
	c, err := sql.Open("pgx", s.URL("postgres"))
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	var n int
	if err := c.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = $1 AND pid <> pg_backend_pid()) t`, db).Scan(&n); err != nil {
		tb.Fatalf("terminate backends: %v", err)
	}
	return n
}

// CreateDB creates a fresh database and returns its URL.
func (s *Server) CreateDB(tb testing.TB) string {
	tb.Helper()
	name := fmt.Sprintf("t%d", s.dbs.Add(1))
	db, err := sql.Open("pgx", s.URL("postgres"))
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("create database: %v", err)
	}
	return s.URL(name)
}

// Exec runs SQL as the superuser in database db (tests that need to set up
// roles or break things).
func (s *Server) Exec(tb testing.TB, db, q string) {
	tb.Helper()
	c, err := sql.Open("pgx", s.URL(db))
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	if _, err := c.ExecContext(context.Background(), q); err != nil {
		tb.Fatalf("%s: %v", q, err)
	}
}

func (s *Server) run(name string, args ...string) ([]byte, error) {
	cmd := exec.Command(filepath.Join(s.bin, name), args...)
	cmd.Dir = s.dir
	cmd.Env = []string{"PATH=" + s.bin + ":/usr/bin:/bin", "LC_ALL=C", "TZ=UTC"}
	if s.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	}
	return cmd.CombinedOutput()
}

// freePort picks the server's port below the ephemeral range
// (freeport): Resume restarts the server on it after clients, retrying
// the stopped server, have drawn local ports from that range.
func freePort(tb testing.TB) int {
	ps, err := freeport.Pick(1)
	if err != nil {
		tb.Fatal(err)
	}
	return ps[0]
}

// Name returns the database name in a URL made by URL or CreateDB.
func Name(u string) string {
	u = u[strings.LastIndex(u, "/")+1:]
	if i := strings.IndexByte(u, '?'); i >= 0 {
		u = u[:i]
	}
	return u
}
