package crawler

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gocolly/colly/v2"
)

// Errors reported per URL; test with errors.Is.
var (
	ErrTooLarge    = errors.New("response body over size limit")
	ErrOutOfScope  = errors.New("URL out of scope")
	ErrHTTPStatus  = errors.New("unexpected HTTP status")
	ErrPageLimit   = errors.New("page limit reached")
	ErrLinkLimit   = errors.New("link limit reached on page")
	ErrTooManyHops = errors.New("too many redirects")
	ErrBadSeed     = errors.New("invalid seed URL")
	ErrAssetLimit  = errors.New("asset limit reached")
	ErrURLTooLong  = errors.New("URL over length limit")
	// ErrEncodingRatio: a Content-Encoding inflates beyond the ratio bound.
	ErrEncodingRatio = errors.New("content encoding over ratio limit")
	ErrEncoding      = errors.New("unsupported content encoding")
	// ErrStalled and ErrTooSlow end a download that stopped or crawls.
	ErrStalled = errors.New("download stalled")
	ErrTooSlow = errors.New("download below minimum rate")
	// ErrLinkBudget: the run's budget for links kept for incremental
	// recrawl is used up; further pages are fetched in full next time.
	ErrLinkBudget  = errors.New("stored-link budget of the run used up")
	errAbortedByUs = errors.New("handed over to the asset fetcher")
)

// maxAssetsPerRun bounds the assets of one run; maxQueued those of one
// host waiting for a download worker (that host's page crawl waits beyond
// it).
const (
	maxAssetsPerRun = 200_000
	maxQueued       = 4096
)

// Asset is one image or archive found by the crawler.
type Asset struct {
	// URL is the asset's final URL; Page is the page that linked it (empty
	// for a seed that is itself an asset).
	URL, Page string
	// Kind is guessed from the URL; the consumer must sniff Body.
	Kind LinkKind
	// ContentType is the server's claim, untrusted.
	ContentType string
	// Size is the declared Content-Length, or -1.
	Size int64
	// Depth is the link distance from the seed (seed = 1).
	Depth int
	// Limit is the byte limit enforced on Body; reading past it fails with
	// ErrTooLarge.
	Limit int64
	// Body streams the content; it is valid only during the Handler call.
	Body io.Reader
	// NotModified reports a conditional request answered 304: Body is
	// empty and the consumer should reuse what it cached for URL.
	NotModified bool
	// Header is the response's header and FetchedAt when it arrived (for
	// a chain-of-custody record; the header is untrusted).
	Header    http.Header
	FetchedAt time.Time
	// Volumes, for an archive split into several files linked from one
	// page (name.7z.001, name.7z.002, ...), are its volumes in reading
	// order; URL is the first one's and Body reads that one only. Limit
	// and ArchiveTimeout apply to the set as a whole.
	Volumes []Volume
}

// Handler consumes one asset. Its error is reported for that asset and the
// crawl goes on.
type Handler func(ctx context.Context, a Asset) error

// ErrorFunc receives every per-URL failure.
type ErrorFunc func(url string, err error)

// Stats summarises a run.
type Stats struct {
	Pages     int64 `json:"pages"`
	Unchanged int64 `json:"unchanged"`
	Assets    int64 `json:"assets"`
	Errors    int64 `json:"errors"`
}

// Crawler fetches pages and assets within scope and limits.
type Crawler struct {
	opts Options
}

// New returns a crawler; it reports invalid options.
func New(opts Options) (*Crawler, error) {
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("crawler options: %w", err)
	}
	opts.setDefaults()
	return &Crawler{opts: opts}, nil
}

// DirectTransport is the transport used when the caller injects none: no
// proxy from the environment, bounded dial and header timeouts.
func DirectTransport() *http.Transport {
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   30 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}
}

