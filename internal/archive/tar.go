package archive

import (
	"archive/tar"
	"errors"
	"io"
	"strings"
)

// walkTar walks a tar stream. r must already be metered: tar.Reader skips
// the unread rest of an entry by reading it, and those bytes must count.
// A tar cannot skip past corruption, so a bad header ends the walk.
func (w *walker) walkTar(depth int, prefix []string, r io.Reader) error {
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return w.check()
		}
		if err != nil {
			if perr := w.propagate(err); perr != nil {
				return perr
			}
			return corrupt("tar", err)
		}
		if err := w.member(); err != nil {
			return err
		}
		switch {
		case hdr.Typeflag == tar.TypeDir, hdr.Typeflag == tar.TypeXGlobalHeader:
			continue
		case isSparse(hdr):
			// Holes are produced without reading input, which would let a
			// tiny tar claim terabytes of zeros past our meters.
			w.skip(reasonSparse)
			continue
		case !hdr.FileInfo().Mode().IsRegular():
			w.skip(reasonNotRegular)
			continue
		}
		if err := w.entry(depth, prefix, hdr.Name, tr, hdr.Size); err != nil {
			return err
		}
	}
}

// isSparse reports GNU sparse members, old style or PAX.
func isSparse(hdr *tar.Header) bool {
	if hdr.Typeflag == tar.TypeGNUSparse {
		return true
	}
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

// isTarHeader reports whether head starts with a tar header block: the
// ustar magic (POSIX and GNU) or, for pre-POSIX tars, a valid checksum.
func isTarHeader(head []byte) bool {
	if len(head) >= 263 {
		magic := string(head[257:263])
		if magic == "ustar\x00" || magic == "ustar " {
			return true
		}
	}
	if len(head) < 512 || head[0] == 0 {
		return false
	}
	// V7 tar: checksum field at 148..155 is the sum of the header bytes
	// with the field itself counted as spaces. Also require an octal mode
	// and a known type flag, so random data does not pass by chance.
	want, ok := parseOctal(head[148:156])
	if !ok {
		return false
	}
	if _, ok := parseOctal(head[100:108]); !ok {
		return false
	}
	if !strings.ContainsRune("01234567\x00", rune(head[156])) {
		return false
	}
	var unsigned, signed int64
	for i, c := range head[:512] {
		if i >= 148 && i < 156 {
			c = ' '
		}
		unsigned += int64(c)
		signed += int64(int8(c))
	}
	return want == unsigned || want == signed
}

// parseOctal parses a NUL- or space-padded octal header field.
func parseOctal(b []byte) (int64, bool) {
	s := strings.Trim(string(b), " \x00")
	if s == "" {
		return 0, false
	}
	var v int64
	for _, c := range s {
		if c < '0' || c > '7' {
			return 0, false
		}
		v = v<<3 | int64(c-'0')
	}
	return v, true
}
