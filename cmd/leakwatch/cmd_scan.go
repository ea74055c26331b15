package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/leakwatch/leakwatch/alerts"
	"github.com/leakwatch/leakwatch/crawler"
	"github.com/leakwatch/leakwatch/fingerprint"
	"github.com/leakwatch/leakwatch/fingerprint/pdq"
	"github.com/leakwatch/leakwatch/internal/archive"
	"github.com/leakwatch/leakwatch/internal/lock"
	"github.com/leakwatch/leakwatch/internal/outbox"
	"github.com/leakwatch/leakwatch/internal/scan"
	"github.com/leakwatch/leakwatch/internal/store"
	"github.com/leakwatch/leakwatch/internal/tor"
)

type scanFlags struct {
	bank, storePath, torMode, torrc, groupBy, userAgent string
	webhooks, slacks, allowHosts                        []string
	slackFiles                                          []string // Slack URLs read from files
	alertLog                                            string   // JSON-lines alert sink
	asJSON, failOnFindings, failOnErrors                bool
	recrawl, wholeOnly, noPatches                       bool
	maxDepth, maxPages, parallelism, pdqRadius          int
	patchMatchRadius                                    int
	delay, timeout, alertWait, waitLock                 time.Duration
	maxImageBytes, maxPageBytes                         int64
	// Hostile-input bounds; every hit is a counted, reported error.
	maxPixels, maxLinks                         int
	maxArchiveBytes, archiveTotal, archiveEntry int64
	archiveEntries, archiveRatio, archiveDepth  int
	archiveTimeout                              time.Duration
}

func (a *app) scanCmd() *cobra.Command {
	var f scanFlags
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
			return a.runScan(cmd.Context(), f, seeds)
		},
	}
	f.register(cmd.Flags())
	return cmd
}

// archiveLimits builds the archive bounds from the flags.
func (f *scanFlags) archiveLimits() archive.Limits {
	lim := archive.DefaultLimits()
	lim.MaxCompressedBytes, lim.MaxSpoolBytes = f.maxArchiveBytes, f.maxArchiveBytes
	lim.MaxUncompressedBytes, lim.MaxEntryBytes = f.archiveTotal, f.archiveEntry
	lim.MaxEntries, lim.MaxRatio, lim.MaxDepth = f.archiveEntries, float64(f.archiveRatio), f.archiveDepth
	return lim
}

// validateLimits refuses bounds that would disable a protection.
func (f *scanFlags) validateLimits() error {
	for name, v := range map[string]int64{"max-image-bytes": f.maxImageBytes, "max-page-bytes": f.maxPageBytes, "max-pixels": int64(f.maxPixels),
		"max-links-per-page": int64(f.maxLinks), "max-archive-bytes": f.maxArchiveBytes, "archive-max-total-bytes": f.archiveTotal,
		"archive-max-entry-bytes": f.archiveEntry, "archive-max-entries": int64(f.archiveEntries), "archive-max-ratio": int64(f.archiveRatio),
		"archive-max-depth": int64(f.archiveDepth), "archive-timeout": int64(f.archiveTimeout)} {
		if v <= 0 {
			return usagef("--%s must be positive", name)
		}
	}
	if f.patchMatchRadius < 1 || f.patchMatchRadius > 64 {
		return usagef("--patch-match-radius must be between 1 and 64")
	}
	return nil
}

