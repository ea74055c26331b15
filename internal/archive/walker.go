package archive

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// walker holds the state of one Walk. It is used by one goroutine only.
type walker struct {
	ctx     context.Context
	lim     Limits
	fn      func(Entry) error
	onError func([]string, error)
	stats   Stats
	members int   // members examined, for MaxEntries
	fatal   error // first whole-walk error; once set every reader returns it
	// volumeStarts, for a walk of split volumes read as one stream, are
	// the offsets where each volume begins (filled as they are read).
	volumeStarts *[]int64
}

// check returns the walk's fatal error, recording ctx cancellation as one.
func (w *walker) check() error {
	if w.fatal != nil {
		return w.fatal
	}
	if err := w.ctx.Err(); err != nil {
		w.fatal = err
	}
	return w.fatal
}

// fail records a whole-walk error; the first one wins.
func (w *walker) fail(err error) error {
	if w.fatal == nil {
		w.fatal = err
	}
	return w.fatal
}

// propagate decides what an error from a nested walk or a format library
// means for the caller: the fatal error and fn's errors win over anything a
// library made of them.
func (w *walker) propagate(err error) error {
	if w.fatal != nil {
		return w.fatal
	}
	if cb, ok := errors.AsType[*callbackError](err); ok {
		return cb
	}
	return nil
}

// member counts one archive member against MaxEntries.
func (w *walker) member() error {
	if err := w.check(); err != nil {
		return err
	}
	w.members++
	if w.members > w.lim.MaxEntries {
		return w.fail(fmt.Errorf("%w: more than %d", ErrTooManyEntries, w.lim.MaxEntries))
	}
	return nil
}

// skip counts a member that is not an error and not passed to fn.
func (w *walker) skip(reason string) { w.stats.Skipped[reason]++ }

// report records an entry-level error and tells the caller.
func (w *walker) report(path []string, err error) {
	w.stats.Errors++
	w.stats.Skipped[reasonOf(err)]++
	if w.onError != nil {
		w.onError(slices.Clone(path), err)
	}
}

// walkTop detects the format of the top-level input and walks it.
func (w *walker) walkTop(r io.Reader, name string) error {
	if err := w.check(); err != nil {
		return err
	}
	if ra, size, ok := randomAccess(r); ok {
		return w.walkReaderAt(ra, size, name)
	}
	src := bufio.NewReaderSize(&sourceMeter{r: r, w: w}, 64<<10)
	return w.walkStream(1, nil, src, name, true)
}

// walkReaderAt walks a top-level source that allows random access, so zip
// and 7z need no spool. Every read but the format sniff is metered.
func (w *walker) walkReaderAt(src io.ReaderAt, size int64, name string) error {
	head := make([]byte, min(size, HeadSize))
	if _, err := src.ReadAt(head, 0); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("archive: reading source: %w", err)
	}
	ra := &meteredReaderAt{r: src, w: w}
	switch Detect(head) {
	case FormatZip:
		return w.walkZip(1, nil, ra, size)
	case Format7z:
		return w.walk7z(1, nil, ra, size)
	case FormatUnknown:
		if hintsZip(name) {
			return w.walkHintedZip(ra, size)
		}
		return ErrNotArchive
	}
	stream := bufio.NewReaderSize(io.NewSectionReader(ra, 0, size), 64<<10)
	return w.walkStream(1, nil, stream, name, false)
}

// walkStream walks the archive at the start of br, at nesting depth depth.
// prefix is the entry path of the archive itself (nil at the top).
func (w *walker) walkStream(depth int, prefix []string, br *bufio.Reader, hint string, top bool) error {
	head, err := br.Peek(HeadSize)
	if err != nil && !errors.Is(err, io.EOF) {
		if perr := w.propagate(err); perr != nil {
			return perr
		}
		return corrupt("reading", err)
	}
	switch f := Detect(head); f {
	case FormatTar:
		return w.walkTar(depth, prefix, &contentMeter{r: br, w: w})
	case FormatGzip, FormatBzip2, FormatXZ:
		return w.walkCompressed(depth, prefix, br, f, hint)
	case FormatRAR:
		return w.walkRAR(depth, prefix, br)
	case FormatZip, Format7z:
		ra, size, closeSpool, err := w.spool(br)
		if err != nil {
			return err
		}
		defer closeSpool()
		if f == FormatZip {
			return w.walkZip(depth, prefix, ra, size)
		}
		return w.walk7z(depth, prefix, ra, size)
	default:
		if top && hintsZip(hint) {
			ra, size, closeSpool, err := w.spool(br)
			if err != nil {
				return err
			}
			defer closeSpool()
			return w.walkHintedZip(ra, size)
		}
		return ErrNotArchive
	}
}

