package main

import (
	"io"
	"os"

	"github.com/mattn/go-isatty"

	"github.com/leakwatch/leakwatch/internal/report"
	"github.com/leakwatch/leakwatch/internal/safetext"
	"github.com/leakwatch/leakwatch/internal/scan"
)

// scanOutput sets the callbacks that print a scan's findings and errors
// (and, as JSON, its captures left for review): JSON lines, or one
// tab-separated line per finding and archive download progress on stderr.
func (a *app) scanOutput(cfg *scan.Config, asJSON bool) {
	if asJSON {
		out := report.NewJSON(a.stdout)
		cfg.OnFinding = func(f report.Finding) { _ = out.Finding(f) }
		cfg.OnError = func(p report.Problem) { _ = out.Error(p) }
		cfg.OnReview = func(r report.Review) { _ = out.Review(r) }
		return
	}
	// Long archive downloads report every ~10 s on stderr.
	cfg.Crawler.Progress = func(u string, read, total int64) {
		if total > 0 {
			a.Printf("downloading %s: %d of %d MiB (%d%%)", safetext.Display(u, 0), read>>20, total>>20, read*100/total)
			return
		}
		a.Printf("downloading %s: %d MiB", safetext.Display(u, 0), read>>20)
	}
	out := report.NewText(a.stdout)
	cfg.OnFinding = func(f report.Finding) { _ = out.Finding(f) }
}

// finished tells the operator how a run went, on stderr, and with asJSON
// also writes the summary line on stdout.
func (a *app) finished(f report.Finished, asJSON bool) {
	for _, l := range f.Lines() {
		a.Printf("%s", l)
	}
	if asJSON {
		_ = report.NewJSON(a.stdout).Finished(f)
	}
}

// isTerminal reports whether w is a terminal: progress is drawn only
// there, never into logs or pipes.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}
