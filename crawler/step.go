package crawler

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Task is one item of a frontier kept outside the crawler (a database
// shared by several workers): a page to fetch and parse, or an image or
// archive to fetch.
type Task struct {
	URL string
	// Page is the page that linked the task (empty for a seed).
	Page  string
	Kind  LinkKind
	Depth int
}

// Step does one task outside of Run, for workers that share a frontier: a
// page is fetched (conditionally, with Revisit) and the in-scope tasks it
// links to are returned (pages while Depth < MaxDepth, and assets); an
// image or archive is fetched and streamed to h with the same limits as in
// Run. The seeds give the scope, as in Run. Page limits and deduplication
// are the frontier's job; per-host parallelism and delay are the caller's,
// since they must hold across workers. The error is the task's failure.
func (c *Crawler) Step(ctx context.Context, seeds []string, t Task, h Handler) ([]Task, error) {
	var first error
	r, _, tr := c.newRun(ctx, seeds, h, func(_ string, err error) {
		if first == nil {
			first = err
		}
	})
	first = nil // a bad seed was reported when the run was created
	u, err := url.Parse(t.URL)
	if err != nil {
		return nil, err
	}
	if !r.inScope(u) {
		return nil, fmt.Errorf("%w: %s", ErrOutOfScope, u.Host)
	}
	if t.Kind != LinkPage {
		r.fetchAsset(Asset{URL: t.URL, Page: t.Page, Kind: t.Kind, Depth: t.Depth})
		return nil, first
	}
	next, err := r.page(t, u, tr)
	if err == nil {
		err = first
	}
	return next, err
}

// page fetches one page for Step.
func (r *run) page(t Task, u *url.URL, tr http.RoundTripper) ([]Task, error) {
	o := r.c.opts
	ctx, cancel := context.WithTimeout(r.ctx, o.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.URL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", o.UserAgent)
	req.Header.Set("Accept", "text/html,application/xhtml+xml,image/*,*/*;q=0.8")
	if t.Page != "" {
		req.Header.Set("Referer", t.Page)
	}
	var known Validators
	if o.Revisit != nil {
		if v, ok := o.Revisit.Lookup(t.URL); ok && v.Kind == LinkPage {
			known = v
			setConditional(req.Header, v)
		}
	}
	client := &http.Client{Transport: &pageTransport{inner: tr, limit: o.MaxPageBytes}, CheckRedirect: r.checkRedirect}
	resp, err := client.Do(req)
	for err != nil && r.retry(u, err) {
		req = req.Clone(ctx)
		resp, err = client.Do(req)
	}
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusNotModified && o.Revisit != nil {
		resp.Body.Close()
		r.unchanged.Add(1)
		// Unchanged: replay the links stored last time.
		var links []Link
		for _, s := range known.Links {
			if lu, err := url.Parse(s); err == nil {
				links = append(links, Link{URL: s, Kind: Classify(lu)})
			}
		}
		return r.next(t, u, links), nil
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("%w %d", ErrHTTPStatus, resp.StatusCode)
	}
	final := resp.Request.URL
	if ct := strings.ToLower(resp.Header.Get("Content-Type")); ct != "" && !strings.Contains(ct, "html") {
		// Not a page after all: stream it as an asset, without a second
		// request.
		k := Classify(final)
		if k == LinkPage {
			k = LinkImage
			if isArchiveType(ct) {
				k = LinkArchive
			}
		}
		var failed error
		r.onErr = func(_ string, err error) { failed = err }
		actx, cancelCause := context.WithCancelCause(ctx)
		defer cancelCause(nil)
		r.consume(actx, cancelCause, Asset{URL: final.String(), Page: t.Page, Kind: k, Depth: t.Depth}, resp)
		return nil, failed
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	r.pages.Add(1)
	if o.OnPage != nil {
		o.OnPage(final.String())
	}
	// The same per-page bounds as Run; the run-wide budget of stored
	// links is per process, so here it bounds one page.
	links, dropped := ExtractLinksLimited(final, body, LinkLimits{Links: o.MaxLinksPerPage, Bytes: o.MaxLinkBytesPerPage, URLBytes: o.MaxURLBytes})
	if dropped.Long > 0 {
		r.fail(final.String(), fmt.Errorf("%w: dropped %d links over %d bytes", ErrURLTooLong, dropped.Long, o.MaxURLBytes))
	}
	if dropped.Truncated {
		r.fail(final.String(), fmt.Errorf("%w: kept the first %d (at most %d links, %d bytes)", ErrLinkLimit, len(links), o.MaxLinksPerPage, o.MaxLinkBytesPerPage))
	}
	if o.Revisit != nil {
		urls := make([]string, len(links))
		for i, l := range links {
			urls[i] = l.URL
		}
		o.Revisit.Remember(final.String(), validators(LinkPage, resp.Header, urls))
	}
	return r.next(t, final, links), nil
}

// next turns a page's links into the tasks in scope, as follow does in Run.
func (r *run) next(t Task, page *url.URL, links []Link) []Task {
	var out []Task
	for _, l := range links {
		u, err := url.Parse(l.URL)
		if err != nil || !r.inScope(u) {
			continue
		}
		u.Fragment = ""
		if l.Kind == LinkPage && t.Depth >= r.c.opts.MaxDepth {
			continue
		}
		out = append(out, Task{URL: u.String(), Page: page.String(), Kind: l.Kind, Depth: t.Depth + 1})
	}
	return out
}
