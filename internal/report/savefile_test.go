package report

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestSaveFile(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(dir, "outside.txt")
	if err := os.WriteFile(outside, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.html")
	if err := os.Symlink(outside, link); err != nil {
		t.Fatal(err)
	}
	write := func(s string) func(io.Writer) error {
		return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
	}
	boom := errors.New("boom")
	for _, tt := range []struct {
		name    string
		path    string
		write   func(io.Writer) error
		wantErr error
		want    string // content of path afterwards
	}{
		{"new file", filepath.Join(dir, "r.html"), write("one"), nil, "one"},
		{"replace", filepath.Join(dir, "r.html"), write("two"), nil, "two"},
		{"failed write keeps the old file", filepath.Join(dir, "r.html"), func(io.Writer) error { return boom }, boom, "two"},
		{"symlink refused", link, write("evil"), ErrSymlink, "keep"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := SaveFile(tt.path, tt.write)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
			got, _ := os.ReadFile(tt.path)
			if string(got) != tt.want {
				t.Errorf("content %q, want %q", got, tt.want)
			}
			if tt.wantErr == nil {
				fi, _ := os.Stat(tt.path)
				if fi.Mode().Perm() != 0o600 {
					t.Errorf("mode %v, want 0600", fi.Mode().Perm())
				}
			}
		})
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".*.tmp"))
	if len(left) != 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}
