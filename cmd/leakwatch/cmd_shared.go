package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/leakwatch/leakwatch/fingerprint"
	"github.com/leakwatch/leakwatch/internal/config"
	"github.com/leakwatch/leakwatch/internal/metrics"
	"github.com/leakwatch/leakwatch/internal/report"
	"github.com/leakwatch/leakwatch/internal/scan"
	"github.com/leakwatch/leakwatch/internal/store"
	"github.com/leakwatch/leakwatch/internal/watch"
)

func (a *app) enqueueCmd() *cobra.Command {
	var o scan.Options
	cmd := &cobra.Command{
		Use:   "enqueue --store postgres://USER@HOST/DB [scan flags] SEED...",
		Short: "Start a shared run: queue the seeds with this scope and these limits for workers, print the run ID",
		Long: `enqueue starts a run that any number of "leakwatch worker" processes share
through the store (PostgreSQL): the seeds become the run's first work items,
and the scope, depth, limits and --baseline given here hold for every
worker. It prints the run's ID; "leakwatch runs show ID" follows it.`,
		Args: cobra.ArbitraryArgs,
		RunE: a.withSeeds(func(ctx context.Context, seeds []string) error {
			b, err := o.LoadBaseline()
			if err != nil {
				return usageError{err}
			}
			st, err := store.Open(ctx, o.Store)
			if err != nil {
				return err
			}
			defer st.Close()
			id, err := scan.Enqueue(ctx, st, o.Spec(seeds).WithBaseline(b))
			if err != nil {
				return usageError{err}
			}
			fmt.Fprintln(a.stdout, id)
			return nil
		}),
	}
	fl := cmd.Flags()
	config.AddFlags(fl, "enqueue", &o.Options)
	fl.BoolVar(&o.Recrawl, "recrawl", false, "fetch everything again instead of sending conditional requests")
	fl.BoolVar(&o.WholeImageOnly, "whole-image-only", false, "skip the crop, collage and screenshot search")
	return cmd
}

func (a *app) workerCmd() *cobra.Command {
	var o scanOptions
	var w scan.Worker
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "worker --store postgres://USER@HOST/DB --bank PATH [--exit-when-idle] [--tor ...] [--webhook URL]...",
		Short: "Take work items of shared runs from the store until stopped (or idle)",
		Long: `worker claims work items (pages, images, archives) of the runs started by
"leakwatch enqueue" or by "scan --store postgres://...", under a lease it
renews while it works, so a killed worker's items return to the queue when
its lease ends. Per-host parallelism and delay hold across all workers.
It loads the bank at start and again whenever the file changes, records
incidents in the store and delivers alert events (each event by one worker
at a time, always under the same webhook-id). --exit-when-idle stops it
once no shared run is open.

` + exitCodesHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runWorker(cmd.Context(), o, &w, asJSON)
		},
	}
	fl := cmd.Flags()
	config.AddFlags(fl, "worker", &o.Options.Options)
	addSlackFlag(fl, &o.slacks)
	fl.BoolVar(&asJSON, "json", false, "stream findings, errors and each run's summary as JSON lines")
	fl.BoolVar(&w.ExitWhenIdle, "exit-when-idle", false, "exit once no shared run has work left")
	fl.Int64Var(&w.Run, "run", 0, "work on this run only")
	fl.StringVar(&w.ID, "worker-id", "", "this worker's name in leases, \"runs show\" and its metrics (default host:pid:random)")
	fl.DurationVar(&w.Lease, "lease", 30*time.Second, "how long a claimed item stays this worker's without a heartbeat")
	fl.IntVar(&w.Slots, "slots", 0, "work items in flight (default: the number of CPUs, at least 2)")
	return cmd
}

