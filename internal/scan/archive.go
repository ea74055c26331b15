package scan

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/leakwatch/leakwatch/crawler"
	"github.com/leakwatch/leakwatch/fingerprint"
	"github.com/leakwatch/leakwatch/internal/archive"
	"github.com/leakwatch/leakwatch/internal/imagefile"
)

// archiveError carries the counting reason of an archive limit.
type archiveError struct {
	reason string
	err    error
}

func (e archiveError) Error() string { return e.err.Error() }
func (e archiveError) Unwrap() error { return e.err }

func isArchive(head []byte) bool { return archive.Detect(head) != "" }

// archiveReason labels archive failures for the summary.
func archiveReason(err error) string {
	switch {
	case errors.Is(err, archive.ErrTooManyEntries):
		return "archive_entries"
	case errors.Is(err, archive.ErrEntryTooLarge):
		return "archive_entry_size"
	case errors.Is(err, archive.ErrTooLarge), errors.Is(err, archive.ErrCompressedTooLarge), errors.Is(err, archive.ErrSpoolTooLarge):
		return "archive_size"
	case errors.Is(err, archive.ErrRatio):
		return "archive_ratio"
	case errors.Is(err, archive.ErrTooDeep):
		return "archive_depth"
	case errors.Is(err, archive.ErrTooManyVolumes):
		return "archive_volumes"
	case errors.Is(err, archive.ErrCorrupt):
		return "archive_corrupt"
	case errors.Is(err, archive.ErrEncrypted):
		return "archive_encrypted"
	case errors.Is(err, archive.ErrUnsupported):
		return "archive_unsupported"
	}
	return ""
}

// handleArchive streams the entries of an archive asset through the image
// pipeline. Nothing from the archive is kept after its entry is hashed.
func (s *scanner) handleArchive(ctx context.Context, a crawler.Asset, r io.Reader) error {
	return s.walkArchive(ctx, a, nil, func(fn func(archive.Entry) error, onError func([]string, error)) error {
		_, err := archive.Walk(ctx, r, a.URL, s.cfg.Archive, fn, onError)
		return err
	})
}

// appended walks an archive hidden after the end of an image (a zip behind
// a JPEG displays as the JPEG). Its entries are named "(appended FORMAT)!/
// ENTRY" under the image's URL.
func (s *scanner) appended(ctx context.Context, a crawler.Asset, data []byte) error {
	tail, f, ok := appendedArchive(data)
	if !ok {
		return nil
	}
	s.log.Info("archive appended to an image", "url", a.URL, "format", f)
	return s.walkArchive(ctx, a, []string{"(appended " + string(f) + ")"}, func(fn func(archive.Entry) error, onError func([]string, error)) error {
		_, err := archive.Walk(ctx, bytes.NewReader(tail), "", s.cfg.Archive, fn, onError)
		return err
	})
}

// handleSplit streams the entries of an archive split into volumes, which
// the crawler fetches one after another as they are read.
func (s *scanner) handleSplit(ctx context.Context, a crawler.Asset) error {
	vols := make([]archive.Volume, len(a.Volumes))
	for i, v := range a.Volumes {
		vols[i] = archive.Volume{Name: v.URL, Body: v.Body}
	}
	return s.walkArchive(ctx, a, nil, func(fn func(archive.Entry) error, onError func([]string, error)) error {
		_, err := archive.WalkVolumes(ctx, vols, s.cfg.Archive, fn, onError)
		return err
	})
}

