package archive

import (
	"archive/zip"
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
)

// errNoZipDirectory means no end-of-central-directory record was found.
var errNoZipDirectory = fmt.Errorf("%w: no zip end of central directory", ErrCorrupt)

// Zip record layouts, from PKWARE's APPNOTE.TXT.
const (
	sigDirEnd      = 0x06054b50
	sigDir64End    = 0x06064b50
	sigDir64Locate = 0x07064b50
	sigDirHeader   = 0x02014b50
	dirEndLen      = 22
	dir64LocateLen = 20
	dir64EndLen    = 56
	dirHeaderLen   = 46
	// archive/zip looks for the end record in the last 65 KiB; so do we,
	// so that we count the same directory it will parse.
	dirEndSearch = 65 * 1024
)

// maxZipDirectory bounds the bytes of a zip's central directory:
// archive/zip keeps every record's name, comment and extra field (up to
// 192 KiB a record), so a directory of a few thousand large records would
// cost gigabytes. 64 MiB is ~600 bytes per entry at the default entry
// limit.
const maxZipDirectory = 64 << 20

// errZipDirectory means a zip's central directory is over maxZipDirectory.
var errZipDirectory = fmt.Errorf("%w: zip central directory over %d bytes", ErrTooManyEntries, maxZipDirectory)

// countZipDirectory counts the central directory records archive/zip would
// parse, stopping as soon as there are more than limit, or with
// errZipDirectory once they hold more than maxZipDirectory bytes.
// archive/zip keeps reading records until one is malformed, whatever the
// end record declares, and allocates a File for each, so without this
// count a zip made of minimal records could cost ~6 bytes of memory per
// byte of input.
func countZipDirectory(r io.ReaderAt, size int64, limit int) (int, error) {
	endOff, dirSize, dirOff, err := findZipDirectoryEnd(r, size)
	if err != nil {
		return 0, err
	}
	// Same base-offset rule as archive/zip: data may be prepended to the
	// zip (self-extractors), shifting every offset.
	base := endOff - int64(dirSize) - int64(dirOff)
	start := base + int64(dirOff)
	if start < 0 || start >= size {
		return 0, fmt.Errorf("%w: zip directory offset %d outside a %d-byte file", ErrCorrupt, start, size)
	}
	if base > 0 && int64(dirOff) < size && hasDirHeaderAt(r, int64(dirOff)) {
		start = int64(dirOff)
	}
	br := bufio.NewReader(io.NewSectionReader(r, start, size-start))
	var fixed [dirHeaderLen]byte
	n, total := 0, 0
	for {
		if _, err := io.ReadFull(br, fixed[:]); err != nil {
			return n, ignoreEOF(err)
		}
		if binary.LittleEndian.Uint32(fixed[:]) != sigDirHeader {
			return n, nil
		}
		vlen := int(binary.LittleEndian.Uint16(fixed[28:])) +
			int(binary.LittleEndian.Uint16(fixed[30:])) +
			int(binary.LittleEndian.Uint16(fixed[32:]))
		if total += dirHeaderLen + vlen; total > maxZipDirectory {
			return n, errZipDirectory
		}
		if _, err := br.Discard(vlen); err != nil {
			return n, ignoreEOF(err)
		}
		n++
		if n > limit {
			return n, nil
		}
	}
}

// ignoreEOF treats running out of input as the end of the directory, as
// archive/zip does; other read errors (a tripped limit, ctx) pass through.
func ignoreEOF(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil
	}
	return err
}

func hasDirHeaderAt(r io.ReaderAt, off int64) bool {
	var b [4]byte
	_, err := r.ReadAt(b[:], off)
	return err == nil && binary.LittleEndian.Uint32(b[:]) == sigDirHeader
}