func (a *app) runWorker(ctx context.Context, o scanOptions, w *scan.Worker, asJSON bool) error {
	if err := o.Validate(); err != nil {
		return usageError{err}
	}
	if err := watch.CheckListen(o.Worker.Listen, o.Watch.ListenAny); err != nil {
		return usageError{fmt.Errorf("--worker-listen %w", err)}
	}
	late := torAlerts(o.Tor.Mode)
	eps, err := a.openAlerts(targets(o.Alerts, o.slacks), late)
	if err != nil {
		return err
	}
	defer eps.Close()
	s, err := scan.Open(ctx, o.Options, a.stderr, a.logger())
	if err != nil {
		return err
	}
	defer s.Close()
	if late != nil {
		late.Bind(s.Tor)
	}
	var out scan.Config
	a.scanOutput(&out, asJSON)
	log := a.logger()
	if w.ID == "" {
		w.ID = scan.NewWorkerID()
	}
	if o.Worker.Listen != "off" {
		m := metrics.NewWorker(w.ID, metrics.Options{Version: versionString(), Runtime: true,
			TxRetries: func() float64 { return float64(s.Store.TxRetries()) }})
		mux := http.NewServeMux()
		mux.Handle("/metrics", m.Handler())
		addr, stop, err := metrics.Serve(o.Worker.Listen, mux)
		if err != nil {
			return fmt.Errorf("--worker-listen: %w", err)
		}
		defer stop()
		w.Metrics = m
		a.Printf("worker %s: metrics on http://%s/metrics", w.ID, addr)
	}
	w.Store, w.Bank, w.BankPath, w.Endpoints, w.Logger = s.Store, s.Bank, o.Bank, eps.Keys, log
	w.Tor = s.Tor.Mode().IsTor()
	w.ConfigFor = func(sp scan.RunSpec, bank *fingerprint.Bank) scan.Config {
		cfg := o.ForRun(sp).Config(s.Tor, sp.Seeds, bank, s.Store, eps.Keys, log)
		cfg.OnFinding, cfg.OnError, cfg.OnReview = out.OnFinding, out.OnError, out.OnReview
		return cfg
	}
	sums, dres, err := scan.WorkAndDeliver(ctx, w, a.delivery(eps, o.Alerts.Wait))
	if err != nil {
		return err
	}
	for _, sum := range sums {
		a.finished(report.Finished{Summary: sum, Alerts: &dres}, asJSON)
	}
	if ctx.Err() != nil {
		return codeError{code: exitInterrupted, err: errors.New("interrupted; items in hand return to the queue when their leases end")}
	}
	return nil
}

func (a *app) runsCmd() *cobra.Command {
	var o config.Options
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "List and inspect runs (shared runs: items done, failed and pending, workers, findings)",
	}
	config.AddFlags(cmd.PersistentFlags(), "runs", &o)
	open := storeOpener{&o}
	var limit int
	var asJSON bool
	list := &cobra.Command{
		Use:   "list [--limit N] [--json]",
		Short: "List runs, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return open.with(cmd.Context(), func(st *store.Store) error {
				runs, err := st.Runs(cmd.Context(), limit)
				if err != nil {
					return err
				}
				if asJSON {
					for _, r := range runs {
						if err := a.jsonLine(r); err != nil {
							return err
						}
					}
					return nil
				}
				tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tSTATUS\tDONE\tFAILED\tPENDING\tRUNNING\tWORKERS\tFINDINGS\tSTARTED\tSEEDS")
				for _, r := range runs {
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\n", r.ID, r.Status, shared(r, r.Done), shared(r, r.Failed),
						shared(r, r.Pending), shared(r, r.Running), len(r.Workers), r.Findings, r.StartedAt.Format("2006-01-02 15:04:05"), r.Seeds)
				}
				return tw.Flush()
			})
		},
	}
	list.Flags().IntVar(&limit, "limit", 20, "at most this many runs")
	list.Flags().BoolVar(&asJSON, "json", false, "one JSON object per run")
	show := &cobra.Command{
		Use:   "show ID [--json]",
		Short: "Show one run: state, items by state, workers seen, findings",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				return usagef("run ID %q is not a number", args[0])
			}
			return open.with(cmd.Context(), func(st *store.Store) error {
				r, err := st.Run(cmd.Context(), id)
				if err != nil {
					return err
				}
				if asJSON {
					return a.jsonLine(r)
				}
				fmt.Fprintf(a.stdout, "run %d: %s, started %s", r.ID, r.Status, r.StartedAt.Format(time.RFC3339))
				if !r.FinishedAt.IsZero() {
					fmt.Fprintf(a.stdout, ", finished %s", r.FinishedAt.Format(time.RFC3339))
				}
				fmt.Fprintf(a.stdout, "\nseeds: %s\n", r.Seeds)
				if !r.Shared {
					fmt.Fprintf(a.stdout, "single-process scan; summary: %s\n", r.Summary)
					return nil
				}
				fmt.Fprintf(a.stdout, "items: %d done, %d failed, %d pending, %d running; findings: %d\n", r.Done, r.Failed, r.Pending, r.Running, r.Findings)
				for _, w := range r.Workers {
					fmt.Fprintf(a.stdout, "worker %s: %d items, last seen %s\n", w.Worker, w.Items, w.LastSeen.Format(time.RFC3339))
				}
				return nil
			})
		},
	}
	show.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(list, show)
	return cmd
}

// shared prints an item count, or "-" for a single-process run (no queue).
func shared(r store.RunInfo, n int) string {
	if !r.Shared {
		return "-"
	}
	return strconv.Itoa(n)
}
