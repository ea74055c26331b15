package archive

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// The readers below are where every limit is enforced. Each Read first
// checks the walk's fatal error and ctx, so a cancelled context or a tripped
// whole-archive limit stops every layer at its next Read, including reads a
// format library makes internally.

// sourceMeter counts bytes read from the top-level source.
type sourceMeter struct {
	r io.Reader
	w *walker
}

func (m *sourceMeter) Read(p []byte) (int, error) {
	if err := m.w.check(); err != nil {
		return 0, err
	}
	n, err := m.r.Read(p)
	if ferr := m.w.addCompressed(n); ferr != nil {
		return n, ferr
	}
	return n, err
}

// meteredReaderAt counts bytes read from a top-level io.ReaderAt. Repeated
// reads of the same range count again, which bounds formats whose entries
// can make a reader revisit data.
type meteredReaderAt struct {
	r io.ReaderAt
	w *walker
}

func (m *meteredReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if err := m.w.check(); err != nil {
		return 0, err
	}
	n, err := m.r.ReadAt(p, off)
	if ferr := m.w.addCompressed(n); ferr != nil {
		return n, ferr
	}
	return n, err
}

// ctxReaderAt makes reads of a spool file honour the walk's fatal error and
// ctx; its bytes were already counted when the spool was filled.
type ctxReaderAt struct {
	r io.ReaderAt
	w *walker
}

func (c *ctxReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if err := c.w.check(); err != nil {
		return 0, err
	}
	return c.r.ReadAt(p, off)
}

// contentMeter counts decompressed bytes: a tar stream, a zip or 7z entry,
// the content of a single compressed file.
type contentMeter struct {
	r io.Reader
	w *walker
}

func (m *contentMeter) Read(p []byte) (int, error) {
	if err := m.w.check(); err != nil {
		return 0, err
	}
	n, err := m.r.Read(p)
	if ferr := m.w.addUncompressed(n); ferr != nil {
		return n, ferr
	}
	return n, err
}

func (w *walker) addCompressed(n int) error {
	w.stats.Compressed += int64(n)
	if w.stats.Compressed > w.lim.MaxCompressedBytes {
		return w.fail(fmt.Errorf("%w: read more than %d bytes", ErrCompressedTooLarge, w.lim.MaxCompressedBytes))
	}
	return nil
}

func (w *walker) addUncompressed(n int) error {
	w.stats.Uncompressed += int64(n)
	u := w.stats.Uncompressed
	if u > w.lim.MaxUncompressedBytes {
		return w.fail(fmt.Errorf("%w: more than %d bytes", ErrTooLarge, w.lim.MaxUncompressedBytes))
	}
	if u > ratioFloor && float64(u) > w.lim.MaxRatio*float64(max(w.stats.Compressed, 1)) {
		return w.fail(fmt.Errorf("%w: %d bytes out of %d read, limit %g:1",
			ErrRatio, u, w.stats.Compressed, w.lim.MaxRatio))
	}
	return nil
}

// entryBody is Entry.Body: it enforces MaxEntryBytes, expires when the
// callback returns, and remembers what went wrong so the walker can report
// it whether or not fn passes the error on.
type entryBody struct {
	r        io.Reader
	w        *walker
	left     int64
	expired  bool
	tooLarge bool
	readErr  error // entry-level read error (corrupt, encrypted, ...)
	err      error // sticky error returned by every later Read
}

func (b *entryBody) Read(p []byte) (int, error) {
	if b.expired {
		return 0, errBodyExpired
	}
	if err := b.w.check(); err != nil {
		return 0, err
	}
	if b.err != nil {
		return 0, b.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if b.left <= 0 {
		return b.probe()
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	if err != nil && !errors.Is(err, io.EOF) {
		return n, b.failed(err)
	}
	return n, err
}

// probe is called at the limit: one more byte means the entry is too large.
func (b *entryBody) probe() (int, error) {
	var one [1]byte
	n, err := io.ReadFull(b.r, one[:])
	switch {
	case n == 1:
		b.tooLarge = true
		b.err = fmt.Errorf("%w: more than %d bytes", ErrEntryTooLarge, b.w.lim.MaxEntryBytes)
		return 0, b.err
	case errors.Is(err, io.EOF):
		return 0, io.EOF
	}
	return 0, b.failed(err)
}

func (b *entryBody) failed(err error) error {
	if ferr := b.w.propagate(err); ferr != nil {
		return ferr
	}
	b.readErr = corrupt("reading entry", err)
	b.err = b.readErr
	return b.err
}

// safeReader turns a panic in a third-party decoder into ErrCorrupt: a
// hostile archive must not take the crawler down.
type safeReader struct {
	r    io.Reader
	what string
}

func (s *safeReader) Read(p []byte) (n int, err error) {
	defer func() {
		if v := recover(); v != nil {
			n, err = 0, fmt.Errorf("%w: %s decoder panicked: %v", ErrCorrupt, s.what, v)
		}
	}()
	return s.r.Read(p)
}

// sizedReaderAt is satisfied by *bytes.Reader, *strings.Reader and
// *io.SectionReader.
type sizedReaderAt interface {
	io.ReaderAt
	Size() int64
}

// randomAccess reports whether r can be read at arbitrary offsets, and its
// size.
func randomAccess(r io.Reader) (io.ReaderAt, int64, bool) {
	switch v := r.(type) {
	case sizedReaderAt:
		return v, v.Size(), true
	case *os.File:
		fi, err := v.Stat()
		if err == nil && fi.Mode().IsRegular() {
			return v, fi.Size(), true
		}
	}
	return nil, 0, false
}