// register defines the scan flags; watch shares them.
func (f *scanFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&f.bank, "bank", "", "bank file")
	fl.StringVar(&f.storePath, "store", "", "SQLite store (default $XDG_DATA_HOME/leakwatch/leakwatch.db)")
	fl.StringVar(&f.torMode, "tor", "off", "off, managed (start tor with --torrc) or socks5://HOST:PORT")
	fl.StringVar(&f.torrc, "torrc", "", "torrc for --tor managed (required there; leakwatch never starts tor with a default configuration)")
	fl.StringArrayVar(&f.webhooks, "webhook", nil, "Standard Webhooks endpoint URL (repeatable)")
	fl.StringArrayVar(&f.slacks, "slack-webhook", nil, "Slack incoming webhook URL (repeatable; treat it as a secret)")
	fl.StringArrayVar(&f.allowHosts, "allow-host", nil, "extra host in scope (repeatable)")
	fl.StringVar(&f.groupBy, "group-by", "site", "one incident per site or per page")
	fl.BoolVar(&f.asJSON, "json", false, "stream findings, errors and the summary as JSON lines")
	fl.BoolVar(&f.failOnFindings, "fail-on-findings", false, "exit 3 when incidents were created or grew")
	fl.BoolVar(&f.failOnErrors, "fail-on-errors", false, "exit 4 when some items could not be processed")
	fl.BoolVar(&f.recrawl, "recrawl", false, "fetch everything again instead of sending conditional requests (after enrolling many new captures)")
	fl.IntVar(&f.patchMatchRadius, "patch-match-radius", fingerprint.DefaultPatchMatchRadius, "largest distance at which a keypoint-patch lead (uneven crop) counts as a match, 1..64; lower it for banks of look-alike captures")
	fl.BoolVar(&f.noPatches, "no-patches", false, "skip the keypoint-patch search for unevenly cropped copies (its cost grows with the bank; see README, Match policy)")
	fl.BoolVar(&f.wholeOnly, "whole-image-only", false, "skip the crop, collage and screenshot search: ~3x faster on big archives of small photos, finds only whole-image copies")
	fl.IntVar(&f.maxDepth, "max-depth", 3, "link depth from the seed")
	fl.IntVar(&f.maxPages, "max-pages", 1000, "pages per run")
	fl.IntVar(&f.parallelism, "parallelism", 2, "concurrent requests per host")
	fl.DurationVar(&f.delay, "delay", 0, "delay between requests to one host")
	fl.DurationVar(&f.timeout, "timeout", 0, "per-request time limit, page or image, body included (default 60s, 3m in Tor mode)")
	fl.DurationVar(&f.alertWait, "alert-wait", 30*time.Second, "how long to keep retrying alert delivery before leaving events for the next run")
	fl.Int64Var(&f.maxImageBytes, "max-image-bytes", 64<<20, "largest image downloaded")
	fl.Int64Var(&f.maxPageBytes, "max-page-bytes", 8<<20, "largest HTML page (larger pages are errors, never truncated)")
	fl.IntVar(&f.maxPixels, "max-pixels", int(fingerprint.DefaultLimits().MaxPixels), "largest image in pixels, checked from the header before decoding (pixel bombs)")
	fl.IntVar(&f.maxLinks, "max-links-per-page", 10000, "links taken from one page")
	fl.Int64Var(&f.maxArchiveBytes, "max-archive-bytes", archive.DefaultMaxCompressedBytes, "largest archive downloaded (and spooled, for zip and 7z)")
	fl.DurationVar(&f.archiveTimeout, "archive-timeout", 2*time.Hour, "time limit for one archive download")
	fl.Int64Var(&f.archiveTotal, "archive-max-total-bytes", archive.DefaultMaxUncompressedBytes, "uncompressed bytes per archive, nested archives included (zip bombs)")
	fl.Int64Var(&f.archiveEntry, "archive-max-entry-bytes", archive.DefaultMaxEntryBytes, "uncompressed bytes per archive entry")
	fl.IntVar(&f.archiveEntries, "archive-max-entries", archive.DefaultMaxEntries, "entries per archive, nested archives included")
	fl.IntVar(&f.archiveRatio, "archive-max-ratio", int(archive.DefaultMaxRatio), "uncompressed/compressed ratio per archive (checked after the first MiB)")
	fl.IntVar(&f.archiveDepth, "archive-max-depth", archive.DefaultMaxDepth, "archives nested in archives, the outer one counting 1")
	fl.IntVar(&f.pdqRadius, "pdq-radius", pdq.MatchThreshold, "largest PDQ distance counted as a match")
	fl.DurationVar(&f.waitLock, "wait-lock", 0, "wait this long for another run on the same store to finish (default: fail at once with exit 11)")
	fl.StringVar(&f.userAgent, "user-agent", crawler.DefaultUserAgent, "User-Agent header")
	f.registerAlerts(fl)
}