// walkHintedZip tries a source named *.zip whose magic did not match (a
// self-extractor or a zip with junk prepended); if it has no readable
// central directory it is not an archive.
func (w *walker) walkHintedZip(ra io.ReaderAt, size int64) error {
	err := w.walkZip(1, nil, ra, size)
	if errors.Is(err, errNoZipDirectory) {
		return fmt.Errorf("%w: named like a zip but has no zip directory", ErrNotArchive)
	}
	return err
}

// hintsZip reports whether a name suggests a zip-based container.
func hintsZip(name string) bool {
	n := strings.ToLower(name)
	for _, s := range []string{".zip", ".cbz", ".jar", ".docx", ".xlsx", ".pptx", ".odt", ".apk", ".epub"} {
		if strings.HasSuffix(n, s) {
			return true
		}
	}
	return false
}

// entry handles one member of an archive: a nested archive is descended
// into, anything else is passed to fn. body must already be metered by the
// caller; size is the declared size or -1.
func (w *walker) entry(depth int, prefix []string, rawName string, body io.Reader, size int64) error {
	if err := w.check(); err != nil {
		return err
	}
	path := w.childPath(prefix, rawName)
	br, ok := body.(*bufio.Reader)
	if !ok || br.Size() < HeadSize {
		br = bufio.NewReaderSize(body, 4<<10)
	}
	head, err := br.Peek(HeadSize)
	if err != nil && !errors.Is(err, io.EOF) {
		if perr := w.propagate(err); perr != nil {
			return perr
		}
		w.report(path, corrupt("reading entry", err))
		return nil
	}
	if f := Detect(head); f != FormatUnknown {
		return w.nested(depth, path, rawName, br, f)
	}
	if size > w.lim.MaxEntryBytes {
		w.report(path, fmt.Errorf("%w: declares %d bytes, limit %d", ErrEntryTooLarge, size, w.lim.MaxEntryBytes))
		return nil
	}
	eb := &entryBody{r: br, w: w, left: w.lim.MaxEntryBytes}
	w.stats.Entries++
	embedded := func(data []byte, name string) error {
		if eb.expired {
			return errBodyExpired
		}
		inner := bufio.NewReaderSize(bytes.NewReader(data), 4<<10)
		head, _ := inner.Peek(HeadSize)
		f := Detect(head)
		if f == FormatUnknown {
			return nil
		}
		err := w.nested(depth, w.childPath(path, name), name, inner, f)
		if cb, ok := errors.AsType[*callbackError](err); ok {
			return cb.err
		}
		return err
	}
	fnErr := w.fn(Entry{Path: path, Size: size, Body: eb, Embedded: embedded})
	eb.expired = true
	return w.afterEntry(path, eb, fnErr)
}

// afterEntry sorts out what happened while fn read an entry.
func (w *walker) afterEntry(path []string, eb *entryBody, fnErr error) error {
	if w.fatal != nil {
		return w.fatal
	}
	if eb.tooLarge {
		w.report(path, fmt.Errorf("%w: more than %d bytes", ErrEntryTooLarge, w.lim.MaxEntryBytes))
		if fnErr == nil || errors.Is(fnErr, ErrEntryTooLarge) {
			return nil
		}
		return &callbackError{fnErr}
	}
	if eb.readErr != nil && (fnErr == nil || errors.Is(fnErr, eb.readErr)) {
		w.report(path, eb.readErr)
		return nil
	}
	if fnErr != nil {
		return &callbackError{fnErr}
	}
	return nil
}

// nested descends into an archive found inside another one.
func (w *walker) nested(depth int, path []string, rawName string, br *bufio.Reader, f Format) error {
	if depth >= w.lim.MaxDepth {
		w.report(path, fmt.Errorf("%w: %s archive at depth %d, limit %d", ErrTooDeep, f, depth+1, w.lim.MaxDepth))
		return nil
	}
	w.stats.Nested++
	err := w.walkStream(depth+1, path, br, rawName, false)
	if err == nil {
		return nil
	}
	if perr := w.propagate(err); perr != nil {
		return perr
	}
	w.report(path, err)
	return nil
}

// childPath appends the display form of a raw member name to prefix.
func (w *walker) childPath(prefix []string, rawName string) []string {
	if unsafeName(rawName) {
		w.stats.UnsafeNames++
	}
	path := make([]string, len(prefix), len(prefix)+1)
	copy(path, prefix)
	return append(path, displayName(rawName))
}