// run holds the state of one Run.
type run struct {
	c      *Crawler
	ctx    context.Context
	scope  map[string]bool
	h      Handler
	onErr  ErrorFunc
	log    *slog.Logger
	client *http.Client

	pages, assets, errs atomic.Int64
	unchanged           atomic.Int64
	pageReqs            atomic.Int64
	// seenAssets holds SHA-256 digests of asset URLs, not the URLs.
	seenAssets sync.Map
	// referrer maps a queued page's URL to the page linking it, until it
	// is answered; values share the linking page's one string.
	referrer     sync.Map
	queuedPages  atomic.Int64
	storedLinks  atomic.Int64
	frontierFull atomic.Bool
	budgetSpent  atomic.Bool
	retries      sync.Map // URL -> *atomic.Int32
	queue        *sched
}

// Run crawls from the seeds and calls h for every asset found. It returns
// when everything in scope has been fetched, a limit stops the crawl, or ctx
// ends. Per-URL errors go to onErr (may be nil) and do not stop the run.
func (c *Crawler) Run(ctx context.Context, seeds []string, h Handler, onErr ErrorFunc) (Stats, error) {
	if onErr == nil {
		onErr = func(string, error) {}
	}
	o := c.opts
	r, seedURLs, tr := c.newRun(ctx, seeds, h, onErr)
	if len(seedURLs) == 0 {
		return Stats{Errors: r.errs.Load()}, fmt.Errorf("%w: no valid seed among %d", ErrBadSeed, len(seeds))
	}
	col := r.collector(tr)

	var wg sync.WaitGroup
	// Each host may use Parallelism of the workers; the rest serve other
	// hosts.
	workers := o.Parallelism * 2
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				a, host, ok := r.queue.pop()
				if !ok {
					return
				}
				r.fetchAsset(a)
				r.queue.done(host, o.Delay)
			}
		}()
	}
	for _, u := range seedURLs {
		k := Classify(u)
		if k != LinkPage {
			r.enqueue(Asset{URL: u.String(), Kind: k, Depth: 1})
			continue
		}
		if err := col.Visit(u.String()); err != nil {
			r.fail(u.String(), err)
			continue
		}
		r.queuedPages.Add(1)
	}
	col.Wait()
	r.queue.close()
	wg.Wait()
	st := Stats{Pages: r.pages.Load(), Assets: r.assets.Load(), Errors: r.errs.Load(), Unchanged: r.unchanged.Load()}
	if err := ctx.Err(); err != nil {
		return st, fmt.Errorf("crawl interrupted: %w", err)
	}
	return st, nil
}

// newRun parses the seeds (a bad one is a counted error), sets the scope
// from them and the allowed hosts, and builds the asset client.
func (c *Crawler) newRun(ctx context.Context, seeds []string, h Handler, onErr ErrorFunc) (*run, []*url.URL, http.RoundTripper) {
	o := c.opts
	r := &run{c: c, ctx: ctx, scope: map[string]bool{}, h: h, onErr: onErr, log: o.Logger, queue: newSched(ctx, maxQueued, o.Parallelism)}
	var seedURLs []*url.URL
	for _, s := range seeds {
		u, err := url.Parse(strings.TrimSpace(s))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			// One bad seed is a counted error; the other seeds are crawled.
			r.fail(s, fmt.Errorf("%w: %q (want http:// or https:// with a host)", ErrBadSeed, s))
			continue
		}
		u.Fragment = ""
		seedURLs = append(seedURLs, u)
		r.scope[hostKey(u)] = true
	}
	for _, h := range o.AllowedHosts {
		h = strings.ToLower(strings.TrimSpace(h))
		r.scope[h] = true
		if !strings.Contains(h, ":") {
			// A bare host name allows it on the default ports.
			r.scope[h+":80"], r.scope[h+":443"] = true, true
		}
	}
	tr := o.Transport
	if tr == nil {
		tr = DirectTransport()
	}
	r.client = &http.Client{Transport: tr, CheckRedirect: r.checkRedirect}
	return r, seedURLs, tr
}

func (r *run) fail(u string, err error) {
	r.errs.Add(1)
	r.log.Debug("crawl error", "url", u, "err", err)
	r.onErr(u, err)
}

func (r *run) inScope(u *url.URL) bool {
	return r.scope[hostKey(u)]
}

