// Package pgtest starts a throwaway PostgreSQL server for tests: Debian's
// postgresql binaries, initdb into t.TempDir(), listening on 127.0.0.1 at
// a random port only (no Unix socket), trust authentication, stopped when
// the test ends. As root (CI) the server runs as the unprivileged
// "postgres" user, since PostgreSQL refuses to run as root. Without the
// binaries a test skips with a message naming the package to install.
//
// Only tests import it; no mock stands in for PostgreSQL.
package pgtest
