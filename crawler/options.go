package crawler

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// Options configure a Crawler. Zero values take the defaults documented on
// each field; Validate reports nonsensical combinations.
type Options struct {
	// Transport carries every request. Nil means a direct, hardened
	// transport; in Tor mode the caller passes the Tor transport.
	Transport http.RoundTripper
	// CheckRedirect vets each redirect (e.g. refuses leaving Tor). It runs
	// after the crawler's own scope check.
	CheckRedirect func(req *http.Request, via []*http.Request) error

	// MaxDepth is how many links away from a seed pages are followed
	// (default 3; the seed is depth 1).
	MaxDepth int
	// MaxPages caps the pages fetched per run (default 1000).
	MaxPages int
	// MaxLinksPerPage caps links taken from one page (default 10000).
	MaxLinksPerPage int
	// MaxURLBytes bounds a discovered URL after resolution (default
	// 2048); longer links are dropped.
	MaxURLBytes int
	// MaxLinkBytesPerPage bounds the bytes of the links taken from one
	// page (default 1 MiB), which is also what the page costs the store.
	MaxLinkBytesPerPage int64
	// MaxStoredLinkBytes bounds the links one run hands to Revisit
	// (default 32 MiB); pages beyond it are not remembered and so are
	// fetched in full next time.
	MaxStoredLinkBytes int64
	// AllowedHosts extends the scope beyond the seeds' own hosts.
	AllowedHosts []string

	// MaxPageBytes bounds an HTML page (default 8 MiB). A larger page is an
	// error, never silently truncated.
	MaxPageBytes int64
	// MaxImageBytes bounds an image download (default 64 MiB).
	MaxImageBytes int64
	// MaxArchiveBytes bounds an archive download (default 4 GiB).
	MaxArchiveBytes int64
	// RequestTimeout bounds one page or image request, body included
	// (default 60 s), so slow and endless responses end.
	RequestTimeout time.Duration
	// ArchiveTimeout bounds one archive download (default 2 h).
	ArchiveTimeout time.Duration
	// ReadIdleTimeout abandons an archive download that receives nothing
	// for this long (default 60 s); MinArchiveRate one that receives fewer
	// than this many bytes per second over a RateWindow (default 1 KiB/s
	// over 60 s).
	ReadIdleTimeout time.Duration
	MinArchiveRate  int64
	RateWindow      time.Duration
	// MaxDecodeRatio bounds how far a Content-Encoding may inflate a
	// response, checked after the first MiB (default 200).
	MaxDecodeRatio int
	// MaxSplitVolumes caps the volumes of one split archive (default
	// 1000); a larger set is reported and not fetched.
	MaxSplitVolumes int

	// Parallelism is the number of concurrent requests per host (default 2).
	Parallelism int
	// Delay and RandomDelay space requests to the same host.
	Delay, RandomDelay time.Duration
	// UserAgent is sent with every request.
	UserAgent string

	// Revisit, if set, makes the crawl incremental: URLs fetched before are
	// requested conditionally (If-None-Match / If-Modified-Since) and a 304
	// costs only that request.
	Revisit Revisit

	// Retryable, if set, says which fetch errors are worth retrying (in Tor
	// mode: a circuit that failed, an onion that timed out). Renew is called
	// before each retry to get a fresh route to the host (a new circuit).
	// MaxRetries bounds retries per URL (default 2).
	Retryable  func(error) bool
	Renew      func(host string)
	MaxRetries int

	// OnPage, if set, is called for every page fetched (for live progress).
	OnPage func(url string)

	// Progress, if set, is told every ~10 s how far a long archive
	// download has got (total is -1 when unknown).
	Progress func(url string, read, total int64)
	// Download, if set, is called when an archive download starts, with
	// its size (-1 if unknown); the function it returns is told the bytes
	// read after each read and, with done set, when the download ends (for
	// a byte progress bar).
	Download func(url string, total int64) func(read int64, done bool)

	// Logger receives per-URL diagnostics.
	Logger *slog.Logger
}

