package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestStoreFilesPrivate: the database, its -wal and its -shm are readable
// by their owner only, whether the store is new or was left 0644 by an
// older build, whatever the umask.
func TestStoreFilesPrivate(t *testing.T) {
	for _, tc := range []struct {
		name     string
		existing bool
	}{{"new store", false}, {"store created 0644", true}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "lw.db")
			if tc.existing {
				s, err := Open(ctx, path)
				if err != nil {
					t.Fatal(err)
				}
				s.Close()
				for _, p := range []string{path, path + "-wal", path + "-shm"} {
					_ = os.Chmod(p, 0o644)
				}
			}
			s, err := Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if _, err := s.RecordMatches(ctx, "http://dump.test", []Evidence{{CaptureID: "c1", Kind: "face", URL: "http://dump.test/a.jpg", SHA256: "s1", Algorithm: "pdq"}}, nil); err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{path, path + "-wal", path + "-shm"} {
				fi, err := os.Stat(p)
				if err != nil {
					t.Fatal(err)
				}
				if m := fi.Mode().Perm(); m != 0o600 {
					t.Errorf("%s has mode %o, want 600", filepath.Base(p), m)
				}
			}
		})
	}
}

// TestEmptyIncidentIDResolvesNothing: an empty ID is not a prefix of the
// only incident.
func TestEmptyIncidentIDResolvesNothing(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "lw.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.RecordMatches(ctx, "http://dump.test", []Evidence{{CaptureID: "c1", Kind: "face", URL: "http://dump.test/a.jpg", SHA256: "s1", Algorithm: "pdq"}}, nil); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"", "  "} {
		if inc, err := s.Incident(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Incident(%q) = %s, %v; want %v", id, inc.ID, err, ErrNotFound)
		}
	}
}
