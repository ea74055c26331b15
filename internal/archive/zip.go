package archive

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
)

// walkZip walks a zip through random access. Before reading any entry it
// bounds the directory size and refuses overlapping entries; each entry is
// then read independently, so a bad entry is skipped and the walk goes on.
func (w *walker) walkZip(depth int, prefix []string, ra io.ReaderAt, size int64) error {
	if depth == 1 && w.volumeStarts != nil && len(*w.volumeStarts) > 1 {
		var err error
		if ra, size, err = unsplitZip(ra, size, *w.volumeStarts); err != nil {
			if perr := w.propagate(err); perr != nil {
				return perr
			}
			return corrupt("split zip", err)
		}
	}
	budget := w.lim.MaxEntries - w.members
	n, err := countZipDirectory(ra, size, budget)
	if errors.Is(err, errZipDirectory) {
		return w.fail(err)
	}
	if err != nil {
		if perr := w.propagate(err); perr != nil {
			return perr
		}
		return corrupt("zip directory", err)
	}
	if n > budget {
		return w.fail(fmt.Errorf("%w: zip directory lists more than %d entries", ErrTooManyEntries, budget))
	}
	zr, err := zip.NewReader(ra, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) { // names are data here
		if perr := w.propagate(err); perr != nil {
			return perr
		}
		return corrupt("zip", err)
	}
	outside, err := checkZipOverlap(zr.File, size)
	if err != nil {
		if perr := w.propagate(err); perr != nil {
			return perr
		}
		return err
	}
	for i, f := range zr.File {
		if err := w.member(); err != nil {
			return err
		}
		if err := w.zipEntry(depth, prefix, f, outside[i]); err != nil {
			return err
		}
	}
	return w.check()
}

// zip method numbers that mean encryption rather than compression.
const zipMethodAES = 99 // WinZip AES

func (w *walker) zipEntry(depth int, prefix []string, f *zip.File, outside bool) error {
	mode := f.Mode()
	switch {
	case strings.HasSuffix(f.Name, "/") || mode.IsDir():
		return nil
	case !mode.IsRegular():
		w.skip(reasonNotRegular)
		return nil
	}
	path := func() []string { return w.childPath(prefix, f.Name) }
	switch {
	case f.Flags&0x1 != 0 || f.Method == zipMethodAES:
		w.report(path(), fmt.Errorf("%w: zip entry", ErrEncrypted))
		return nil
	case outside:
		w.report(path(), fmt.Errorf("%w: zip entry data lies beyond the end of the file", ErrCorrupt))
		return nil
	}
	rc, err := f.Open()
	if err != nil {
		if perr := w.propagate(err); perr != nil {
			return perr
		}
		if errors.Is(err, zip.ErrAlgorithm) {
			w.report(path(), fmt.Errorf("%w: zip method %d", ErrUnsupported, f.Method))
		} else {
			w.report(path(), corrupt("zip entry", err))
		}
		return nil
	}
	defer rc.Close() // read-only; Close only releases the decompressor
	declared := int64(-1)
	if f.UncompressedSize64 <= math.MaxInt64 {
		declared = int64(f.UncompressedSize64)
	}
	return w.entry(depth, prefix, f.Name, &contentMeter{r: rc, w: w}, declared)
}
