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
	watch watch.Options // its scan options are the embedded ones
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
next scan; a new incident is sent as soon as it is recorded.

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
		Args:        cobra.ArbitraryArgs,
		Annotations: map[string]string{configAnnotation: configAll},
		RunE: func(cmd *cobra.Command, args []string) error {
			seeds, err := a.seeds(args)
			if err != nil {
				return err
			}
			return a.runWatch(cmd.Context(), o, seeds)
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

// AddFlags defines the scan flags and the watcher's.
func (o *watchOptions) AddFlags(fl *pflag.FlagSet) {
	o.scanOptions.AddFlags(fl)
	// Per-run exit codes mean nothing to a long-running process.
	for _, n := range []string{"fail-on-findings", "fail-on-errors"} {
		_ = fl.MarkHidden(n)
	}
	fl.StringVar(&o.watch.Schedule, "schedule", "", `when to scan: "@every 6h", "@daily" or cron fields such as "30 3 * * *" (required)`)
	fl.StringVar(&o.watch.Listen, "listen", watch.DefaultListen, "address for /metrics and /healthz, or off")
	fl.BoolVar(&o.watch.ListenAny, "listen-any", false, "allow --listen on a non-loopback address (the endpoints are unauthenticated)")
	fl.IntVar(&o.watch.UnhealthyAfter, "unhealthy-after", 3, "failed runs in a row before /healthz answers 503")
	fl.BoolVar(&o.watch.InitialRun, "initial-run", true, "scan once at start instead of waiting for the first scheduled time")
	fl.IntVar(&o.watch.Ticks, "ticks", 0, "stop after this many scheduled runs, skipped ones included, once alerts are delivered or --alert-wait passed (0: run until SIGTERM)")
}

func (a *app) runWatch(parent context.Context, o watchOptions, seeds []string) error {
	// watch owns its shutdown: SIGTERM (systemd, docker) and SIGINT end it
	// cleanly with exit 0.
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	defer stop()
	o.watch.Options = o.scanOptions.Options
	if err := o.watch.Validate(); err != nil {
		return usageError{err}
	}
	if o.watch.Store == "" {
		o.watch.Store = a.defaultStorePath()
	}
	eps, err := a.openAlerts(o.alerts)
	if err != nil {
		return err
	}
	defer eps.Close()
	return watch.Run(ctx, o.watch, watch.Env{
		Seeds: seeds, Alerts: eps, Out: watchOutput{a, o.asJSON},
		Decorate: func(cfg *scan.Config) { a.scanOutput(cfg, o.asJSON) },
		Progress: a.stderr, Logger: a.logger(),
	})
}

// watchOutput prints what a watcher reports.
type watchOutput struct {
	a      *app
	asJSON bool
}

func (w watchOutput) Printf(format string, args ...any) { w.a.msg(format, args...) }

func (w watchOutput) Skipped(s report.Skipped) {
	if w.asJSON {
		_ = report.NewJSON(w.a.stdout).Skipped(s)
	}
}

func (w watchOutput) Finished(f report.Finished) { w.a.finished(f, w.asJSON) }
