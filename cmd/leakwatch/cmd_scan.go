package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/leakwatch/leakwatch/alerts"
	"github.com/leakwatch/leakwatch/crawler"
	"github.com/leakwatch/leakwatch/fingerprint"
	"github.com/leakwatch/leakwatch/fingerprint/pdq"
	"github.com/leakwatch/leakwatch/internal/archive"
	"github.com/leakwatch/leakwatch/internal/report"
	"github.com/leakwatch/leakwatch/internal/scan"
)

// scanOptions are the flags of scan; watch takes them too.
type scanOptions struct {
	scan.Options
	alerts                               alerts.Targets
	asJSON, failOnFindings, failOnErrors bool
}

func (a *app) scanCmd() *cobra.Command {
	var o scanOptions
	cmd := &cobra.Command{
		Use:   "scan --bank PATH [--store PATH] [--tor managed|socks5://HOST:PORT|off] [--webhook URL]... SEED...",
		Short: "Crawl dump sites, match every image against the bank, record incidents and alert",
		Long: `scan crawls each seed (same host by default; --allow-host widens the scope),
fetches every linked image and archive, hashes and matches each image, and
records one incident per leak source (site by default, --group-by page) in
the store. New or grown incidents are queued as alert events in the store
and delivered to every --webhook (signed per Standard Webhooks with the
secret in LEAKWATCH_WEBHOOK_SECRET or the file named by
LEAKWATCH_WEBHOOK_SECRET_FILE); events not delivered yet are retried by
the next scan. --json streams one JSON line per finding and per error,
then a summary line.

` + exitCodesHelp,
		// Seeds may also come from the configuration file.
		Args:        cobra.ArbitraryArgs,
		Annotations: map[string]string{configAnnotation: configAll},
		RunE: func(cmd *cobra.Command, args []string) error {
			seeds, err := a.seeds(args)
			if err != nil {
				return err
			}
			return a.runScan(cmd.Context(), o, seeds)
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

// AddFlags defines the scan flags.
func (o *scanOptions) AddFlags(fl *pflag.FlagSet) {
	fl.StringVar(&o.Bank, "bank", "", "bank file")
	fl.StringVar(&o.Store, "store", "", "SQLite store (default $XDG_DATA_HOME/leakwatch/leakwatch.db)")
	fl.StringVar(&o.Tor, "tor", "off", "off, managed (start tor with --torrc) or socks5://HOST:PORT")
	fl.StringVar(&o.Torrc, "torrc", "", "torrc for --tor managed (required there; leakwatch never starts tor with a default configuration)")
	addAlertFlags(fl, &o.alerts)
	fl.StringArrayVar(&o.AllowHosts, "allow-host", nil, "extra host in scope (repeatable)")
	fl.StringVar(&o.GroupBy, "group-by", "site", "one incident per site or per page")
	fl.BoolVar(&o.asJSON, "json", false, "stream findings, errors and the summary as JSON lines")
	fl.BoolVar(&o.failOnFindings, "fail-on-findings", false, "exit 3 when incidents were created or grew")
	fl.BoolVar(&o.failOnErrors, "fail-on-errors", false, "exit 4 when some items could not be processed")
	fl.BoolVar(&o.Recrawl, "recrawl", false, "fetch everything again instead of sending conditional requests (after enrolling many new captures)")
	fl.IntVar(&o.PatchMatchRadius, "patch-match-radius", fingerprint.DefaultPatchMatchRadius, "largest distance at which a keypoint-patch lead (uneven crop) counts as a match, 1..64; lower it for banks of look-alike captures")
	fl.BoolVar(&o.NoPatches, "no-patches", false, "skip the keypoint-patch search for unevenly cropped copies (its cost grows with the bank; see README, Match policy)")
	fl.BoolVar(&o.WholeImageOnly, "whole-image-only", false, "skip the crop, collage and screenshot search: ~3x faster on big archives of small photos, finds only whole-image copies")
	fl.IntVar(&o.MaxDepth, "max-depth", 3, "link depth from the seed")
	fl.IntVar(&o.MaxPages, "max-pages", 1000, "pages per run")
	fl.IntVar(&o.Parallelism, "parallelism", 2, "concurrent requests per host")
	fl.DurationVar(&o.Delay, "delay", 0, "delay between requests to one host")
	fl.DurationVar(&o.Timeout, "timeout", 0, "per-request time limit, page or image, body included (default 60s, 3m in Tor mode)")
	fl.DurationVar(&o.AlertWait, "alert-wait", 30*time.Second, "how long to keep retrying alert delivery before leaving events for the next run")
	fl.Int64Var(&o.MaxImageBytes, "max-image-bytes", 64<<20, "largest image downloaded")
	fl.Int64Var(&o.MaxPageBytes, "max-page-bytes", 8<<20, "largest HTML page (larger pages are errors, never truncated)")
	fl.IntVar(&o.MaxPixels, "max-pixels", int(fingerprint.DefaultLimits().MaxPixels), "largest image in pixels, checked from the header before decoding (pixel bombs)")
	fl.IntVar(&o.MaxLinksPerPage, "max-links-per-page", 10000, "links taken from one page")
	fl.Int64Var(&o.MaxArchiveBytes, "max-archive-bytes", archive.DefaultMaxCompressedBytes, "largest archive downloaded (and spooled, for zip and 7z)")
	fl.DurationVar(&o.ArchiveTimeout, "archive-timeout", 2*time.Hour, "time limit for one archive download")
	fl.Int64Var(&o.ArchiveMaxTotalBytes, "archive-max-total-bytes", archive.DefaultMaxUncompressedBytes, "uncompressed bytes per archive, nested archives included (zip bombs)")
	fl.Int64Var(&o.ArchiveMaxEntryBytes, "archive-max-entry-bytes", archive.DefaultMaxEntryBytes, "uncompressed bytes per archive entry")
	fl.IntVar(&o.ArchiveMaxEntries, "archive-max-entries", archive.DefaultMaxEntries, "entries per archive, nested archives included")
	fl.IntVar(&o.ArchiveMaxRatio, "archive-max-ratio", int(archive.DefaultMaxRatio), "uncompressed/compressed ratio per archive (checked after the first MiB)")
	fl.IntVar(&o.ArchiveMaxDepth, "archive-max-depth", archive.DefaultMaxDepth, "archives nested in archives, the outer one counting 1")
	fl.IntVar(&o.PDQRadius, "pdq-radius", pdq.MatchThreshold, "largest PDQ distance counted as a match")
	fl.DurationVar(&o.WaitLock, "wait-lock", 0, "wait this long for another run on the same store to finish (default: fail at once with exit 11)")
	fl.StringVar(&o.UserAgent, "user-agent", crawler.DefaultUserAgent, "User-Agent header")
}

func (a *app) runScan(ctx context.Context, o scanOptions, seeds []string) error {
	if err := o.Validate(); err != nil {
		return usageError{err}
	}
	if o.Store == "" {
		o.Store = a.defaultStorePath()
	}
	eps, err := a.openAlerts(o.alerts)
	if err != nil {
		return err
	}
	defer eps.Close()
	s, err := scan.Open(ctx, o.Options, a.stderr, a.logger())
	if err != nil {
		return err
	}
	defer s.Close()
	cfg := o.Config(s.Tor, seeds, s.Bank, s.Store, eps.Keys, a.logger())
	a.scanOutput(&cfg, o.asJSON)
	stopProgress := a.progressLine(&cfg, o.asJSON)
	sum, dres, err := scan.RunAndDeliver(ctx, cfg, a.delivery(eps, o.AlertWait))
	stopProgress()
	if err != nil {
		return err
	}
	a.finished(report.Finished{Summary: sum, Alerts: &dres}, o.asJSON)
	switch {
	case sum.Interrupted || ctx.Err() != nil:
		return codeError{code: exitInterrupted, err: errors.New("interrupted; incidents found so far are recorded, pending alerts go out with the next run")}
	case o.failOnFindings && sum.Changed() > 0:
		return codeError{code: exitFindings}
	case o.failOnErrors && sum.Errors > 0:
		return codeError{code: exitPartial}
	}
	return nil
}

// delivery sends alerts to eps, retrying for up to wait after the scan.
func (a *app) delivery(eps alerts.Endpoints, wait time.Duration) scan.Delivery {
	return scan.Delivery{Notifiers: eps.Notifiers, Wait: wait, Logger: a.logger(),
		OnError: func(err error) { a.msg("alert delivery: %v", err) }}
}

// progressLine draws the scan's counters on a terminal's stderr; the
// returned function clears the line.
func (a *app) progressLine(cfg *scan.Config, asJSON bool) (clear func()) {
	if asJSON || !isTerminal(a.stderr) {
		return func() {}
	}
	cfg.OnProgress = func(p report.Summary) {
		fmt.Fprintf(a.stderr, "\r\x1b[Kleakwatch: %d pages, %d assets, %d images, %d matches, %d errors", p.Pages, p.Assets, p.Images, p.Matches, p.Errors)
	}
	return func() { fmt.Fprint(a.stderr, "\r\x1b[K") }
}
