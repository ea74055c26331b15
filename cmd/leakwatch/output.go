package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/mattn/go-isatty"

	"github.com/leakwatch/leakwatch/internal/outbox"
	"github.com/leakwatch/leakwatch/internal/scan"
)

// scanOutput sets the callbacks that print a scan's findings and errors:
// JSON lines, or one tab-separated line per finding and archive download
// progress on stderr.
func (a *app) scanOutput(cfg *scan.Config, asJSON bool) {
	if asJSON {
		cfg.OnFinding = func(fd scan.Finding) { _ = a.jsonLine(fd) }
		cfg.OnError = func(p scan.Problem) {
			_ = a.jsonLine(struct {
				Type string `json:"type"`
				scan.Problem
			}{"error", p})
		}
		return
	}
	// Long archive downloads report every ~10 s on stderr.
	cfg.Crawler.Progress = func(u string, read, total int64) {
		if total > 0 {
			a.msg("downloading %s: %d of %d MiB (%d%%)", u, read>>20, total>>20, read*100/total)
			return
		}
		a.msg("downloading %s: %d MiB", u, read>>20)
	}
	cfg.OnFinding = func(fd scan.Finding) {
		where := fd.URL
		if fd.ArchivePath != "" {
			where += " [" + fd.ArchivePath + "]"
		}
		fmt.Fprintf(a.stdout, "%s\t%s\t%d\t%s\t%s\n", fd.IncidentID, fd.CaptureID, fd.Distance, fd.Variant, where)
	}
}

func (a *app) printSummary(sum scan.Summary, d outbox.Result) {
	reasons := make([]string, 0, len(sum.ErrorsBy))
	for r, n := range sum.ErrorsBy {
		reasons = append(reasons, fmt.Sprintf("%s=%d", r, n))
	}
	sort.Strings(reasons)
	a.msg("scanned %d pages, %d assets, %d images (%d hashed, %d cached, %d unhashable); %d matches; %d errors %s",
		sum.Pages, sum.Assets, sum.Images, sum.Hashed, sum.Cached, sum.Unhashable, sum.Matches, sum.Errors, strings.Join(reasons, " "))
	if sum.PatchLimited > 0 {
		a.msg("%d images raised more patch leads than the verification budget: an uneven crop among them may have been missed (README, Match policy)", sum.PatchLimited)
	}
	for _, c := range sum.Incidents {
		state := "updated"
		if c.Created {
			state = "new"
		} else if len(c.NewCaptures) == 0 {
			state = "seen again"
		}
		a.msg("incident %s (%s) %s: %d new captures: %s", c.ID, c.Source, state, len(c.NewCaptures), strings.Join(c.NewCaptures, ", "))
	}
	if d.Delivered+d.Retrying+d.GaveUp > 0 {
		a.msg("alerts: %d delivered, %d to retry, %d given up", d.Delivered, d.Retrying, d.GaveUp)
	}
}

// isTerminal reports whether w is a terminal: progress is drawn only
// there, never into logs or pipes.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}