// hostKey is the scope key of a URL: host and port, lower case, with the
// scheme's default port made explicit, so two services on one address are
// different sites.
func hostKey(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return strings.ToLower(u.Hostname()) + ":" + port
}

func (r *run) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return ErrTooManyHops
	}
	// The target comes from the dump site's Location header: its query is
	// encoded as a link's is (escapeQuery) before it is requested or
	// recorded.
	req.URL.RawQuery = escapeQuery(req.URL.RawQuery)
	if !r.inScope(req.URL) {
		return fmt.Errorf("%w: redirect to %s", ErrOutOfScope, req.URL.Host)
	}
	// A page link that redirects to an image keeps the page linking it:
	// the asset is named by where it ended up.
	if len(via) > 0 {
		if ref, ok := r.referrer.LoadAndDelete(via[len(via)-1].URL.String()); ok {
			r.referrer.Store(req.URL.String(), ref)
		}
	}
	if f := r.c.opts.CheckRedirect; f != nil {
		return f(req, via)
	}
	return nil
}

// collector builds the colly collector for pages. Fields are set after
// NewCollector because colly applies COLLY_* environment variables there;
// overriding them afterwards keeps the environment from widening scope,
// enabling an on-disk cache of dump content or lifting limits.
func (r *run) collector(tr http.RoundTripper) *colly.Collector {
	o := r.c.opts
	col := colly.NewCollector()
	// colly compares host names without ports; the exact host:port scope
	// is enforced by inScope before anything is visited.
	hosts := make([]string, 0, len(r.scope))
	for h := range r.scope {
		if name, _, err := net.SplitHostPort(h); err == nil {
			hosts = append(hosts, strings.Trim(name, "[]"))
		}
	}
	col.AllowedDomains = hosts
	col.DisallowedDomains = nil
	col.CacheDir = ""
	col.MaxDepth = o.MaxDepth
	col.MaxRequests = 0
	// One byte over our limit lets the limiting transport see the overrun
	// and fail the page instead of colly truncating it silently.
	col.MaxBodySize = int(o.MaxPageBytes) + 1
	col.IgnoreRobotsTxt = true
	col.ParseHTTPErrorResponse = false
	col.DetectCharset = false
	col.AllowURLRevisit = false
	col.Async = true
	col.UserAgent = o.UserAgent
	col.TraceHTTP = false
	colly.StdlibContext(r.ctx)(col)
	col.SetClient(&http.Client{Transport: &pageTransport{inner: tr, limit: o.MaxPageBytes}})
	col.SetRedirectHandler(r.checkRedirect)
	col.SetRequestTimeout(o.RequestTimeout)
	col.DisableCookies()
	// One rule, and so one pool of request slots, per host: colly keeps a
	// pool per rule, and a single rule for "*" made Parallelism and Delay
	// run-wide, so one slow site held every other site's pages. colly
	// matches a rule against the request's URL.Host, which omits a
	// default port.
	for _, h := range slices.Sorted(maps.Keys(r.scope)) {
		name, port, err := net.SplitHostPort(h)
		if err != nil {
			continue
		}
		for _, host := range []string{net.JoinHostPort(name, port), name} {
			if !strings.Contains(name, ":") || host != name { // a bare IPv6 address is never a URL.Host
				_ = col.Limit(&colly.LimitRule{DomainRegexp: "^" + regexp.QuoteMeta(host) + "$", Parallelism: o.Parallelism, Delay: o.Delay, RandomDelay: o.RandomDelay})
			}
		}
	}
	_ = col.Limit(&colly.LimitRule{DomainGlob: "*", Parallelism: o.Parallelism, Delay: o.Delay, RandomDelay: o.RandomDelay})

	col.OnRequest(func(req *colly.Request) {
		if r.ctx.Err() != nil {
			req.Abort()
			return
		}
		if n := r.pageReqs.Add(1); n > int64(o.MaxPages) {
			req.Abort()
			if n == int64(o.MaxPages)+1 {
				r.fail(req.URL.String(), fmt.Errorf("%w (%d)", ErrPageLimit, o.MaxPages))
			}
			return
		}
		req.Headers.Set("Accept", "text/html,application/xhtml+xml,image/*,*/*;q=0.8")
		if o.Revisit != nil {
			if v, ok := o.Revisit.Lookup(req.URL.String()); ok && v.Kind == LinkPage {
				setConditional(*req.Headers, v)
			}
		}
	})
	col.OnResponseHeaders(func(resp *colly.Response) {
		ct := strings.ToLower(resp.Headers.Get("Content-Type"))
		if ct == "" || strings.Contains(ct, "html") {
			return
		}
		// Not a page: stream it through the asset fetcher instead of
		// letting colly buffer it.
		resp.Request.Abort()
		u := resp.Request.URL
		k := Classify(u)
		if k == LinkPage {
			k = LinkImage
			if isArchiveType(ct) {
				k = LinkArchive
			}
		}
		ref, _ := r.referrer.LoadAndDelete(u.String())
		page, _ := ref.(string)
		r.enqueue(Asset{URL: u.String(), Page: page, Kind: k, Depth: resp.Request.Depth})
	})
	col.OnResponse(func(resp *colly.Response) {
		r.pages.Add(1)
		page := resp.Request.URL
		if o.OnPage != nil {
			o.OnPage(page.String())
		}
		pageURL := page.String()
		r.referrer.Delete(pageURL)
		links, dropped := ExtractLinksLimited(page, resp.Body, LinkLimits{Links: o.MaxLinksPerPage, Bytes: o.MaxLinkBytesPerPage, URLBytes: o.MaxURLBytes})
		if dropped.Long > 0 {
			r.fail(pageURL, fmt.Errorf("%w: dropped %d links over %d bytes", ErrURLTooLong, dropped.Long, o.MaxURLBytes))
		}
		if dropped.Truncated {
			r.fail(pageURL, fmt.Errorf("%w: kept the first %d (at most %d links, %d bytes)", ErrLinkLimit, len(links), o.MaxLinksPerPage, o.MaxLinkBytesPerPage))
		}
		if o.Revisit != nil {
			r.remember(pageURL, resp, links)
		}
		r.follow(resp.Request, pageURL, links)
	})
	col.OnError(func(resp *colly.Response, err error) {
		if resp != nil && resp.StatusCode == http.StatusNotModified && o.Revisit != nil {
			// Unchanged page: replay the links stored last time so the
			// pages and assets below it are still (conditionally) visited.
			r.unchanged.Add(1)
			if v, ok := o.Revisit.Lookup(resp.Request.URL.String()); ok {
				var links []Link
				for _, s := range v.Links {
					if u, err := url.Parse(s); err == nil {
						links = append(links, Link{URL: s, Kind: Classify(u)})
					}
				}
				r.follow(resp.Request, resp.Request.URL.String(), links)
			}
			return
		}
		if errors.Is(err, colly.ErrAbortedAfterHeaders) || errors.Is(err, colly.ErrAbortedBeforeRequest) || errors.Is(err, errAbortedByUs) {
			return
		}
		if resp != nil && resp.Request != nil && r.retry(resp.Request.URL, err) {
			if rerr := resp.Request.Retry(); rerr == nil {
				return
			}
		}
		var av *colly.AlreadyVisitedError
		if errors.As(err, &av) {
			// colly refuses a redirect back to a URL it has seen: a loop.
			err = fmt.Errorf("%w: %v", ErrTooManyHops, err)
		}
		u := ""
		if resp != nil && resp.Request != nil {
			u = resp.Request.URL.String()
			r.referrer.Delete(u)
			if resp.StatusCode >= 400 {
				err = fmt.Errorf("%w %d", ErrHTTPStatus, resp.StatusCode)
			}
		}
		r.fail(u, err)
	})
	return col
}

