package archive

import (
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/bodgit/sevenzip"
)

// walk7z walks a 7z archive through random access. 7z packs many files into
// one solid stream, and the library skips to an entry by decoding
// everything before it where our meters cannot see; so every entry,
// including skipped ones, is opened in order and read to its end through a
// meter; only entries of encrypted folders are not (folders decode
// independently). A panic in a decoder becomes ErrCorrupt.
func (w *walker) walk7z(depth int, prefix []string, ra io.ReaderAt, size int64) error {
	encrypted, err := check7z(ra, size, w.lim.MaxEntries-w.members)
	if err != nil {
		if perr := w.propagate(err); perr != nil {
			return perr
		}
		if errors.Is(err, ErrTooManyEntries) {
			return w.fail(err)
		}
		return corrupt("7z", err)
	}
	zr, err := open7z(ra, size)
	if err != nil {
		if perr := w.propagate(err); perr != nil {
			return perr
		}
		return classify7z(err)
	}
	for i, f := range zr.File {
		if err := w.member(); err != nil {
			return err
		}
		// An entry in an encrypted folder is reported, not opened: the
		// open would run the folder's key derivation only to fail.
		if i < len(encrypted) && encrypted[i] {
			w.report(w.childPath(prefix, f.Name), errEncryptedFolder)
			continue
		}
		if err := w.sevenZipEntry(depth, prefix, f); err != nil {
			return err
		}
	}
	return w.check()
}

// errEncryptedFolder is an entry whose data is in an encrypted folder.
var errEncryptedFolder = fmt.Errorf("%w: 7z entry in an encrypted folder, not opened", ErrEncrypted)

func (w *walker) sevenZipEntry(depth int, prefix []string, f *sevenzip.File) error {
	mode := f.Mode()
	if !mode.IsDir() && !mode.IsRegular() {
		w.skip(reasonNotRegular)
	}
	if !mode.IsRegular() && f.UncompressedSize == 0 {
		return nil
	}
	rc, err := open7zFile(f)
	if err != nil {
		return w.entryError(prefix, f.Name, err)
	}
	defer rc.Close() // read-only; returns the decoder to the library's pool
	body := &contentMeter{r: &sevenZipReader{r: rc}, w: w}
	if !mode.IsRegular() {
		// A directory or link with data of its own: in a solid folder,
		// opening the next entry decodes these bytes anyway, unseen, so
		// they are drained through the meter here and count.
		if _, err := io.Copy(io.Discard, body); err != nil {
			return w.entryError(prefix, f.Name, err)
		}
		return nil
	}
	declared := int64(-1)
	if f.UncompressedSize <= math.MaxInt64 {
		declared = int64(f.UncompressedSize)
	}
	if err := w.entry(depth, prefix, f.Name, body, declared); err != nil {
		return err
	}
	// Finish the entry through the meter so the next Open resumes where
	// this one ends instead of decoding this one again unseen.
	if _, err := io.Copy(io.Discard, body); err != nil {
		return w.propagate(err) // an entry-level error was already reported
	}
	return nil
}

// entryError reports err for the 7z entry name, unless it ends the walk
// (the fatal error, fn's), which it returns.
func (w *walker) entryError(prefix []string, name string, err error) error {
	if perr := w.propagate(err); perr != nil {
		return perr
	}
	w.report(w.childPath(prefix, name), classify7z(err))
	return nil
}

// open7z opens an archive, turning a library panic into ErrCorrupt.
func open7z(ra io.ReaderAt, size int64) (zr *sevenzip.Reader, err error) {
	defer func() {
		if v := recover(); v != nil {
			zr, err = nil, fmt.Errorf("%w: 7z reader panicked: %v", ErrCorrupt, v)
		}
	}()
	return sevenzip.NewReader(ra, size)
}

// open7zFile opens one entry, turning a library panic into ErrCorrupt.
func open7zFile(f *sevenzip.File) (rc io.ReadCloser, err error) {
	defer func() {
		if v := recover(); v != nil {
			rc, err = nil, fmt.Errorf("%w: 7z entry panicked: %v", ErrCorrupt, v)
		}
	}()
	return f.Open()
}

// sevenZipReader classifies the library's read errors and its panics.
type sevenZipReader struct{ r io.ReadCloser }

func (s *sevenZipReader) Read(p []byte) (n int, err error) {
	defer func() {
		if v := recover(); v != nil {
			n, err = 0, fmt.Errorf("%w: 7z decoder panicked: %v", ErrCorrupt, v)
		}
	}()
	n, err = s.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		err = classify7z(err)
	}
	return n, err
}

// classify7z maps the library's errors onto our sentinels. Meter errors
// (limits, ctx) are passed through untouched by the callers' propagate.
func classify7z(err error) error {
	var re *sevenzip.ReadError
	if errors.As(err, &re) && re.Encrypted {
		return fmt.Errorf("%w: 7z: %w", ErrEncrypted, err)
	}
	return corrupt("7z", err)
}