// walkArchive runs walk with a callback that sends every image entry
// through the image pipeline; prefix is put before every entry path.
func (s *scanner) walkArchive(ctx context.Context, a crawler.Asset, prefix []string, walk func(fn func(archive.Entry) error, onError func([]string, error)) error) error {
	// Entries are read in order (archives are streams) but decoded and
	// hashed in parallel; the bytes buffered for the workers are bounded.
	pool := newBytePool(s.cfg.ArchiveWorkers, s.cfg.ArchiveBuffer)
	defer pool.wait()
	var truncated atomic.Bool
	// lost is the first entry whose matching did not complete for a
	// reason of ours (the store refused its matches, the run was
	// stopped): the archive is then not done, so that its validators are
	// not remembered and the next run reads it again instead of getting
	// a 304 for it.
	var lost atomic.Pointer[error]
	keep := func(err error) {
		if lostWork(ctx, err) {
			lost.CompareAndSwap(nil, &err)
		}
	}
	err := walk(func(e archive.Entry) error {
		entryPath := strings.Join(append(slices.Clip(prefix), e.Path...), "!/")
		w := where{url: a.URL, page: a.Page, archivePath: entryPath, header: a.Header, fetched: a.FetchedAt}
		br := bufferedHead(e.Body)
		head, err := br.Peek(512)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil // the walker reports an entry it could not read
		}
		if fingerprint.Sniff(head) == "" {
			if !looksLikeImageName(e.Path) {
				return nil // not an image: ignored, not an error
			}
			s.problem(a.URL+"#"+entryPath, fmt.Errorf("%w: entry named like an image is not one", fingerprint.ErrUnsupported))
			return nil
		}
		var buf bytes.Buffer
		if _, err := io.Copy(&buf, io.LimitReader(br, s.cfg.Limits.MaxBytes+1)); err != nil {
			if archiveWide(err) {
				return err // reported once, for the whole archive, by Walk's caller
			}
			return nil // reported once, for the entry, by the walker
		}
		if int64(buf.Len()) > s.cfg.Limits.MaxBytes {
			s.problem(a.URL+"#"+entryPath, fmt.Errorf("%w: entry over %d bytes", fingerprint.ErrTooLarge, s.cfg.Limits.MaxBytes))
			return nil
		}
		data := buf.Bytes()
		if err := pool.acquire(ctx, int64(len(data))); err != nil {
			return err
		}
		go func() {
			defer pool.release(int64(len(data)))
			if err := s.image(ctx, w, data); err != nil {
				s.problem(a.URL+"#"+entryPath, err)
				keep(err)
			}
		}()
		if tail, f, ok := appendedArchive(data); ok {
			s.log.Info("archive appended to an image", "url", a.URL, "archive_path", entryPath, "format", f)
			return e.Embedded(tail, "(appended "+string(f)+")")
		}
		return nil
	}, func(p []string, err error) {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			truncated.Store(true)
		}
		s.problem(a.URL+"#"+strings.Join(append(slices.Clip(prefix), p...), "!/"), wrapArchive(err))
	})
	pool.wait() // every entry's result is in before the archive's
	if p := lost.Load(); p != nil {
		return fmt.Errorf("archive not done, to be read again: %w", *p)
	}
	if err != nil && truncated.Load() && errors.Is(err, io.ErrUnexpectedEOF) {
		// The stream ended inside an entry, already counted for that
		// entry: the archive failing at the next header is the same cut.
		return nil
	}
	if err != nil {
		return wrapArchive(err)
	}
	return nil
}

// lostWork reports errors that leave an image's matching unfinished for a
// reason of ours, not of the file's: the store refused its matches, or
// the run was stopped. What holds such an image must be read again.
func lostWork(ctx context.Context, err error) bool {
	return errors.Is(err, ErrStorage) || ctx.Err() != nil && errors.Is(err, ctx.Err())
}

// appendedArchive returns the archive that starts after the end of the
// image in data, if any.
func appendedArchive(data []byte) ([]byte, archive.Format, bool) {
	end, ok := imagefile.End(data)
	if !ok || end >= len(data) {
		return nil, "", false
	}
	off, f := archive.Find(data[end:])
	if f == archive.FormatUnknown {
		return nil, "", false
	}
	return data[end+off:], f, true
}

// archiveWide reports limits that stop the whole archive.
func archiveWide(err error) bool {
	return errors.Is(err, archive.ErrRatio) || errors.Is(err, archive.ErrTooLarge) ||
		errors.Is(err, archive.ErrCompressedTooLarge) || errors.Is(err, archive.ErrTooManyEntries) || errors.Is(err, context.DeadlineExceeded)
}

func wrapArchive(err error) error {
	if r := archiveReason(err); r != "" {
		return archiveError{reason: r, err: err}
	}
	return err
}

func looksLikeImageName(p []string) bool {
	if len(p) == 0 {
		return false
	}
	switch strings.ToLower(path.Ext(p[len(p)-1])) {
	case ".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff":
		return true
	}
	return false
}

// bytePool bounds concurrent image jobs by count and by buffered bytes.
type bytePool struct {
	mu       sync.Mutex
	cond     *sync.Cond
	jobs     int
	bytes    int64
	maxJobs  int
	maxBytes int64
	wg       sync.WaitGroup
}

func newBytePool(jobs int, bytes int64) *bytePool {
	if jobs <= 0 {
		jobs = runtime.GOMAXPROCS(0)
	}
	if bytes <= 0 {
		bytes = 96 << 20
	}
	p := &bytePool{maxJobs: jobs, maxBytes: bytes}
	p.cond = sync.NewCond(&p.mu)
	return p
}

// acquire waits for a job slot and n bytes of budget. A single job larger
// than the budget is admitted alone.
func (p *bytePool) acquire(ctx context.Context, n int64) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.jobs >= p.maxJobs || (p.jobs > 0 && p.bytes+n > p.maxBytes) {
		if err := ctx.Err(); err != nil {
			return err
		}
		p.cond.Wait()
	}
	p.jobs++
	p.bytes += n
	p.wg.Add(1)
	return nil
}

func (p *bytePool) release(n int64) {
	p.mu.Lock()
	p.jobs--
	p.bytes -= n
	p.mu.Unlock()
	p.cond.Broadcast()
	p.wg.Done()
}

func (p *bytePool) wait() { p.wg.Wait() }
