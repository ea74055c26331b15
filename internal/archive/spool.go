package archive

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// memSpoolBytes is how much of a spooled archive stays in memory; larger
// ones go to a temporary file.
const memSpoolBytes = 1 << 20

// spool copies r so that zip and 7z, which need random access, can read it.
// Up to memSpoolBytes stay in memory; beyond that the copy goes to a
// temporary file in TempDir that is unlinked as soon as it is created, so it
// cannot outlive the process, and that closeSpool closes. The copy is capped
// at MaxSpoolBytes.
func (w *walker) spool(r io.Reader) (ra io.ReaderAt, size int64, closeSpool func(), err error) {
	limit := w.lim.MaxSpoolBytes
	var mem bytes.Buffer
	n, err := mem.ReadFrom(io.LimitReader(r, min(limit, memSpoolBytes)+1))
	if err != nil {
		return nil, 0, nil, w.spoolErr(err)
	}
	if n > limit {
		return nil, 0, nil, fmt.Errorf("%w: more than %d bytes", ErrSpoolTooLarge, limit)
	}
	if n <= memSpoolBytes {
		return &ctxReaderAt{r: bytes.NewReader(mem.Bytes()), w: w}, n, func() {}, nil
	}

	f, err := os.CreateTemp(w.lim.TempDir, "leakwatch-archive-*.spool")
	if err != nil {
		return nil, 0, nil, fmt.Errorf("archive: creating spool: %w", err)
	}
	// Unlink at once: on Linux the open descriptor keeps the data and the
	// name is gone, so a crash leaves nothing behind. Where an open file
	// cannot be removed (Windows) it is removed on close instead.
	name := f.Name()
	unlinked := os.Remove(name) == nil
	closeSpool = func() {
		_ = f.Close() // read-only use from here on; nothing to flush
		if !unlinked {
			_ = os.Remove(name)
		}
	}
	src := &errRecorder{r: io.MultiReader(&mem, io.LimitReader(r, limit-n+1))}
	size, err = io.Copy(f, src)
	switch {
	case src.err != nil:
		closeSpool()
		return nil, 0, nil, w.spoolErr(src.err)
	case err != nil:
		closeSpool()
		return nil, 0, nil, fmt.Errorf("archive: writing spool: %w", err)
	case size > limit:
		closeSpool()
		return nil, 0, nil, fmt.Errorf("%w: more than %d bytes", ErrSpoolTooLarge, limit)
	}
	return &ctxReaderAt{r: f, w: w}, size, closeSpool, nil
}

// errRecorder remembers a read error so that io.Copy's read and write
// failures can be told apart.
type errRecorder struct {
	r   io.Reader
	err error
}

func (e *errRecorder) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		e.err = err
	}
	return n, err
}

// spoolErr classifies an error reading the data being spooled.
func (w *walker) spoolErr(err error) error {
	if perr := w.propagate(err); perr != nil {
		return perr
	}
	return corrupt("reading archive to spool", err)
}
