package safetext

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Display returns s for display within maxBytes (0: no cap): invalid UTF-8
// becomes U+FFFD; C0 and C1 controls (terminal escapes, line breaks),
// bidi controls ("Trojan Source" reordering), line and paragraph
// separators and zero-width characters are dropped; an ellipsis marks a
// cut.
func Display(s string, maxBytes int) string {
	if clean(s) && (maxBytes <= 0 || len(s) <= maxBytes) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		if Hidden(r) {
			continue
		}
		if maxBytes > 0 && b.Len()+utf8.RuneLen(r) > maxBytes {
			b.WriteString("…")
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}

// clean reports whether s is valid UTF-8 with nothing Display drops.
func clean(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return utf8.ValidString(s) && strings.IndexFunc(s, Hidden) < 0
		}
	}
	return true
}

// Hidden reports the characters Display drops: they act on a terminal,
// reorder or break what is shown, or show nothing.
func Hidden(r rune) bool {
	switch {
	case unicode.IsControl(r):
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f: // bidi marks
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069: // bidi embeddings, overrides, isolates
		return true
	case r == 0x2028, r == 0x2029: // line and paragraph separators
		return true
	case r >= 0x200b && r <= 0x200d, r == 0x2060, r == 0xfeff: // zero-width
		return true
	}
	return false
}
