package archive

import (
	"errors"
	"fmt"
)

// Sentinel errors. Walk and the callbacks receive errors that wrap one of
// these, so callers test them with errors.Is.
//
// Whole-archive limits (ErrTooManyEntries, ErrTooLarge, ErrCompressedTooLarge,
// ErrRatio) stop the walk. Entry limits (ErrEntryTooLarge, ErrTooDeep, and
// ErrSpoolTooLarge, ErrCorrupt, ErrEncrypted, ErrUnsupported for a nested
// archive or a single entry) are reported to onError and the walk goes on.
var (
	// ErrNotArchive means the input is not in any supported archive or
	// compression format.
	ErrNotArchive = errors.New("archive: not an archive")
	// ErrTooManyEntries means Limits.MaxEntries was exceeded.
	ErrTooManyEntries = errors.New("archive: too many entries")
	// ErrTooManyVolumes means a split archive has more than
	// Limits.MaxVolumes volumes.
	ErrTooManyVolumes = errors.New("archive: too many volumes")
	// ErrEntryTooLarge means one entry is larger than Limits.MaxEntryBytes.
	ErrEntryTooLarge = errors.New("archive: entry too large")
	// ErrTooLarge means the uncompressed total exceeded
	// Limits.MaxUncompressedBytes.
	ErrTooLarge = errors.New("archive: uncompressed total too large")
	// ErrCompressedTooLarge means more than Limits.MaxCompressedBytes were
	// read from the source.
	ErrCompressedTooLarge = errors.New("archive: compressed input too large")
	// ErrRatio means the uncompressed/compressed ratio exceeded
	// Limits.MaxRatio: the signature of a decompression bomb.
	ErrRatio = errors.New("archive: compression ratio too high")
	// ErrTooDeep means an archive is nested deeper than Limits.MaxDepth.
	ErrTooDeep = errors.New("archive: archives nested too deep")
	// ErrSpoolTooLarge means an archive that needs random access (zip, 7z)
	// is larger than Limits.MaxSpoolBytes.
	ErrSpoolTooLarge = errors.New("archive: too large to spool")
	// ErrCorrupt means the archive or an entry is malformed, including zip
	// files whose entries overlap (the "better zip bomb" construction).
	ErrCorrupt = errors.New("archive: corrupt archive")
	// ErrEncrypted means an entry (or a whole 7z header) is encrypted; no
	// password is ever tried.
	ErrEncrypted = errors.New("archive: encrypted")
	// ErrUnsupported means an entry uses a compression method this package
	// cannot decode.
	ErrUnsupported = errors.New("archive: unsupported compression method")
)

// errBodyExpired is returned by Entry.Body once the callback has returned.
var errBodyExpired = errors.New("archive: entry body read after its callback returned")

// Skip reasons, the keys of Stats.Skipped.
const (
	reasonEntryTooLarge = "entry_too_large"
	reasonTooDeep       = "too_deep"
	reasonSpool         = "spool_too_large"
	reasonCorrupt       = "corrupt"
	reasonEncrypted     = "encrypted"
	reasonUnsupported   = "unsupported"
	reasonNotRegular    = "not_regular"
	reasonSparse        = "sparse"
	reasonOther         = "error"
)

// reasonOf maps an entry-level error to its Stats.Skipped key.
func reasonOf(err error) string {
	switch {
	case errors.Is(err, ErrEntryTooLarge):
		return reasonEntryTooLarge
	case errors.Is(err, ErrTooDeep):
		return reasonTooDeep
	case errors.Is(err, ErrSpoolTooLarge):
		return reasonSpool
	case errors.Is(err, ErrEncrypted):
		return reasonEncrypted
	case errors.Is(err, ErrUnsupported):
		return reasonUnsupported
	case errors.Is(err, ErrCorrupt):
		return reasonCorrupt
	}
	return reasonOther
}

// corrupt wraps a format library's error so that it matches ErrCorrupt while
// keeping the library's message. Errors that already carry one of our entry
// sentinels are returned unchanged.
func corrupt(what string, err error) error {
	if errors.Is(err, ErrCorrupt) || errors.Is(err, ErrEncrypted) || errors.Is(err, ErrUnsupported) {
		return err
	}
	return fmt.Errorf("%w: %s: %w", ErrCorrupt, what, err)
}

// callbackError carries an error returned by the caller's fn through the
// walker so that it is never mistaken for an entry-level problem; Walk
// unwraps it and returns fn's error as is.
type callbackError struct{ err error }

func (e *callbackError) Error() string { return e.err.Error() }
func (e *callbackError) Unwrap() error { return e.err }
