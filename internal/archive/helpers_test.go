package archive_test

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/leakwatch/leakwatch/internal/archive"
)

// result is everything one Walk produced.
type result struct {
	entries map[string]string // joined path -> body
	order   []string
	sizes   map[string]int64
	reports []report
	stats   archive.Stats
	err     error
}

type report struct {
	path string
	err  error
}

// joinPath joins an entry path for map keys: "outer.zip!inner.txt".
func joinPath(p []string) string { return strings.Join(p, "!") }

// source modes: a *bytes.Reader gives random access; wrapping it hides
// ReaderAt so zip and 7z must be spooled.
var modes = []struct {
	name string
	wrap func([]byte) io.Reader
}{
	{"readerat", func(b []byte) io.Reader { return bytes.NewReader(b) }},
	{"stream", func(b []byte) io.Reader { return struct{ io.Reader }{bytes.NewReader(b)} }},
}

// walk runs Walk, reading every body in full, and checks that nothing was
// left in the spool directory.
func walk(t *testing.T, r io.Reader, name string, lim archive.Limits) result {
	t.Helper()
	if lim.TempDir == "" {
		lim.TempDir = t.TempDir()
	}
	res := result{entries: make(map[string]string), sizes: make(map[string]int64)}
	res.stats, res.err = archive.Walk(context.Background(), r, name, lim,
		func(e archive.Entry) error {
			body, err := io.ReadAll(e.Body)
			k := joinPath(e.Path)
			res.entries[k] = string(body)
			res.sizes[k] = e.Size
			res.order = append(res.order, k)
			return err
		},
		func(path []string, err error) {
			res.reports = append(res.reports, report{joinPath(path), err})
		})
	assertEmptyDir(t, lim.TempDir)
	return res
}

func assertEmptyDir(t *testing.T, dir string) {
	t.Helper()
	left, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("reading spool dir: %v", err)
	}
	for _, e := range left {
		t.Errorf("left behind in TempDir: %s", e.Name())
	}
}

// noise returns n deterministic pseudo-random bytes: incompressible, like
// the body of a JPEG.
func noise(seed byte, n int) []byte {
	b := make([]byte, n)
	_, _ = rand.NewChaCha8([32]byte{seed}).Read(b)
	return b
}
