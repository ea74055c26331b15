package crawler

import (
	"bytes"
	"net/url"
	"path"
	"strconv"
	"strings"

	"golang.org/x/net/html"
)

// LinkKind says what a discovered URL probably points at.
type LinkKind int

// Link kinds.
const (
	LinkPage LinkKind = iota
	LinkImage
	LinkArchive
)

func (k LinkKind) String() string {
	switch k {
	case LinkImage:
		return "image"
	case LinkArchive:
		return "archive"
	}
	return "page"
}

// Link is one URL found in a page.
type Link struct {
	URL  string
	Kind LinkKind
}

var imageExt = map[string]bool{".jpg": true, ".jpeg": true, ".jpe": true, ".png": true, ".gif": true, ".webp": true, ".bmp": true, ".tif": true, ".tiff": true}

var archiveExt = []string{".zip", ".tar", ".tgz", ".tar.gz", ".gz", ".tbz2", ".tar.bz2", ".bz2", ".txz", ".tar.xz", ".xz", ".7z", ".rar"}

// Classify guesses the kind of a URL from its path. The guess only decides
// how the URL is fetched; content is always sniffed afterwards.
func Classify(u *url.URL) LinkKind {
	p := strings.ToLower(u.Path)
	if imageExt[path.Ext(p)] {
		return LinkImage
	}
	for _, e := range archiveExt {
		if strings.HasSuffix(p, e) {
			return LinkArchive
		}
	}
	if isVolumeName(u) {
		return LinkArchive
	}
	return LinkPage
}

// ExtractLinks parses an HTML document and returns the absolute http(s)
// URLs it references: <a href>, <img src|srcset>, <source srcset>,
// <link rel=image_src>, og:image/twitter:image meta tags, and url(...) in
// style attributes; and, as LinkImage links kept whole, the data:image/
// URIs of inline images in the same places (srcset included: its URLs
// run to whitespace, so a data: URI's commas stay inside it). At most max links are returned (0 = no limit); the
// second result reports whether links were dropped. Malformed HTML never
// fails: the tokenizer recovers and we take what it yields.
func ExtractLinks(base *url.URL, body []byte, max int) ([]Link, bool) {
	links, d := ExtractLinksLimited(base, body, LinkLimits{Links: max, URLBytes: 8192})
	return links, d.Truncated
}

// LinkLimits bound what ExtractLinksLimited keeps from one page; zero
// fields do not limit.
type LinkLimits struct {
	// Links and Bytes bound the number of links and the sum of their
	// lengths.
	Links int
	Bytes int64
	// URLBytes bounds one resolved URL: a short relative link on a page
	// with a long path resolves to a long URL.
	URLBytes int
}

// Dropped says what ExtractLinksLimited left out.
type Dropped struct {
	// Truncated: the link count or byte bound was reached and the rest of
	// the page was not read.
	Truncated bool
	// Long counts URLs over the length bound.
	Long int
}

