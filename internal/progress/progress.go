package progress

import (
	"io"
	"net/url"
	"path"
	"sync"
	"sync/atomic"
	"time"

	"github.com/leakwatch/leakwatch/internal/safetext"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// Display is the live progress of one run.
type Display struct {
	p      *mpb.Progress
	status *mpb.Bar
	text   atomic.Pointer[string]
	out    io.Writer

	mu     sync.Mutex
	closed bool
}

// Option configures New.
type Option func(*[]mpb.ContainerOption)

// WithRefresh redraws every d instead of mpb's default (150 ms).
func WithRefresh(d time.Duration) Option {
	return func(o *[]mpb.ContainerOption) { *o = append(*o, mpb.WithRefreshRate(d)) }
}

// ForceRefresh draws even when w is not a terminal (tests).
func ForceRefresh() Option {
	return func(o *[]mpb.ContainerOption) { *o = append(*o, mpb.WithAutoRefresh()) }
}

// New starts a display on w, which should be a terminal.
func New(w io.Writer, opts ...Option) *Display {
	copts := []mpb.ContainerOption{mpb.WithOutput(w), mpb.WithWidth(40)}
	for _, o := range opts {
		o(&copts)
	}
	d := &Display{p: mpb.New(copts...), out: w}
	empty := ""
	d.text.Store(&empty)
	d.status = d.p.New(0, mpb.NopStyle(),
		mpb.PrependDecorators(decor.Any(func(decor.Statistics) string { return *d.text.Load() })),
		mpb.BarPriority(1<<30)) // the counters stay the last line
	return d
}

// Status replaces the counters line.
func (d *Display) Status(text string) { d.text.Store(&text) }

// Writer returns a writer whose lines are printed above the bars while
// the display runs, and straight to the output after Close.
func (d *Display) Writer() io.Writer { return (*above)(d) }

type above Display

func (a *above) Write(b []byte) (int, error) {
	a.mu.Lock()
	closed := a.closed
	a.mu.Unlock()
	if !closed {
		if n, err := a.p.Write(b); err == nil {
			return n, nil
		}
	}
	return a.out.Write(b)
}

// Download adds a byte bar for one download of total bytes (unknown when
// total <= 0) and returns the function that moves it: read is the bytes
// so far, done ends the bar, which then disappears.
func (d *Display) Download(rawURL string, total int64) func(read int64, done bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return func(int64, bool) {}
	}
	name := decor.Name(shortName(rawURL)+" ", decor.WC{C: decor.DindentRight | decor.DextraSpace})
	var bar *mpb.Bar
	if total > 0 {
		bar = d.p.AddBar(total, mpb.BarRemoveOnComplete(),
			mpb.PrependDecorators(name, decor.CountersKibiByte("% .1f / % .1f")),
			mpb.AppendDecorators(decor.Percentage(decor.WC{W: 5})))
	} else {
		bar = d.p.New(0, mpb.SpinnerStyle(), mpb.BarRemoveOnComplete(),
			mpb.PrependDecorators(name, decor.CurrentKibiByte("% .1f")))
	}
	return func(read int64, done bool) {
		bar.SetCurrent(read)
		if done {
			bar.SetTotal(-1, true)
		}
	}
}

// Close removes the bars and stops drawing. It is safe to call twice.
func (d *Display) Close() {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return
	}
	d.closed = true
	d.mu.Unlock()
	d.status.Abort(true)
	d.p.Shutdown()
}

// shortName is the last path element of a URL (its host if none), cut to
// 40 characters: a bar names its download, the log has the full URL. The
// element is decoded, so it goes through safetext: a dump site's link can
// spell terminal escapes in it ("%1b]52;c;..." writes the clipboard).
func shortName(raw string) string {
	s := raw
	if u, err := url.Parse(raw); err == nil {
		s = path.Base(u.Path)
		if s == "/" || s == "." || s == "" {
			s = u.Host
		}
	}
	s = safetext.Display(s, 0)
	if r := []rune(s); len(r) > 40 {
		s = string(r[:39]) + "…"
	}
	return s
}
