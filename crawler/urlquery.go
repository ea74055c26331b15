package crawler

import "strings"

// escapeQuery percent-encodes the bytes of a raw query that Go's
// url.URL.String leaves as written: bytes outside printable ASCII (UTF-8
// included), spaces and the characters WHATWG encodes in a query. A dump
// site's link must not carry bidi overrides, C1 controls or free text
// through the URL into the reports and alerts that show it. Servers
// decode the query the same either way; browsers send it so.
func escapeQuery(q string) string {
	i := strings.IndexFunc(q, func(r rune) bool { return r > 0x7e || needsEscape(byte(r)) })
	if i < 0 {
		return q
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(q) + 16)
	b.WriteString(q[:i])
	for j := i; j < len(q); j++ {
		c := q[j]
		if c > 0x7e || needsEscape(c) {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func needsEscape(c byte) bool {
	return c <= ' ' || strings.IndexByte("\"<>\\^`{|}", c) >= 0
}