func (a *app) runScan(ctx context.Context, f scanFlags, seeds []string) error {
	if err := requireFlag("bank", f.bank); err != nil {
		return err
	}
	if err := f.validateLimits(); err != nil {
		return err
	}
	if f.groupBy != string(scan.GroupSite) && f.groupBy != string(scan.GroupPage) {
		return usagef("--group-by must be site or page")
	}
	if f.storePath == "" {
		f.storePath = a.defaultStorePath()
	}
	notifiers, keys, err := a.notifiers(f.alertTargets())
	if err != nil {
		return err
	}
	defer closeNotifiers(notifiers)
	bank, err := fingerprint.LoadBank(f.bank)
	if err != nil {
		return err
	}
	lk, err := a.lockStore(ctx, f.storePath, f.waitLock)
	if err != nil {
		return err
	}
	defer lk.Release()
	st, err := store.Open(ctx, f.storePath)
	if err != nil {
		return err
	}
	defer st.Close()

	tc, err := a.startTor(ctx, f)
	if err != nil {
		return err
	}
	defer tc.Close()
	cfg := a.scanConfig(f, tc, seeds, bank, st, keys)
	if !f.asJSON && isTerminal(a.stderr) {
		cfg.OnProgress = func(p scan.Summary) {
			fmt.Fprintf(a.stderr, "\r\x1b[Kleakwatch: %d pages, %d assets, %d images, %d matches, %d errors", p.Pages, p.Assets, p.Images, p.Matches, p.Errors)
		}
	}
	sum, dres, err := a.scanAndDeliver(ctx, cfg, st, notifiers, f.alertWait)
	if cfg.OnProgress != nil {
		fmt.Fprint(a.stderr, "\r\x1b[K")
	}
	if err != nil {
		return err
	}
	if f.asJSON {
		_ = a.jsonLine(struct {
			Type string `json:"type"`
			scan.Summary
			Alerts outbox.Result `json:"alerts"`
		}{"summary", sum, dres})
	}
	a.printSummary(sum, dres)
	switch {
	case sum.Interrupted || ctx.Err() != nil:
		return codeError{code: exitInterrupted, err: errors.New("interrupted; incidents found so far are recorded, pending alerts go out with the next run")}
	case f.failOnFindings && sum.Changed() > 0:
		return codeError{code: exitFindings}
	case f.failOnErrors && sum.Errors > 0:
		return codeError{code: exitPartial}
	}
	return nil
}

// startTor starts (or connects to) Tor as --tor says; "off" is a direct
// client.
func (a *app) startTor(ctx context.Context, f scanFlags) (*tor.Client, error) {
	tcfg, err := tor.ParseMode(f.torMode)
	if err != nil {
		return nil, usageError{err}
	}
	tcfg.TorrcFile, tcfg.Progress, tcfg.Logger = f.torrc, a.stderr, a.logger()
	return tor.Start(ctx, tcfg)
}

