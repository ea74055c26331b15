package archive_test

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/leakwatch/leakwatch/internal/archive"
	"github.com/leakwatch/leakwatch/internal/archive/archivetest"
)

// openSpools lists this process's open files in dir whose names are
// already gone: Linux shows them in /proc/self/fd as "path (deleted)".
func openSpools(t *testing.T, dir string) (deleted, named int) {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err != nil || !strings.HasPrefix(target, dir+string(os.PathSeparator)) {
			continue
		}
		if strings.HasSuffix(target, " (deleted)") {
			deleted++
		} else {
			named++
		}
	}
	return deleted, named
}

func TestSpoolIsUnlinkedAndClosed(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("checks /proc/self/fd")
	}
	big := noise(6, 2<<20) // above the 1 MiB kept in memory
	inner := archivetest.Zip(archivetest.File{Name: "inner.bin", Body: big, Store: true})
	tests := []struct {
		name string
		data []byte
		want int // spool files open during the callback
	}{
		{"top-level zip", archivetest.Zip(archivetest.File{Name: "a.bin", Body: big, Store: true}), 1},
		{"zip in tar", archivetest.Tar(archivetest.File{Name: "inner.zip", Body: inner}), 1},
		{"zip in zip", archivetest.Zip(archivetest.File{Name: "inner.zip", Body: inner, Store: true}), 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			var deleted, named, entries int
			res, err := archive.Walk(t.Context(), struct{ io.Reader }{strings.NewReader(string(tt.data))}, "x", archive.Limits{TempDir: dir},
				func(e archive.Entry) error {
					entries++
					deleted, named = openSpools(t, dir)
					_, err := io.Copy(io.Discard, e.Body)
					return err
				}, nil)
			if err != nil || entries != 1 {
				t.Fatalf("Walk = %+v, %v; %d entries", res, err, entries)
			}
			if deleted != tt.want || named != 0 {
				t.Errorf("during the walk: %d unlinked and %d named spool files open; want %d unlinked, 0 named", deleted, named, tt.want)
			}
			if d, n := openSpools(t, dir); d != 0 || n != 0 {
				t.Errorf("after the walk: %d unlinked and %d named spool files still open", d, n)
			}
			assertEmptyDir(t, dir)
		})
	}
}

func TestSmallArchivesSpoolInMemory(t *testing.T) {
	dir := t.TempDir()
	data := archivetest.Zip(archivetest.File{Name: "a.txt", Body: []byte("a")})
	var deleted, named int
	_, err := archive.Walk(t.Context(), struct{ io.Reader }{strings.NewReader(string(data))}, "x.zip", archive.Limits{TempDir: dir},
		func(archive.Entry) error { deleted, named = openSpools(t, dir); return nil }, nil)
	if err != nil || deleted+named != 0 {
		t.Errorf("Walk = %v; %d spool files for a tiny zip, want none", err, deleted+named)
	}
}

func TestSpoolDirMissing(t *testing.T) {
	big := noise(7, 2<<20)
	data := archivetest.Zip(archivetest.File{Name: "a.bin", Body: big, Store: true})
	_, err := archive.Walk(t.Context(), struct{ io.Reader }{strings.NewReader(string(data))}, "x.zip",
		archive.Limits{TempDir: filepath.Join(t.TempDir(), "missing")},
		func(archive.Entry) error { return nil }, nil)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Walk = %v, want the spool's not-exist error", err)
	}
}
