package archive_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/leakwatch/leakwatch/internal/archive"
	"github.com/leakwatch/leakwatch/internal/archive/archivetest"
)

// unbounded lifts every limit that would otherwise stop an endless stream,
// so that only the context can.
func unbounded(t *testing.T) archive.Limits {
	return archive.Limits{
		MaxCompressedBytes: 1 << 62, MaxUncompressedBytes: 1 << 62, MaxEntryBytes: 1 << 62,
		MaxRatio: 1e18, TempDir: t.TempDir(),
	}
}

func TestWalkCancelDuringEntry(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var readErr error
	var n int64
	_, err := archive.Walk(ctx, archivetest.EndlessGzip(), "endless.gz", unbounded(t),
		func(e archive.Entry) error {
			var err error
			n, err = io.CopyN(io.Discard, e.Body, 8<<20)
			if err != nil {
				return err
			}
			cancel()
			_, readErr = io.Copy(io.Discard, e.Body) // would never end
			return readErr
		}, nil)
	if n != 8<<20 {
		t.Fatalf("read %d bytes before cancelling", n)
	}
	if !errors.Is(readErr, context.Canceled) || !errors.Is(err, context.Canceled) {
		t.Errorf("Read err = %v, Walk err = %v; want context.Canceled", readErr, err)
	}
}

func TestWalkCancelStopsDrain(t *testing.T) {
	// fn cancels and returns nil: the walk must not start another entry.
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	data := archivetest.Tar(
		archivetest.File{Name: "1", Body: []byte("a")},
		archivetest.File{Name: "2", Body: []byte("b")},
		archivetest.File{Name: "3", Body: []byte("c")},
	)
	var seen int
	_, err := archive.Walk(ctx, bytes.NewReader(data), "x.tar", archive.Limits{TempDir: t.TempDir()},
		func(archive.Entry) error {
			seen++
			if seen == 2 {
				cancel()
			}
			return nil
		}, nil)
	if !errors.Is(err, context.Canceled) || seen != 2 {
		t.Errorf("Walk = %v after %d entries; want context.Canceled after 2", err, seen)
	}
}

func TestWalkCancelledBeforeStart(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	called := false
	_, err := archive.Walk(ctx, archivetest.EndlessGzip(), "endless.gz", unbounded(t),
		func(archive.Entry) error { called = true; return nil }, nil)
	if !errors.Is(err, context.Canceled) || called {
		t.Errorf("Walk = %v, fn called %v; want context.Canceled before any entry", err, called)
	}
}

func TestWalkEndlessInputHitsLimit(t *testing.T) {
	// With the default ratio an endless stream of zeros is a bomb.
	_, err := archive.Walk(t.Context(), archivetest.EndlessGzip(), "endless.gz", archive.Limits{TempDir: t.TempDir()},
		func(e archive.Entry) error {
			_, err := io.Copy(io.Discard, e.Body)
			return err
		}, nil)
	if !errors.Is(err, archive.ErrRatio) {
		t.Errorf("Walk = %v, want ErrRatio", err)
	}
	// Without a ratio limit the per-entry limit ends it, then the end of
	// the walk: a single file has nothing after it.
	lim := unbounded(t)
	lim.MaxEntryBytes = 4 << 20
	st, err := archive.Walk(t.Context(), archivetest.EndlessGzip(), "endless.gz", lim,
		func(e archive.Entry) error {
			_, err := io.Copy(io.Discard, e.Body)
			return err
		}, nil)
	if err != nil || st.Skipped["entry_too_large"] != 1 {
		t.Errorf("Walk = %+v, %v; want one entry_too_large", st, err)
	}
}
