package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/leakwatch/leakwatch/alerts"
	"github.com/leakwatch/leakwatch/internal/config"
	"github.com/leakwatch/leakwatch/internal/store"
	"github.com/leakwatch/leakwatch/internal/tor"
)

// addSlackFlag defines --slack-webhook, which takes Slack URLs: they are
// credentials, so no configuration key or variable holds them.
func addSlackFlag(fl *pflag.FlagSet, slacks *[]string) {
	fl.StringArrayVar(slacks, "slack-webhook", nil, "Slack incoming webhook URL (repeatable; treat it as a secret)")
}

// targets are the alert endpoints named by the alert settings and
// --slack-webhook.
func targets(s config.Alerts, slacks []string) alerts.Targets {
	return alerts.Targets{Webhooks: s.Webhooks, Slacks: slacks, SlackFiles: s.SlackURLFiles, LogFile: s.LogFile}
}

// openAlerts builds the alert endpoints, keyed for the outbox. Keys hash
// the URL, so a Slack URL (a credential) is never stored or printed. A
// non-nil late carries their requests (Tor mode, torAlerts).
func (a *app) openAlerts(t alerts.Targets, late *tor.Pending) (alerts.Endpoints, error) {
	env := alerts.Env{Getenv: a.getenv, ReadFile: a.readFile, Stdout: a.stdout, Logger: a.logger()}
	if late != nil {
		env.Transport = late
	}
	return alerts.Open(t, env)
}

// torAlerts is the alert endpoints' transport for a run in Tor mode
// (nil otherwise): the endpoints are opened before the run starts its
// tor, so their requests are refused until the run binds its Client, and
// then go through Tor like every other connection. A mode that does not
// parse gets one too: that run fails before it sends anything.
func torAlerts(mode string) *tor.Pending {
	if c, err := tor.ParseMode(mode); err == nil && !c.Mode.IsTor() {
		return nil
	}
	return &tor.Pending{}
}

func (a *app) alertsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "alerts",
		Short: "Test alert endpoints and inspect or repair alert delivery",
		Long: `Alerts are queued in the store's outbox in the same transaction as the
incident change they announce, then delivered at least once with a stable
webhook-id per event. An endpoint that answers 410 Gone is disabled until
"leakwatch alerts enable"; other 4xx answers give the delivery up; 5xx,
408, 429 and network errors are retried with exponential backoff and jitter
for up to 72 hours.`,
	}
	cmd.AddCommand(a.alertsTestCmd(), a.alertsEndpointsCmd(), a.alertsEnableCmd(), a.alertsListCmd())
	return cmd
}