// retry reports whether a failed fetch of u should be tried again, and if
// so renews the route to its host and waits a little (2 s, 4 s, ...).
func (r *run) retry(u *url.URL, err error) bool {
	o := r.c.opts
	if o.Retryable == nil || r.ctx.Err() != nil || !o.Retryable(err) {
		return false
	}
	v, _ := r.retries.LoadOrStore(u.String(), new(atomic.Int32))
	n := v.(*atomic.Int32).Add(1)
	if int(n) > o.MaxRetries {
		return false
	}
	r.log.Info("retrying", "url", u.String(), "attempt", n+1, "err", err)
	if o.Renew != nil {
		o.Renew(u.Host)
	}
	t := time.NewTimer(time.Duration(1<<n) * time.Second)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.ctx.Done():
		return false
	}
}

// remember hands a page's links to Revisit while the run's budget for
// stored links lasts; a page left out is simply fetched in full next time.
func (r *run) remember(pageURL string, resp *colly.Response, links []Link) {
	o := r.c.opts
	var n int64
	urls := make([]string, 0, len(links))
	for _, l := range links {
		if isDataImage(l.URL) {
			continue // kept in the page, not in the store
		}
		urls = append(urls, l.URL)
		n += int64(len(l.URL))
	}
	if r.storedLinks.Add(n) > o.MaxStoredLinkBytes {
		r.storedLinks.Add(-n)
		if r.budgetSpent.CompareAndSwap(false, true) {
			r.fail(pageURL, fmt.Errorf("%w (%d bytes): this and later pages are not remembered", ErrLinkBudget, o.MaxStoredLinkBytes))
		}
		return
	}
	o.Revisit.Remember(pageURL, validators(LinkPage, *resp.Headers, urls))
}

