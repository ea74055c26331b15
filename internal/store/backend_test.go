package store

import (
	"path/filepath"
	"testing"

	"github.com/leakwatch/leakwatch/internal/store/pgtest"
)

// forEachBackend runs a behaviour test against a SQLite file and against
// a real PostgreSQL database (skipped, naming the package, when Debian's
// postgresql is not installed). loc is what Open takes.
func forEachBackend(t *testing.T, test func(t *testing.T, loc string)) {
	t.Run("sqlite", func(t *testing.T) { test(t, filepath.Join(t.TempDir(), "lw.db")) })
	t.Run("postgres", func(t *testing.T) { test(t, pgtest.Start(t).CreateDB(t)) })
}

func TestMigrationsInStep(t *testing.T) {
	if len(migrations) != len(postgresMigrations) {
		t.Fatalf("%d SQLite migrations, %d PostgreSQL ones: add the same step to both", len(migrations), len(postgresMigrations))
	}
}

func TestRebind(t *testing.T) {
	tests := []struct{ in, want string }{
		{`SELECT 1`, `SELECT 1`},
		{`a = ? AND b IN (?, ?)`, `a = $1 AND b IN ($2, $3)`},
		{`x LIKE ? ESCAPE '\' AND y = '?' AND "q?" = ?`, `x LIKE $1 ESCAPE '\' AND y = '?' AND "q?" = $2`},
		{"-- what?\nSELECT ?", "-- what?\nSELECT $1"},
		{`'it''s ?' || ?`, `'it''s ?' || $1`},
	}
	for _, tt := range tests {
		if got := rebind(tt.in); got != tt.want {
			t.Errorf("rebind(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
