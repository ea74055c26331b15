package crawler

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Snapshot is one response kept whole: a page fetched again as evidence.
type Snapshot struct {
	URL       string
	Status    int
	Header    http.Header
	Body      []byte
	FetchedAt time.Time
}

// FetchPage fetches a page the crawl found once more, unconditionally,
// through the same transport (Tor included) and within the page size and
// request time limits, for a consumer that keeps it as evidence: the
// crawl itself drops page bodies once their links are read. Redirects are
// not followed: the snapshot is what that address answered.
func (c *Crawler) FetchPage(ctx context.Context, rawURL string) (Snapshot, error) {
	o := c.opts
	tr := o.Transport
	if tr == nil {
		tr = DirectTransport()
	}
	client := &http.Client{Transport: &pageTransport{inner: tr, limit: o.MaxPageBytes},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	ctx, cancel := context.WithTimeout(ctx, o.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return Snapshot{}, err
	}
	req.Header.Set("User-Agent", o.UserAgent)
	req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	resp, err := client.Do(req)
	if err != nil {
		return Snapshot{}, err
	}
	defer resp.Body.Close()
	s := Snapshot{URL: rawURL, Status: resp.StatusCode, Header: resp.Header.Clone(), FetchedAt: time.Now()}
	if s.Body, err = io.ReadAll(resp.Body); err != nil {
		return Snapshot{}, fmt.Errorf("fetch page %s: %w", rawURL, err)
	}
	return s, nil
}