// follow visits in-scope pages and queues assets found on a page. At most
// MaxPages pages are ever queued, which bounds the frontier (colly holds a
// goroutine and a request per queued page) and the referrer bookkeeping.
func (r *run) follow(req *colly.Request, pageURL string, links []Link) {
	o := r.c.opts
	links = r.inlineImages(req, links)
	sets, links, problems := groupSplit(links, o.MaxSplitVolumes)
	for u, err := range problems {
		r.fail(u, err)
	}
	for _, urls := range sets {
		if u, err := url.Parse(urls[0]); err != nil || !r.inScope(u) {
			continue
		}
		vols := make([]Volume, len(urls))
		for i, u := range urls {
			vols[i] = Volume{URL: u}
		}
		r.enqueue(Asset{URL: urls[0], Page: pageURL, Kind: LinkArchive, Depth: req.Depth + 1, Volumes: vols})
	}
	for _, l := range links {
		u, err := url.Parse(l.URL)
		if err != nil || !r.inScope(u) {
			r.log.Debug("out of scope", "url", l.URL, "page", pageURL)
			continue
		}
		switch l.Kind {
		case LinkPage:
			if req.Depth >= o.MaxDepth {
				continue
			}
			if r.queuedPages.Load() >= int64(o.MaxPages) {
				if r.frontierFull.CompareAndSwap(false, true) {
					r.fail(l.URL, fmt.Errorf("%w (%d): no more pages queued", ErrPageLimit, o.MaxPages))
				}
				continue
			}
			_, had := r.referrer.LoadOrStore(l.URL, pageURL)
			err := req.Visit(l.URL)
			if err == nil {
				r.queuedPages.Add(1)
				continue
			}
			if !had {
				r.referrer.Delete(l.URL)
			}
			if !benignVisitError(err) {
				r.fail(l.URL, err)
			}
		default:
			r.enqueue(Asset{URL: l.URL, Page: pageURL, Kind: l.Kind, Depth: req.Depth + 1})
		}
	}
}

func setConditional(h http.Header, v Validators) {
	if v.ETag != "" {
		h.Set("If-None-Match", v.ETag)
	}
	if v.LastModified != "" {
		h.Set("If-Modified-Since", v.LastModified)
	}
}

func benignVisitError(err error) bool {
	var av *colly.AlreadyVisitedError
	return errors.As(err, &av) || errors.Is(err, colly.ErrMaxDepth) || errors.Is(err, colly.ErrForbiddenDomain)
}

