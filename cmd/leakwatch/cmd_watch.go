package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/leakwatch/leakwatch/internal/report"
	"github.com/leakwatch/leakwatch/internal/scan"
	"github.com/leakwatch/leakwatch/internal/watch"
)

// watchOptions are the scan flags plus the watcher's own.
type watchOptions struct {
	scanOptions
	initialRun bool
	ticks      int
}

func (a *app) watchCmd() *cobra.Command {
	var o watchOptions
	cmd := &cobra.Command{
		Use:   "watch --schedule SPEC --bank PATH [scan flags] [SEED...]",
		Short: "Scan on a schedule, deliver alerts continuously, serve /metrics and /healthz",
		Long: `watch runs the same scan as "leakwatch scan" on a schedule: "@every 6h", a
descriptor (@hourly, @daily, @weekly) or five cron fields ("30 3 * * *",
optionally prefixed "CRON_TZ=Europe/Paris "). Between runs an alert worker
keeps delivering queued events, so retries go out without waiting for the
next scan; a new incident is sent when its scan ends (at most --alert-hold after
it was recorded), with everything the scan found.

Each run takes the store's lock. If another run holds it (a scan started by
cron, say), the run is skipped, logged and counted in
leakwatch_runs_skipped_locked_total; --wait-lock waits for it first. The
bank file is reloaded when it changes on disk ("leakwatch enroll" replaces
it atomically).

/metrics (Prometheus) and /healthz (JSON; 503 after --unhealthy-after
failed runs in a row) are served on --listen, 127.0.0.1 only unless
--listen-any: both are unauthenticated and tell whoever asks what is being
scanned and found.

SIGTERM or SIGINT cancels the current run (incidents already recorded stay;
alert events not delivered yet stay in the outbox for the next start),
stops the alert worker and the HTTP server, and exits 0.

` + exitCodesHelp,
		Args: cobra.ArbitraryArgs,
		RunE: a.withSeeds(func(ctx context.Context, seeds []string) error { return a.runWatch(ctx, o, seeds) }),
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

// AddFlags defines the scan flags and the watcher's.
func (o *watchOptions) AddFlags(fl *pflag.FlagSet) {
	o.scanOptions.AddFlags(fl, "watch")
	// Per-run exit codes mean nothing to a long-running process.
	for _, n := range []string{"fail-on-findings", "fail-on-errors"} {
		_ = fl.MarkHidden(n)
	}
	fl.BoolVar(&o.initialRun, "initial-run", true, "scan once at start instead of waiting for the first scheduled time")
	fl.IntVar(&o.ticks, "ticks", 0, "stop after this many scheduled runs, skipped ones included, once alerts are delivered or --alert-wait passed (0: run until SIGTERM)")
}

func (a *app) runWatch(parent context.Context, o watchOptions, seeds []string) error {
	// watch owns its shutdown: SIGTERM (systemd, docker) and SIGINT end it
	// cleanly with exit 0.
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	defer stop()
	context.AfterFunc(ctx, stop) // a second signal ends a hung shutdown
	wo := watch.Options{Options: o.Options, InitialRun: o.initialRun, Ticks: o.ticks}
	if err := wo.Validate(); err != nil {
		return usageError{err}
	}
	late := torAlerts(o.Tor.Mode)
	eps, err := a.openAlerts(targets(o.Alerts, o.slacks), late)
	if err != nil {
		return err
	}
	defer eps.Close()
	return watch.Run(ctx, wo, watch.Env{
		Seeds: seeds, Alerts: eps, AlertTransport: late, Out: watchOutput{a, o.asJSON},
		Decorate: func(cfg *scan.Config) { a.scanOutput(cfg, o.asJSON) },
		Progress: a.progressOut(), Logger: a.logger(), Version: versionString(),
	})
}

// watchOutput prints what a watcher reports.
type watchOutput struct {
	*app
	asJSON bool
}

func (w watchOutput) Skipped(s report.Skipped) {
	if w.asJSON {
		_ = report.NewJSON(w.stdout).Skipped(s)
	}
}

func (w watchOutput) Finished(f report.Finished) { w.finished(f, w.asJSON) }
