package archive

import (
	"bytes"
	"context"
	"errors"
	"io"
)

// Format names an archive or compression format recognised by Detect.
type Format string

// Formats recognised by Detect. FormatUnknown is the empty string.
const (
	FormatUnknown Format = ""
	FormatZip     Format = "zip"
	FormatTar     Format = "tar"
	FormatGzip    Format = "gzip"
	FormatBzip2   Format = "bzip2"
	FormatXZ      Format = "xz"
	Format7z      Format = "7z"
	FormatRAR     Format = "rar"
)

// HeadSize is how many leading bytes Detect needs to recognise every format:
// a tar header is one 512-byte block with its magic at offset 257.
const HeadSize = 512

// Magic numbers, from each format's specification.
const (
	magicZip      = "PK\x03\x04"
	magicZipEmpty = "PK\x05\x06"
	magicZipSpan  = "PK\x07\x08"
	magicGzip     = "\x1f\x8b\x08" // 8 = deflate, the only method gzip defines
	magicBzip2    = "BZh"
	magicXZ       = "\xfd7zXZ\x00"
	magic7z       = "7z\xbc\xaf\x27\x1c"
	magicRAR4     = "Rar!\x1a\x07\x00"
	magicRAR5     = "Rar!\x1a\x07\x01\x00"
)

// hasPrefix is bytes.HasPrefix for a string constant, without allocating.
func hasPrefix(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && string(b[:len(prefix)]) == prefix
}

// Detect identifies a format from the first bytes of a file (HeadSize bytes
// suffice; fewer are fine for everything but tar). It looks only at magic
// bytes, never at names, because names on a dump site are chosen by the
// attacker.
func Detect(head []byte) Format {
	switch {
	case hasPrefix(head, magicZip), hasPrefix(head, magicZipEmpty), hasPrefix(head, magicZipSpan):
		return FormatZip
	case hasPrefix(head, magicGzip):
		return FormatGzip
	case len(head) >= 4 && hasPrefix(head, magicBzip2) && head[3] >= '1' && head[3] <= '9':
		return FormatBzip2
	case hasPrefix(head, magicXZ):
		return FormatXZ
	case hasPrefix(head, magic7z):
		return Format7z
	case hasPrefix(head, magicRAR4), hasPrefix(head, magicRAR5):
		return FormatRAR
	case isTarHeader(head):
		return FormatTar
	}
	return FormatUnknown
}

// Find returns the offset of the first archive that starts in b, by the
// magic bytes Detect recognises (tar by its ustar magic 257 bytes in), and
// its format; -1 and FormatUnknown if there is none. It is meant for the
// bytes after another file's end, such as a zip appended to a JPEG: in the
// middle of compressed data a short magic can occur by chance.
func Find(b []byte) (int, Format) {
	best, format := -1, FormatUnknown
	found := func(off int) {
		if best >= 0 && off >= best {
			return
		}
		if f := Detect(b[off:min(len(b), off+HeadSize)]); f != FormatUnknown {
			best, format = off, f
		}
	}
	for _, m := range []string{magicZip, magic7z, magicRAR4[:6], magicXZ, magicGzip, magicBzip2} {
		for from := 0; from < len(b) && (best < 0 || from < best); {
			k := bytes.Index(b[from:], []byte(m))
			if k < 0 {
				break
			}
			if found(from + k); best == from+k {
				break
			}
			from += k + 1
		}
	}
	for from := 0; from < len(b) && (best < 0 || from+257 < best); {
		k := bytes.Index(b[from:], []byte("ustar"))
		if k < 0 {
			break
		}
		if off := from + k - 257; off >= 0 {
			found(off)
		}
		from += k + 1
	}
	return best, format
}