func isArchiveType(ct string) bool {
	for _, s := range []string{"zip", "tar", "gzip", "x-bzip", "x-xz", "7z", "rar", "octet-stream"} {
		if strings.Contains(ct, s) {
			return true
		}
	}
	return false
}

func (r *run) enqueue(a Asset) {
	if _, dup := r.seenAssets.LoadOrStore(sha256.Sum256([]byte(a.URL)), true); dup {
		return
	}
	for _, v := range a.Volumes {
		r.seenAssets.Store(sha256.Sum256([]byte(v.URL)), true)
	}
	if r.assets.Add(1) > maxAssetsPerRun {
		r.assets.Add(-1)
		r.fail(a.URL, ErrAssetLimit)
		return
	}
	host := a.URL
	if u, err := url.Parse(a.URL); err == nil {
		host = u.Host
	}
	r.queue.push(a, host)
}

func (r *run) fetchAsset(a Asset) {
	if r.ctx.Err() != nil {
		return
	}
	if len(a.Volumes) > 1 {
		r.fetchSplit(a)
		return
	}
	o := r.c.opts
	timeout := o.RequestTimeout
	if a.Kind == LinkArchive {
		timeout = o.ArchiveTimeout
	}
	u, err := url.Parse(a.URL)
	if err != nil {
		r.fail(a.URL, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.ctx, timeout)
	defer cancel()
	ctx, cancelCause := context.WithCancelCause(ctx)
	defer cancelCause(nil)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.URL, nil)
	if err != nil {
		r.fail(a.URL, err)
		return
	}
	req.Header.Set("User-Agent", o.UserAgent)
	// Asked for explicitly, gzip is left to us to decode, metered
	// (decodeBody); the transport would inflate it without a bound.
	req.Header.Set("Accept-Encoding", "gzip")
	if a.Page != "" {
		req.Header.Set("Referer", a.Page)
	}
	if o.Revisit != nil {
		if v, ok := o.Revisit.Lookup(a.URL); ok && v.Kind != LinkPage {
			setConditional(req.Header, v)
		}
	}
	resp, err := r.client.Do(req)
	for err != nil && r.retry(u, err) {
		req = req.Clone(ctx)
		resp, err = r.client.Do(req)
	}
	if err != nil {
		r.fail(a.URL, err)
		return
	}
	r.consume(ctx, cancelCause, a, resp)
}