func (a *app) alertsTestCmd() *cobra.Command {
	var o config.Options
	var slacks []string
	var asJSON bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "test [--webhook URL]... [--slack-webhook-file PATH]... [--alert-log PATH] [--json]",
		Short: "Send one signed test event to every configured endpoint",
		Long: `test sends a "test" event straight to each endpoint (flags or configuration
file), one attempt each, bypassing the outbox, and reports what each one
answered. Webhooks are signed with the secret from LEAKWATCH_WEBHOOK_SECRET
or LEAKWATCH_WEBHOOK_SECRET_FILE, so a receiver that verifies signatures
proves the secret matches. Exits 1 if any endpoint failed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runAlertsTest(cmd.Context(), targets(o.Alerts, slacks), timeout, asJSON)
		},
	}
	fl := cmd.Flags()
	config.AddFlags(fl, "alerts test", &o)
	addSlackFlag(fl, &slacks)
	fl.DurationVar(&timeout, "timeout", alerts.DefaultTimeout, "time limit per endpoint")
	fl.BoolVar(&asJSON, "json", false, "one JSON object per endpoint")
	return cmd
}

func (a *app) runAlertsTest(ctx context.Context, t alerts.Targets, timeout time.Duration, asJSON bool) error {
	if t.Empty() {
		return usagef("no alert endpoints: give --webhook, --slack-webhook-file or --alert-log, or set alerts in the configuration file")
	}
	eps, err := a.openAlerts(t, nil)
	if err != nil {
		return err
	}
	defer eps.Close()
	failed := 0
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	if !asJSON {
		fmt.Fprintln(tw, "ENDPOINT\tNAME\tRESULT")
	}
	err = alerts.Probe(ctx, eps, alerts.NewTestEvent(time.Now()), timeout, func(r alerts.ProbeResult) error {
		if !r.OK {
			failed++
		}
		if asJSON {
			return a.jsonLine(r)
		}
		res := "ok"
		if !r.OK {
			res = r.Class + ": " + r.Error
		}
		_, err := fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Endpoint, r.Name, res)
		return err
	})
	if err != nil {
		return err
	}
	if !asJSON {
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d endpoints failed the test", failed, len(eps.Keys))
	}
	return nil
}

// storeFlag adds --store to an alerts subcommand and returns an opener.
func (a *app) storeFlag(cmd *cobra.Command, command string) storeOpener {
	var o config.Options
	config.AddFlags(cmd.Flags(), command, &o)
	return storeOpener{&o}
}

func (a *app) alertsEndpointsCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "endpoints [--store PATH] [--json]",
		Short: "List alert endpoints with their delivery state",
		Args:  cobra.NoArgs,
	}
	open := a.storeFlag(cmd, "alerts endpoints")
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object per endpoint")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return open.with(cmd.Context(), func(st *store.Store) error {
			eps, err := st.Endpoints(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return jsonLines(a, eps)
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ENDPOINT\tNAME\tSTATE\tPENDING\tDELIVERED\tFAILED\tLAST ERROR")
			for _, e := range eps {
				state := "enabled"
				if e.Disabled {
					state = "disabled"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%s\n", e.Key, e.Name, state, e.Pending, e.Delivered, e.Failed, e.LastError)
			}
			return tw.Flush()
		})
	}
	return cmd
}

func (a *app) alertsEnableCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "enable [--store PATH] ENDPOINT...",
		Short: "Re-enable endpoints disabled after answering 410 Gone; their pending alerts become due at once",
		Long: `enable clears the disabled state of each endpoint (keys as listed by
"leakwatch alerts endpoints") and makes its pending deliveries due now, so
the next scan or the running watcher sends them (events older than the
72-hour maximum age are given up instead).`,
		Args: cobra.MinimumNArgs(1),
	}
	open := a.storeFlag(cmd, "alerts enable")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return open.with(cmd.Context(), func(st *store.Store) error {
			for _, k := range args {
				was, err := st.EnableEndpoint(cmd.Context(), k)
				if err != nil {
					return err
				}
				if asJSON {
					if err := a.jsonLine(struct {
						Endpoint    string `json:"endpoint"`
						WasDisabled bool   `json:"was_disabled"`
					}{k, was}); err != nil {
						return err
					}
					continue
				}
				state := "enabled"
				if !was {
					state = "enabled (was not disabled)"
				}
				fmt.Fprintf(a.stdout, "%s\t%s\n", k, state)
			}
			return nil
		})
	}
	return cmd
}

func (a *app) alertsListCmd() *cobra.Command {
	var status string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list [--store PATH] [--status pending|delivered|failed] [--json]",
		Short: "List alert deliveries from the outbox, oldest first",
		Args:  cobra.NoArgs,
	}
	open := a.storeFlag(cmd, "alerts list")
	cmd.Flags().StringVar(&status, "status", "", "only deliveries in this state")
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object per delivery")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		switch status {
		case "", store.DeliveryPending, store.DeliveryDelivered, store.DeliveryFailed:
		default:
			return usagef("--status must be pending, delivered or failed")
		}
		return open.with(cmd.Context(), func(st *store.Store) error {
			ds, err := st.Deliveries(cmd.Context(), status)
			if err != nil {
				return err
			}
			if asJSON {
				return jsonLines(a, ds)
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "EVENT\tTYPE\tENDPOINT\tSTATUS\tATTEMPTS\tCREATED\tLAST ERROR")
			for _, d := range ds {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", d.EventID, d.Type, d.Endpoint, d.Status, d.Attempts,
					d.CreatedAt.Format(time.RFC3339), d.LastError)
			}
			return tw.Flush()
		})
	}
	return cmd
}
