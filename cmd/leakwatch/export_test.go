package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/leakwatch/leakwatch/internal/store"
)

// TestExportOutputFile: incidents export -o writes a new 0600 file in
// place of whatever regular file was there, and refuses to write through
// a symbolic link or into anything that is not a regular file.
func TestExportOutputFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "lw.db")
	st, err := store.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	out, err := st.RecordMatches(ctx, "http://dump.test", []store.Evidence{{CaptureID: "cap-1", Kind: "face", URL: "http://dump.test/a.jpg", SHA256: "s1", Algorithm: "pdq"}}, nil)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	export := func(path string) (int, string) {
		var stdout, stderr bytes.Buffer
		code := run(ctx, []string{"incidents", "export", "--store", db, out.IncidentID, "-o", path}, env{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }, readFile: os.ReadFile})
		return code, stderr.String()
	}
	t.Run("existing 0644 file", func(t *testing.T) {
		p := filepath.Join(dir, "old.csv")
		if err := os.WriteFile(p, []byte("old\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if code, msg := export(p); code != 0 {
			t.Fatalf("exit %d: %s", code, msg)
		}
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(p)
		if fi.Mode().Perm() != 0o600 || !strings.Contains(string(b), "cap-1") {
			t.Errorf("mode %o, content %q; want 0600 and the export", fi.Mode().Perm(), b)
		}
	})
	t.Run("symlink", func(t *testing.T) {
		target := filepath.Join(dir, "target")
		if err := os.WriteFile(target, []byte("precious\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		link := filepath.Join(dir, "link.csv")
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
		if code, _ := export(link); code == 0 {
			t.Errorf("wrote through a symbolic link")
		}
		if b, _ := os.ReadFile(target); string(b) != "precious\n" {
			t.Errorf("the link's target was overwritten: %q", b)
		}
	})
	t.Run("fifo", func(t *testing.T) {
		fifo := filepath.Join(dir, "fifo.csv")
		if err := syscall.Mkfifo(fifo, 0o600); err != nil {
			t.Skip(err)
		}
		// Opening a FIFO for writing blocks until a reader comes: open a
		// reader so the old code does not hang the test.
		go func() {
			if f, err := os.OpenFile(fifo, os.O_RDONLY, 0); err == nil {
				_, _ = f.Read(make([]byte, 1<<16))
				f.Close()
			}
		}()
		if code, _ := export(fifo); code == 0 {
			t.Errorf("wrote into a FIFO")
		}
	})
}