// consume hands an asset's response to the handler, with its limits;
// cancelCause ends a stalled or too slow archive download.
func (r *run) consume(ctx context.Context, cancelCause context.CancelCauseFunc, a Asset, resp *http.Response) {
	o := r.c.opts
	var err error
	limit := o.MaxImageBytes
	if a.Kind == LinkArchive {
		limit = o.MaxArchiveBytes
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotModified && o.Revisit != nil {
		r.unchanged.Add(1)
		a.NotModified, a.Body, a.Size = true, http.NoBody, 0
		if err := r.h(ctx, a); err != nil {
			r.fail(a.URL, err)
		}
		return
	}
	if resp.StatusCode != http.StatusOK {
		r.fail(a.URL, fmt.Errorf("%w %d", ErrHTTPStatus, resp.StatusCode))
		return
	}
	if resp.ContentLength > limit {
		r.fail(a.URL, fmt.Errorf("%w: Content-Length %d, limit %d", ErrTooLarge, resp.ContentLength, limit))
		return
	}
	a.URL = resp.Request.URL.String()
	a.Header, a.FetchedAt = resp.Header.Clone(), time.Now()
	a.ContentType = resp.Header.Get("Content-Type")
	a.Size = resp.ContentLength
	a.Limit = limit
	var body io.Reader = resp.Body
	if a.Kind == LinkArchive {
		// Archives are large: resume a dropped transfer, report progress.
		rb := newResumingBody(ctx, r.client, a.URL, o.UserAgent, resp, func(read, total int64) {
			r.log.Info("download progress", "url", a.URL, "bytes", read, "total", total)
			if o.Progress != nil {
				o.Progress(a.URL, read, total)
			}
		})
		defer rb.Close()
		if o.Download != nil {
			rb.tick = o.Download(a.URL, resp.ContentLength)
			defer func() { rb.tick(rb.read, true) }()
		}
		wd := watch(ctx, cancelCause, rb, o.ReadIdleTimeout, o.MinArchiveRate, o.RateWindow)
		defer wd.Close()
		body = wd
	}
	if body, err = decodeBody(body, resp.Header.Get("Content-Encoding"), o.MaxDecodeRatio); err != nil {
		r.fail(a.URL, err)
		return
	}
	a.Body = &limitedReader{r: body, n: limit}
	if err := r.h(ctx, a); err != nil {
		r.fail(a.URL, err)
		return
	}
	if o.Revisit != nil {
		o.Revisit.Remember(a.URL, validators(a.Kind, resp.Header, nil))
	}
}

// limitedReader fails with ErrTooLarge once more than n bytes are read,
// rather than ending quietly like io.LimitReader.
type limitedReader struct {
	r io.Reader
	n int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n < 0 {
		return 0, ErrTooLarge
	}
	if int64(len(p)) > l.n+1 {
		p = p[:l.n+1]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	if l.n < 0 {
		return n - int(-l.n), fmt.Errorf("%w", ErrTooLarge)
	}
	return n, err
}

// pageTransport enforces the page size limit on colly's requests and
// marks bodies as already decoded so colly never inflates a gzip body
// without a bound.
type pageTransport struct {
	inner http.RoundTripper
	limit int64
}

func (t *pageTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.inner.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resp.Uncompressed = true
	var body io.Reader = resp.Body
	if resp.StatusCode == http.StatusOK && claimsPage(resp.Header.Get("Content-Type")) {
		// Dump sites serve images and archives as text/html or with no
		// type at all; the bytes decide. What is not text is handed to
		// the asset fetcher (OnResponseHeaders) under the sniffed type.
		br := bufio.NewReaderSize(resp.Body, sniffLen)
		head, _ := br.Peek(sniffLen)
		if t := http.DetectContentType(head); len(head) > 0 && !strings.HasPrefix(t, "text/") {
			resp.Header.Set("Content-Type", t)
		}
		body = br
	}
	// The page limit is for pages: a large archive or image behind a
	// page-like link (download.php?id=7) goes to the asset fetcher and its
	// own limits, whatever size it declares. colly reads no more of it
	// than the limit either way (limitedBody).
	if resp.ContentLength > t.limit && (resp.StatusCode != http.StatusOK || claimsPage(resp.Header.Get("Content-Type"))) {
		resp.Body.Close()
		return nil, fmt.Errorf("%w: page Content-Length %d, limit %d", ErrTooLarge, resp.ContentLength, t.limit)
	}
	resp.Body = &limitedBody{limitedReader{r: body, n: t.limit}, resp.Body}
	return resp, nil
}

// sniffLen is how many bytes http.DetectContentType looks at.
const sniffLen = 512

// claimsPage reports Content-Types under which a response is parsed as a
// page: HTML, and none at all.
func claimsPage(ct string) bool {
	ct = strings.ToLower(ct)
	return ct == "" || strings.Contains(ct, "html")
}

type limitedBody struct {
	limitedReader
	c io.Closer
}

func (b *limitedBody) Close() error { return b.c.Close() }

// maxETag bounds a remembered ETag; real ones are a hash or a version.
const maxETag = 256

// validators are what a response offers for a conditional request next
// time, as far as they can be trusted to be one: a site's header is
// stored and sent back on every later run, so an ETag over maxETag or a
// Last-Modified that is not an HTTP date is dropped.
func validators(k LinkKind, h http.Header, links []string) Validators {
	v := Validators{Kind: k, Links: links}
	if e := h.Get("ETag"); len(e) <= maxETag {
		v.ETag = e
	}
	if lm := h.Get("Last-Modified"); lm != "" {
		if _, err := http.ParseTime(lm); err == nil && len(lm) <= 64 {
			v.LastModified = lm
		}
	}
	return v
}