// Entry is one regular file inside an archive.
type Entry struct {
	// Path is the chain of entry names from the outermost archive inwards:
	// ["photos.zip", "img/1.jpg"] for a zip inside the walked tar. The
	// names are untrusted text, sanitized for display only (invalid UTF-8
	// replaced, control and bidi characters removed, length capped); they
	// may still be "../../etc/passwd" and must never be used to build a
	// filesystem path.
	Path []string
	// Size is the size the archive declares, or -1 if it declares none.
	Size int64
	// Body streams the entry. It is valid only during the callback; reading
	// beyond Limits.MaxEntryBytes returns an error wrapping
	// ErrEntryTooLarge, and a cancelled context makes it return ctx.Err().
	Body io.Reader
	// Embedded walks an archive that the callback found inside the bytes
	// it read from Body (a zip appended to an image) as an archive nested
	// in this entry under name: at the next depth, under this walk's
	// limits, its entries passed to fn (re-entrantly) with paths below this
	// entry's. Problems are reported and counted as for any nested
	// archive; the error returned is fn's or a whole-walk limit's. Valid
	// only during the callback.
	Embedded func(data []byte, name string) error
}

// Stats summarises one Walk.
type Stats struct {
	// Entries is the number of entries passed to fn.
	Entries int
	// Nested is the number of nested archives descended into.
	Nested int
	// Uncompressed is the bytes decompressed at every level (see
	// Limits.MaxUncompressedBytes); Compressed the bytes read from the
	// top-level source.
	Uncompressed, Compressed int64
	// Errors is the number of onError calls.
	Errors int
	// Skipped counts members not passed to fn, by reason: entry_too_large,
	// too_deep, spool_too_large, corrupt, encrypted, unsupported, error
	// (each also reported to onError), and not_regular (links, devices) and
	// sparse (sparse tar members), which are not errors.
	Skipped map[string]int
	// UnsafeNames counts entries whose raw name was absolute, climbed out
	// with "..", used backslashes or held control characters (zip-slip and
	// terminal-escape attempts). They are still passed to fn: a name is
	// just data here.
	UnsafeNames int
}

// Walk streams every regular, non-directory entry of the archive in r to fn,
// one at a time, in archive order. name (a file name or URL path) is a hint:
// the format is detected from magic bytes, and the name only names the
// content of a single compressed file ("photo.jpg.gz" yields "photo.jpg")
// and lets a zip with leading junk (a self-extractor) be tried as a zip.
//
// If r is an io.ReaderAt with a size (*os.File, *bytes.Reader,
// *io.SectionReader) it is read from offset 0 with random access; otherwise
// zip and 7z input is spooled (see Limits.MaxSpoolBytes). Nothing is ever
// written to disk except that spool, whatever the entry names say.
//
// Input in no known format returns ErrNotArchive. Nested archives are
// recognised by magic bytes and descended into instead of being passed to
// fn, up to Limits.MaxDepth; deeper ones are reported via onError and
// skipped. A problem with one entry (a limit, corruption, encryption) is
// reported to onError, counted in Stats, and the walk goes on with the next
// entry where the format allows; a whole-archive limit stops the walk with
// an error wrapping its sentinel. If fn returns an error the walk stops and
// Walk returns that error unchanged, except that an error wrapping
// ErrEntryTooLarge from Body is treated as the entry-level problem it is.
// onError may be nil. Cancelling ctx stops the walk between and during
// entries.
func Walk(ctx context.Context, r io.Reader, name string, lim Limits, fn func(Entry) error, onError func(path []string, err error)) (Stats, error) {
	return run(ctx, lim, fn, onError, func(w *walker) error { return w.walkTop(r, name) })
}

// run makes a walker and runs walk with it, returning fn's errors as fn
// returned them.
func run(ctx context.Context, lim Limits, fn func(Entry) error, onError func([]string, error), walk func(*walker) error) (Stats, error) {
	w := &walker{
		ctx:     ctx,
		lim:     lim.withDefaults(),
		fn:      fn,
		onError: onError,
		stats:   Stats{Skipped: make(map[string]int)},
	}
	err := walk(w)
	if cb, ok := errors.AsType[*callbackError](err); ok {
		err = cb.err
	}
	return w.stats, err
}
