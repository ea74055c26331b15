package archive

import (
	"path"
	"strings"

	"github.com/leakwatch/leakwatch/internal/safetext"
)

// maxNameBytes caps a displayed entry name; an ellipsis marks the cut.
const maxNameBytes = 1024

// displayName makes an untrusted entry name safe to print and log
// (safetext.Display: no terminal escapes, no bidi reordering, capped).
// The result is for display only, never for a filesystem path.
func displayName(raw string) string { return safetext.Display(raw, maxNameBytes) }

// unsafeName reports names that would escape an extraction directory or
// mislead a terminal if anyone were careless enough to use them: absolute
// paths, drive letters, ".." elements, backslashes, control characters.
func unsafeName(raw string) bool {
	if strings.ContainsRune(raw, '\\') || strings.HasPrefix(raw, "/") {
		return true
	}
	if len(raw) >= 2 && raw[1] == ':' && (raw[0]|0x20) >= 'a' && (raw[0]|0x20) <= 'z' {
		return true
	}
	for _, r := range raw {
		if safetext.Hidden(r) {
			return true
		}
	}
	for elem := range strings.SplitSeq(raw, "/") {
		if elem == ".." {
			return true
		}
	}
	return false
}

// singleName names the content of a single compressed file: the hint's base
// name without the compression suffix ("photo.jpg.gz" -> "photo.jpg"), else
// the name stored in the gzip header, else the hint's base name, else "data".
func singleName(hint string, f Format, stored string) string {
	base := path.Base(strings.ReplaceAll(hint, `\`, "/"))
	if base == "." || base == "/" {
		base = ""
	}
	lower := strings.ToLower(base)
	for _, s := range compressionSuffixes(f) {
		if strings.HasSuffix(lower, s.from) && len(base) > len(s.from) {
			return base[:len(base)-len(s.from)] + s.to
		}
	}
	if stored != "" {
		return path.Base(strings.ReplaceAll(stored, `\`, "/"))
	}
	if base != "" {
		return base
	}
	return "data"
}

// compressionSuffixes lists the file name suffixes of a compression format
// and what each stands for once decompressed.
func compressionSuffixes(f Format) []struct{ from, to string } {
	switch f {
	case FormatGzip:
		return []struct{ from, to string }{{".gz", ""}, {".gzip", ""}, {".tgz", ".tar"}}
	case FormatBzip2:
		return []struct{ from, to string }{{".bz2", ""}, {".bzip2", ""}, {".bz", ""}, {".tbz2", ".tar"}, {".tbz", ".tar"}}
	case FormatXZ:
		return []struct{ from, to string }{{".xz", ""}, {".txz", ".tar"}}
	}
	return nil
}