// scanConfig builds one scan from the flags (shared by scan and watch).
func (a *app) scanConfig(f scanFlags, tc *tor.Client, seeds []string, bank *fingerprint.Bank, st *store.Store, keys []string) scan.Config {
	copts := crawler.Options{
		MaxDepth: f.maxDepth, MaxPages: f.maxPages, Parallelism: f.parallelism, Delay: f.delay,
		RequestTimeout: f.timeout, MaxImageBytes: f.maxImageBytes, MaxPageBytes: f.maxPageBytes,
		MaxLinksPerPage: f.maxLinks, MaxArchiveBytes: f.maxArchiveBytes, ArchiveTimeout: f.archiveTimeout,
		AllowedHosts: f.allowHosts, UserAgent: f.userAgent, Logger: a.logger(),
		Transport: tc.Transport(), CheckRedirect: tor.CheckRedirect(tc.Mode(), a.logger()),
	}
	if !f.asJSON {
		// Long archive downloads report every ~10 s on stderr.
		copts.Progress = func(u string, read, total int64) {
			if total > 0 {
				a.msg("downloading %s: %d of %d MiB (%d%%)", u, read>>20, total>>20, read*100/total)
				return
			}
			a.msg("downloading %s: %d MiB", u, read>>20)
		}
	}
	if copts.RequestTimeout == 0 {
		copts.RequestTimeout = 60 * time.Second
		if tc.Mode().IsTor() {
			// Onion services are slow: circuits take seconds to build and
			// bandwidth is low.
			copts.RequestTimeout = 3 * time.Minute
		}
	}
	if tc.Mode().IsTor() {
		// A failed circuit or a slow onion is retried on a new circuit for
		// that site only.
		copts.Retryable = tor.RetryableError
		copts.Renew = func(host string) {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			tc.NewCircuit(ctx, host)
		}
	}
	mopts := fingerprint.DefaultMatchOptions()
	mopts.PDQRadius = f.pdqRadius
	mopts.Patches = !f.noPatches
	mopts.PatchMatchRadius = f.patchMatchRadius
	cfg := scan.Config{
		Seeds: seeds, Bank: bank, Match: mopts, Store: st, Crawler: copts,
		GroupBy: scan.Grouping(f.groupBy), Endpoints: keys, Logger: a.logger(),
		Recrawl: f.recrawl, WholeImageOnly: f.wholeOnly,
		Limits:  fingerprint.Limits{MaxBytes: f.maxImageBytes, MaxPixels: int64(f.maxPixels)},
		Archive: f.archiveLimits(),
	}
	if f.asJSON {
		cfg.OnFinding = func(fd scan.Finding) { _ = a.jsonLine(fd) }
		cfg.OnError = func(p scan.Problem) {
			_ = a.jsonLine(struct {
				Type string `json:"type"`
				scan.Problem
			}{"error", p})
		}
	} else {
		cfg.OnFinding = func(fd scan.Finding) {
			where := fd.URL
			if fd.ArchivePath != "" {
				where += " [" + fd.ArchivePath + "]"
			}
			fmt.Fprintf(a.stdout, "%s\t%s\t%d\t%s\t%s\n", fd.IncidentID, fd.CaptureID, fd.Distance, fd.Variant, where)
		}
	}
	return cfg
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

// lockStore takes the run lock of a store, mapping contention to exit 11.
func (a *app) lockStore(ctx context.Context, storePath string, wait time.Duration) (*lock.Lock, error) {
	if err := os.MkdirAll(filepath.Dir(storePath), 0o700); err != nil {
		return nil, err
	}
	lk, err := lock.Acquire(ctx, storePath+".lock", wait)
	if errors.Is(err, lock.ErrLocked) {
		return nil, codeError{code: exitLocked, err: err}
	}
	return lk, err
}

// scanAndDeliver runs a scan while a delivery worker sends each alert as
// soon as its event is committed, then keeps retrying for up to wait.
func (a *app) scanAndDeliver(ctx context.Context, cfg scan.Config, st *store.Store, ns map[string]alerts.Notifier, wait time.Duration) (scan.Summary, outbox.Result, error) {
	var total outbox.Result
	if len(ns) == 0 {
		sum, err := scan.Run(ctx, cfg)
		return sum, total, err
	}
	d := &outbox.Dispatcher{Store: st, Notifiers: ns, Logger: a.logger(), Initial: time.Second, Max: 10 * time.Second}
	w := outbox.NewWorker(d, time.Second)
	wctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.Run(wctx, func(r outbox.Result, err error) {
			total.Delivered += r.Delivered
			total.GaveUp += r.GaveUp
			if err != nil && wctx.Err() == nil {
				a.logger().Warn("alert delivery", "err", err)
			}
		})
	}()
	cfg.OnEvent = func(string) { w.Kick() }
	sum, err := scan.Run(ctx, cfg)
	stop()
	<-done
	if err != nil {
		return sum, total, err
	}
	rest, derr := a.deliver(ctx, st, ns, wait)
	total.Delivered += rest.Delivered
	total.GaveUp += rest.GaveUp
	total.Retrying = rest.Retrying
	if derr != nil && ctx.Err() == nil {
		a.msg("alert delivery: %v", derr)
	}
	return sum, total, nil
}

// deliver flushes the outbox until nothing is due or wait has passed.
func (a *app) deliver(ctx context.Context, st *store.Store, ns map[string]alerts.Notifier, wait time.Duration) (outbox.Result, error) {
	var total outbox.Result
	if len(ns) == 0 {
		return total, nil
	}
	d := &outbox.Dispatcher{Store: st, Notifiers: ns, Logger: a.logger(), Initial: time.Second, Max: 10 * time.Second}
	deadline := time.Now().Add(wait)
	for {
		r, err := d.Flush(ctx)
		total.Delivered += r.Delivered
		total.GaveUp += r.GaveUp
		if err != nil {
			return total, err
		}
		// Disabled endpoints (410 Gone) are not waited for.
		pending, err := d.Pending(ctx)
		total.Retrying = pending
		if err != nil || pending == 0 || time.Now().After(deadline) {
			return total, err
		}
		select {
		case <-ctx.Done():
			return total, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}