// Validators are what an earlier fetch of a URL left behind.
type Validators struct {
	Kind         LinkKind
	ETag         string
	LastModified string
	// Links are a page's extracted links, replayed when it is unchanged.
	Links []string
}

// Revisit remembers validators between runs. Lookup should report ok only
// when an unchanged answer can be acted on (a page with stored links, an
// asset whose content the consumer has cached). Implementations must be
// safe for concurrent use.
type Revisit interface {
	Lookup(url string) (Validators, bool)
	Remember(url string, v Validators)
}

// Defaults.
const (
	DefaultUserAgent = "Mozilla/5.0 (Windows NT 10.0; rv:128.0) Gecko/20100101 Firefox/128.0"
)

func (o *Options) setDefaults() {
	if o.MaxDepth == 0 {
		o.MaxDepth = 3
	}
	if o.MaxPages == 0 {
		o.MaxPages = 1000
	}
	if o.MaxLinksPerPage == 0 {
		o.MaxLinksPerPage = 10000
	}
	if o.MaxURLBytes == 0 {
		o.MaxURLBytes = 2048
	}
	if o.MaxLinkBytesPerPage == 0 {
		o.MaxLinkBytesPerPage = 1 << 20
	}
	if o.MaxStoredLinkBytes == 0 {
		o.MaxStoredLinkBytes = 32 << 20
	}
	if o.MaxPageBytes == 0 {
		o.MaxPageBytes = 8 << 20
	}
	if o.MaxImageBytes == 0 {
		o.MaxImageBytes = 64 << 20
	}
	if o.MaxArchiveBytes == 0 {
		o.MaxArchiveBytes = 4 << 30
	}
	if o.RequestTimeout == 0 {
		o.RequestTimeout = 60 * time.Second
	}
	if o.ArchiveTimeout == 0 {
		o.ArchiveTimeout = 2 * time.Hour
	}
	if o.ReadIdleTimeout == 0 {
		o.ReadIdleTimeout = 60 * time.Second
	}
	if o.MinArchiveRate == 0 {
		o.MinArchiveRate = 1 << 10
	}
	if o.RateWindow == 0 {
		o.RateWindow = 60 * time.Second
	}
	if o.MaxDecodeRatio == 0 {
		o.MaxDecodeRatio = 200
	}
	if o.MaxSplitVolumes == 0 {
		o.MaxSplitVolumes = 1000
	}
	if o.Parallelism == 0 {
		o.Parallelism = 2
	}
	if o.MaxRetries == 0 {
		o.MaxRetries = 2
	}
	if o.UserAgent == "" {
		o.UserAgent = DefaultUserAgent
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate reports every problem with the options at once.
func (o Options) Validate() error {
	var errs []error
	if o.MaxDepth < 0 || o.MaxPages < 0 || o.MaxLinksPerPage < 0 || o.MaxURLBytes < 0 || o.MaxLinkBytesPerPage < 0 || o.MaxStoredLinkBytes < 0 ||
		o.MaxSplitVolumes < 0 {
		errs = append(errs, errors.New("depth, page and link limits must not be negative"))
	}
	if o.MaxPageBytes < 0 || o.MaxImageBytes < 0 || o.MaxArchiveBytes < 0 {
		errs = append(errs, errors.New("size limits must not be negative"))
	}
	if o.MaxPageBytes > 1<<30 {
		errs = append(errs, fmt.Errorf("max page size %d is above 1 GiB", o.MaxPageBytes))
	}
	if o.Parallelism < 0 || o.Parallelism > 64 {
		errs = append(errs, fmt.Errorf("parallelism %d out of range 1..64", o.Parallelism))
	}
	if o.ReadIdleTimeout < 0 || o.MinArchiveRate < 0 || o.RateWindow < 0 || o.MaxDecodeRatio < 0 {
		errs = append(errs, errors.New("download rate, idle and ratio bounds must not be negative"))
	}
	if o.Delay < 0 || o.RandomDelay < 0 || o.RequestTimeout < 0 {
		errs = append(errs, errors.New("delays and timeouts must not be negative"))
	}
	return errors.Join(errs...)
}