// ExtractLinksLimited is ExtractLinks under lim.
func ExtractLinksLimited(base *url.URL, body []byte, lim LinkLimits) ([]Link, Dropped) {
	z := html.NewTokenizer(bytes.NewReader(body))
	seen := make(map[string]bool)
	var out []Link
	var d Dropped
	var kept int64
	add := func(raw string, hint LinkKind) {
		if d.Truncated {
			return
		}
		raw = strings.TrimSpace(raw)
		if raw == "" || strings.HasPrefix(raw, "#") {
			return
		}
		if isDataImage(raw) {
			// Kept whole however long: the page's size bounds it, and
			// an inline photo is tens of KB.
			if seen[raw] {
				return
			}
			if lim.Links > 0 && len(out) >= lim.Links {
				d.Truncated = true
				return
			}
			seen[raw] = true
			out = append(out, Link{URL: raw, Kind: LinkImage})
			return
		}
		if lim.URLBytes > 0 && len(raw) > lim.URLBytes {
			d.Long++
			return
		}
		u, err := base.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return
		}
		u.Fragment = ""
		u.RawQuery = escapeQuery(u.RawQuery)
		s := u.String()
		if lim.URLBytes > 0 && len(s) > lim.URLBytes {
			d.Long++
			return
		}
		if seen[s] {
			return
		}
		if (lim.Links > 0 && len(out) >= lim.Links) || (lim.Bytes > 0 && kept+int64(len(s)) > lim.Bytes) {
			d.Truncated = true
			return
		}
		seen[s] = true
		kept += int64(len(s))
		k := Classify(u)
		if k == LinkPage && hint == LinkImage {
			k = LinkImage
		}
		out = append(out, Link{URL: s, Kind: k})
	}
	for {
		tt := z.Next()
		if tt == html.ErrorToken || d.Truncated {
			// EOF or a tokenizer error: links found so far are kept.
			return out, d
		}
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
			continue
		}
		name, hasAttr := z.TagName()
		if !hasAttr {
			continue
		}
		attrs := map[string]string{}
		for {
			k, v, more := z.TagAttr()
			if _, dup := attrs[string(k)]; !dup {
				attrs[string(k)] = string(v)
			}
			if !more {
				break
			}
		}
		switch string(name) {
		case "a", "area":
			add(attrs["href"], LinkPage)
		case "img":
			add(attrs["src"], LinkImage)
			add(attrs["data-src"], LinkImage)
			for _, s := range parseSrcset(attrs["srcset"]) {
				add(s, LinkImage)
			}
		case "source":
			add(attrs["src"], LinkImage)
			for _, s := range parseSrcset(attrs["srcset"]) {
				add(s, LinkImage)
			}
		case "meta":
			switch strings.ToLower(attrs["property"] + attrs["name"]) {
			case "og:image", "og:image:url", "og:image:secure_url", "twitter:image":
				add(attrs["content"], LinkImage)
			}
		case "link":
			if strings.EqualFold(attrs["rel"], "image_src") {
				add(attrs["href"], LinkImage)
			}
		}
		if st, ok := attrs["style"]; ok {
			for _, s := range cssURLs(st) {
				add(s, LinkImage)
			}
		}
	}
}

// parseSrcset returns the URLs of a srcset attribute, split as the HTML
// standard's algorithm does: a URL runs to the next whitespace (so it may
// hold commas), a comma right after it ends the candidate, and otherwise
// descriptors ("1x", "480w", even with parentheses) run to the next comma
// outside parentheses. A candidate that is only a descriptor (after a
// stray comma) is dropped rather than fetched as a relative URL.
func parseSrcset(s string) []string {
	var out []string
	isSpace := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }
	i := 0
	for i < len(s) {
		for i < len(s) && (isSpace(s[i]) || s[i] == ',') {
			i++
		}
		start := i
		for i < len(s) && !isSpace(s[i]) {
			i++
		}
		u := s[start:i]
		if u == "" {
			break
		}
		if strings.HasSuffix(u, ",") {
			u = strings.TrimRight(u, ",")
		} else {
			// Skip the descriptors up to a comma outside parentheses.
			depth := 0
			for ; i < len(s); i++ {
				c := s[i]
				if c == '(' {
					depth++
				} else if c == ')' && depth > 0 {
					depth--
				} else if c == ',' && depth == 0 {
					break
				}
			}
		}
		if u != "" && !descriptorLike(u) {
			out = append(out, u)
		}
	}
	return out
}

// descriptorLike reports a srcset descriptor: a number followed by x, w
// or h.
func descriptorLike(s string) bool {
	if len(s) < 2 || !strings.ContainsRune("xwhXWH", rune(s[len(s)-1])) {
		return false
	}
	_, err := strconv.ParseFloat(s[:len(s)-1], 64)
	return err == nil
}

// cssURLs returns the arguments of url(...) in a CSS fragment. The match
// is ASCII case-insensitive on the original bytes: lower-casing the whole
// string first would shift offsets for some non-ASCII letters.
func cssURLs(s string) []string {
	var out []string
	for len(out) < 64 {
		i := indexFoldASCII(s, "url(")
		if i < 0 {
			break
		}
		s = s[i+4:]
		j := strings.IndexByte(s, ')')
		if j < 0 {
			break
		}
		out = append(out, strings.Trim(strings.TrimSpace(s[:j]), `"'`))
		s = s[j+1:]
	}
	return out
}

// indexFoldASCII is strings.Index ignoring ASCII case; sub is lower case.
func indexFoldASCII(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		k := 0
		for ; k < len(sub); k++ {
			c := s[i+k]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != sub[k] {
				break
			}
		}
		if k == len(sub) {
			return i
		}
	}
	return -1
}
