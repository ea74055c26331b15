package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/leakwatch/leakwatch/alerts"
	"github.com/leakwatch/leakwatch/internal/config"
	"github.com/leakwatch/leakwatch/internal/progress"
	"github.com/leakwatch/leakwatch/internal/report"
	"github.com/leakwatch/leakwatch/internal/scan"
)

// scanOptions are the flags of scan; watch takes them too.
type scanOptions struct {
	scan.Options
	slacks                               []string // Slack URLs: credentials, never a setting
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
		Args: cobra.ArbitraryArgs,
		RunE: a.withSeeds(func(ctx context.Context, seeds []string) error { return a.runScan(ctx, o, seeds) }),
	}
	o.AddFlags(cmd.Flags(), "scan")
	return cmd
}

// AddFlags defines the scan flags: the settings scan takes (see
// config.Settings) and the flags of one run.
func (o *scanOptions) AddFlags(fl *pflag.FlagSet, command string) {
	config.AddFlags(fl, command, &o.Options.Options)
	addSlackFlag(fl, &o.slacks)
	fl.BoolVar(&o.asJSON, "json", false, "stream findings, errors and the summary as JSON lines")
	fl.BoolVar(&o.failOnFindings, "fail-on-findings", false, "exit 3 when incidents were created or grew")
	fl.BoolVar(&o.failOnErrors, "fail-on-errors", false, "exit 4 when some items could not be processed")
	fl.BoolVar(&o.Recrawl, "recrawl", false, "fetch everything again instead of sending conditional requests (after enrolling many new captures)")
	fl.BoolVar(&o.WholeImageOnly, "whole-image-only", false, "skip the crop, collage and screenshot search: ~3x faster on big archives of small photos, finds only whole-image copies")
	fl.DurationVar(&o.WaitLock, "wait-lock", 0, "wait this long for another run on the same store to finish (default: fail at once with exit 11)")
}

func (a *app) runScan(ctx context.Context, o scanOptions, seeds []string) error {
	if err := o.Validate(); err != nil {
		return usageError{err}
	}
	late := torAlerts(o.Tor.Mode)
	eps, err := a.openAlerts(targets(o.Alerts, o.slacks), late)
	if err != nil {
		return err
	}
	defer eps.Close()
	s, err := scan.Open(ctx, o.Options, a.progressOut(), a.logger())
	if err != nil {
		return err
	}
	defer s.Close()
	if late != nil {
		late.Bind(s.Tor)
	}
	cfg := o.Config(s.Tor, seeds, s.Bank, s.Store, eps.Keys, a.logger())
	cfg.Evidence = s.Evidence
	cfg.Baseline = s.Baseline
	a.scanOutput(&cfg, o.asJSON)
	stopProgress := a.progressLine(&cfg, o.asJSON)
	sum, dres, err := scan.RunAndDeliver(ctx, cfg, a.delivery(eps, o.Alerts.Wait))
	stopProgress()
	if err != nil && !errors.Is(err, scan.ErrStorage) {
		return err
	}
	a.finished(report.Finished{Summary: sum, Alerts: &dres}, o.asJSON)
	switch {
	case err != nil:
		return err // matches found but not recorded: never exit 0
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
		OnError: func(err error) { a.Printf("alert delivery: %v", err) }}
}

// progressLine draws the scan's counters and a byte bar per archive
// download on a terminal's stderr (text logs only), with log lines and
// messages printed above them; the returned function removes the display.
func (a *app) progressLine(cfg *scan.Config, asJSON bool) (clear func()) {
	if asJSON || a.msgs != nil || !isTerminal(a.stderr) {
		return func() {}
	}
	d := progress.New(a.stderr)
	prev := a.textOut.set(d.Writer())
	cfg.OnProgress = func(p report.Summary) {
		d.Status(fmt.Sprintf("leakwatch: %d pages, %d assets, %d images, %d matches, %d errors", p.Pages, p.Assets, p.Images, p.Matches, p.Errors))
	}
	// The bars replace the download messages printed every ~10 s.
	cfg.Crawler.Progress, cfg.Crawler.Download = nil, d.Download
	return func() {
		d.Close()
		a.textOut.set(prev)
	}
}