// findZipDirectoryEnd locates the (zip64) end of central directory record
// and returns its offset and the directory's declared size and offset.
func findZipDirectoryEnd(r io.ReaderAt, size int64) (endOff int64, dirSize, dirOff uint64, err error) {
	n := min(size, dirEndSearch)
	buf := make([]byte, n)
	if _, err := r.ReadAt(buf, size-n); err != nil && !errors.Is(err, io.EOF) {
		return 0, 0, 0, err
	}
	p := -1
	for i := len(buf) - dirEndLen; i >= 0; i-- {
		if binary.LittleEndian.Uint32(buf[i:]) == sigDirEnd {
			if i+dirEndLen+int(binary.LittleEndian.Uint16(buf[i+20:])) <= len(buf) {
				p = i
			}
			break // the last signature decides, like archive/zip
		}
	}
	if p < 0 {
		return 0, 0, 0, errNoZipDirectory
	}
	e := buf[p:]
	endOff = size - n + int64(p)
	// The declared record count only tells whether a zip64 record follows:
	// countZipDirectory counts the records themselves, as archive/zip
	// ignores the declaration.
	recs := uint64(binary.LittleEndian.Uint16(e[10:]))
	dirSize = uint64(binary.LittleEndian.Uint32(e[12:]))
	dirOff = uint64(binary.LittleEndian.Uint32(e[16:]))
	if recs == 0xffff || dirSize == 0xffff || dirOff == 0xffffffff {
		if off, ok := findZip64End(r, endOff); ok {
			var b [dir64EndLen]byte
			if _, err := r.ReadAt(b[:], off); err != nil && !errors.Is(err, io.EOF) {
				return 0, 0, 0, err
			}
			if binary.LittleEndian.Uint32(b[:]) != sigDir64End {
				return 0, 0, 0, fmt.Errorf("%w: bad zip64 end of central directory", ErrCorrupt)
			}
			endOff = off
			dirSize = binary.LittleEndian.Uint64(b[40:])
			dirOff = binary.LittleEndian.Uint64(b[48:])
		}
	}
	if dirSize > math.MaxInt64/2 || dirOff > math.MaxInt64/2 {
		return 0, 0, 0, fmt.Errorf("%w: zip directory size or offset out of range", ErrCorrupt)
	}
	return endOff, dirSize, dirOff, nil
}

// findZip64End follows the zip64 locator just before the end record.
func findZip64End(r io.ReaderAt, endOff int64) (int64, bool) {
	if endOff < dir64LocateLen {
		return 0, false
	}
	var b [dir64LocateLen]byte
	if _, err := r.ReadAt(b[:], endOff-dir64LocateLen); err != nil {
		return 0, false
	}
	if binary.LittleEndian.Uint32(b[:]) != sigDir64Locate {
		return 0, false
	}
	off := binary.LittleEndian.Uint64(b[8:])
	if off > math.MaxInt64/2 {
		return 0, false
	}
	return int64(off), true
}

// checkZipOverlap refuses a zip whose entries' data ranges overlap. Honest
// zips never overlap; overlapping is how David Fifield's "better zip bomb"
// makes thousands of entries decompress one shared kernel (and how the
// same local header is referenced many times). It returns the entry
// indexes whose data lies outside the file, which are reported when reached.
func checkZipOverlap(files []*zip.File, size int64) (outside map[int]bool, err error) {
	type span struct {
		start, end int64
		i          int
	}
	spans := make([]span, 0, len(files))
	for i, f := range files {
		if f.CompressedSize64 == 0 {
			continue
		}
		off, err := f.DataOffset()
		if err != nil {
			// A bad local header is reported when the entry is opened; a
			// tripped limit or ctx is already the walk's fatal error.
			continue
		}
		if f.CompressedSize64 > uint64(size) || off > size-int64(f.CompressedSize64) {
			if outside == nil {
				outside = make(map[int]bool)
			}
			outside[i] = true
			continue
		}
		spans = append(spans, span{off, off + int64(f.CompressedSize64), i})
	}
	slices.SortFunc(spans, func(a, b span) int {
		switch {
		case a.start < b.start:
			return -1
		case a.start > b.start:
			return 1
		}
		return 0
	})
	var last span
	for k, s := range spans {
		if k > 0 && s.start < last.end {
			return nil, fmt.Errorf("%w: zip entries %q and %q share data (overlapping-entry bomb)",
				ErrCorrupt, displayName(files[last.i].Name), displayName(files[s.i].Name))
		}
		if k == 0 || s.end > last.end {
			last = s
		}
	}
	return outside, nil
}
