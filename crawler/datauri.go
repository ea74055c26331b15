package crawler

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/gocolly/colly/v2"
)

// errDataURI means a data: URI does not parse.
var errDataURI = errors.New("malformed data: URI")

// isDataImage reports a data: URI that claims to hold an image.
func isDataImage(raw string) bool {
	return len(raw) > len("data:image/") && strings.EqualFold(raw[:len("data:image/")], "data:image/")
}

// parseDataURI decodes an RFC 2397 data: URI (data:[type][;base64],data)
// and returns its media type, lower case, and its bytes, which are never
// longer than the URI.
func parseDataURI(raw string) (string, []byte, error) {
	if len(raw) < 5 || !strings.EqualFold(raw[:5], "data:") {
		return "", nil, fmt.Errorf("%w: no data: scheme", errDataURI)
	}
	meta, payload, ok := strings.Cut(raw[5:], ",")
	if !ok {
		return "", nil, fmt.Errorf("%w: no comma", errDataURI)
	}
	meta = strings.ToLower(meta)
	meta, b64 := strings.CutSuffix(meta, ";base64")
	mediaType, _, _ := strings.Cut(meta, ";")
	mediaType = strings.TrimSpace(mediaType)
	if strings.Contains(payload, "%") {
		u, err := url.PathUnescape(payload)
		if err != nil {
			return mediaType, nil, fmt.Errorf("%w: %v", errDataURI, err)
		}
		payload = u
	}
	if !b64 {
		return mediaType, []byte(payload), nil
	}
	// Pages wrap long base64 lines; padding is often left out.
	clean := strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' {
			return -1
		}
		return r
	}, payload)
	clean = strings.TrimRight(clean, "=")
	data := make([]byte, base64.RawStdEncoding.DecodedLen(len(clean)))
	n, err := base64.RawStdEncoding.Decode(data, []byte(clean))
	if err != nil {
		// URL-safe alphabet, as some generators write.
		if n, err = base64.RawURLEncoding.Decode(data, []byte(clean)); err != nil {
			return mediaType, nil, fmt.Errorf("%w: %v", errDataURI, err)
		}
	}
	return mediaType, bytes.Clone(data[:n]), nil
}

// inlineImages hands the data:image/ links of a page to the handler, in
// the page's goroutine (their bytes are already in memory, bounded by the
// page size), and returns the other links. Each is named after the page:
// PAGE#inline-image-N, counting from 1 in page order.
func (r *run) inlineImages(req *colly.Request, links []Link) []Link {
	o := r.c.opts
	page := req.URL.String()
	rest := links[:0:0]
	n := 0
	for _, l := range links {
		if !isDataImage(l.URL) {
			rest = append(rest, l)
			continue
		}
		n++
		name := fmt.Sprintf("%s#inline-image-%d", page, n)
		if _, dup := r.seenAssets.LoadOrStore(sha256.Sum256([]byte(name)), true); dup {
			continue
		}
		_, data, err := parseDataURI(l.URL)
		switch {
		case err != nil:
			r.fail(name, err)
			continue
		case int64(len(data)) > o.MaxImageBytes:
			r.fail(name, fmt.Errorf("%w: inline image of %d bytes, limit %d", ErrTooLarge, len(data), o.MaxImageBytes))
			continue
		}
		// Inline images count against the run's assets like linked ones:
		// a page of thousands of tiny data: URIs must not use up the run.
		if r.assets.Add(1) > maxAssetsPerRun {
			r.assets.Add(-1)
			r.fail(name, ErrAssetLimit)
			continue
		}
		a := Asset{URL: name, Page: page, Kind: LinkImage, Size: int64(len(data)), Depth: req.Depth + 1, Limit: o.MaxImageBytes, Body: bytes.NewReader(data)}
		if err := r.h(r.ctx, a); err != nil {
			r.fail(name, err)
		}
	}
	return rest
}
