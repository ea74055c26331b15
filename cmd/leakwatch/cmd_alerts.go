package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/leakwatch/leakwatch/alerts"
	"github.com/leakwatch/leakwatch/internal/outbox"
	"github.com/leakwatch/leakwatch/internal/store"
)

// maxSlackURLFile bounds a file holding one Slack URL.
const maxSlackURLFile = 4 << 10

// alertTargets are the alert endpoints named on the command line or in
// the configuration.
type alertTargets struct {
	webhooks, slacks, slackFiles []string
	logFile                      string
}

func (t alertTargets) empty() bool {
	return len(t.webhooks)+len(t.slacks)+len(t.slackFiles) == 0 && t.logFile == ""
}

func (f *scanFlags) alertTargets() alertTargets {
	return alertTargets{webhooks: f.webhooks, slacks: f.slacks, slackFiles: f.slackFiles, logFile: f.alertLog}
}

// registerAlerts defines the alert endpoint flags that are not in the
// original scan flag set.
func (f *scanFlags) registerAlerts(fl *pflag.FlagSet) {
	fl.StringArrayVar(&f.slackFiles, "slack-webhook-file", nil, "file holding a Slack incoming webhook URL (repeatable; keeps the URL out of process listings)")
	fl.StringVar(&f.alertLog, "alert-log", "", "also append every alert event as a JSON line to this file (- for stdout)")
}

// notifiers builds the alert endpoints, keyed for the outbox. Keys hash
// the URL, so a Slack URL (a credential) is never stored or printed.
func (a *app) notifiers(t alertTargets) (map[string]alerts.Notifier, []string, error) {
	out := map[string]alerts.Notifier{}
	var keys []string
	add := func(k string, n alerts.Notifier) {
		if _, dup := out[k]; !dup {
			keys = append(keys, k)
		}
		out[k] = n
	}
	if len(t.webhooks) > 0 {
		sec, ok, err := alerts.SecretFromEnv(a.getenv, a.readFile)
		if err != nil {
			return nil, nil, usageError{err}
		}
		if !ok {
			return nil, nil, usagef("--webhook needs a signing secret in LEAKWATCH_WEBHOOK_SECRET or LEAKWATCH_WEBHOOK_SECRET_FILE")
		}
		for _, u := range t.webhooks {
			n, err := alerts.NewWebhook(u, sec, alerts.WithLogger(a.logger()))
			if err != nil {
				return nil, nil, usageError{err}
			}
			add(outbox.EndpointKey("webhook", u), n)
		}
	}
	slacks := append([]string(nil), t.slacks...)
	for _, p := range t.slackFiles {
		u, err := a.readSlackURL(p)
		if err != nil {
			return nil, nil, err
		}
		slacks = append(slacks, u)
	}
	for _, u := range slacks {
		n, err := alerts.NewSlack(u, alerts.WithLogger(a.logger()))
		if err != nil {
			return nil, nil, usageError{err}
		}
		add(outbox.EndpointKey("slack", u), n)
	}
	if t.logFile != "" {
		n, key, err := a.logSink(t.logFile)
		if err != nil {
			return nil, nil, err
		}
		add(key, n)
	}
	return out, keys, nil
}

// readSlackURL reads one URL from a file. Errors name the file, never its
// content.
func (a *app) readSlackURL(path string) (string, error) {
	b, err := a.readFile(path)
	if err != nil {
		return "", usagef("--slack-webhook-file: %v", err)
	}
	if len(b) > maxSlackURLFile {
		return "", usagef("--slack-webhook-file %s: %d bytes is too large for a URL", path, len(b))
	}
	u := strings.TrimSpace(string(b))
	if u == "" || strings.ContainsAny(u, "\r\n") {
		return "", usagef("--slack-webhook-file %s must hold exactly one URL", path)
	}
	return u, nil
}

// fileSink is a LogSink on a file it owns.
type fileSink struct {
	*alerts.LogSink
	c io.Closer
}

func (s fileSink) Close() error { return s.c.Close() }

var _ alerts.Notifier = fileSink{}

func (a *app) logSink(path string) (alerts.Notifier, string, error) {
	if path == "-" {
		return alerts.NewLogSink(a.stdout), outbox.EndpointKey("log", "-"), nil
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, "", err
	}
	f, err := os.OpenFile(abs, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, "", fmt.Errorf("--alert-log: %w", err)
	}
	return fileSink{LogSink: alerts.NewLogSink(f), c: f}, outbox.EndpointKey("log", abs), nil
}

// closeNotifiers closes the notifiers that hold files.
func closeNotifiers(ns map[string]alerts.Notifier) {
	for _, n := range ns {
		if c, ok := n.(io.Closer); ok {
			_ = c.Close()
		}
	}
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

// testResult is one line of "alerts test".
type testResult struct {
	Endpoint string `json:"endpoint"`
	Name     string `json:"name"`
	EventID  string `json:"event_id"`
	OK       bool   `json:"ok"`
	Class    string `json:"class,omitempty"`
	Error    string `json:"error,omitempty"`
}

func (a *app) alertsTestCmd() *cobra.Command {
	var f scanFlags
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
		Args:        cobra.NoArgs,
		Annotations: map[string]string{configAnnotation: configAll},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runAlertsTest(cmd.Context(), f.alertTargets(), timeout, asJSON)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&f.webhooks, "webhook", nil, "Standard Webhooks endpoint URL (repeatable)")
	fl.StringArrayVar(&f.slacks, "slack-webhook", nil, "Slack incoming webhook URL (repeatable; treat it as a secret)")
	f.registerAlerts(fl)
	fl.DurationVar(&timeout, "timeout", alerts.DefaultTimeout, "time limit per endpoint")
	fl.BoolVar(&asJSON, "json", false, "one JSON object per endpoint")
	return cmd
}

func (a *app) runAlertsTest(ctx context.Context, t alertTargets, timeout time.Duration, asJSON bool) error {
	if t.empty() {
		return usagef("no alert endpoints: give --webhook, --slack-webhook-file or --alert-log, or set alerts in the configuration file")
	}
	ns, keys, err := a.notifiers(t)
	if err != nil {
		return err
	}
	defer closeNotifiers(ns)
	ev := alerts.NewTestEvent(time.Now())
	failed := 0
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	if !asJSON {
		fmt.Fprintln(tw, "ENDPOINT\tNAME\tRESULT")
	}
	for _, k := range keys {
		n := ns[k]
		actx, cancel := context.WithTimeout(ctx, timeout)
		err := n.Notify(actx, ev)
		cancel()
		r := testResult{Endpoint: k, Name: n.Name(), EventID: ev.ID, OK: err == nil}
		if err != nil {
			failed++
			r.Class, r.Error = deliveryClass(err), err.Error()
		}
		if asJSON {
			if err := a.jsonLine(r); err != nil {
				return err
			}
			continue
		}
		res := "ok"
		if !r.OK {
			res = r.Class + ": " + r.Error
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Endpoint, r.Name, res)
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
		return fmt.Errorf("%d of %d endpoints failed the test", failed, len(keys))
	}
	return nil
}

// deliveryClass names how the outbox would treat a delivery error.
func deliveryClass(err error) string {
	var re *alerts.RetryableError
	switch {
	case errors.Is(err, alerts.ErrGone):
		return "gone (would disable the endpoint)"
	case errors.Is(err, alerts.ErrPermanent):
		return "permanent (would not be retried)"
	case errors.As(err, &re):
		return "retryable"
	}
	return "failed"
}

// storeFlag adds --store to an alerts subcommand and returns an opener.
func (a *app) storeFlag(cmd *cobra.Command) func(context.Context) (*store.Store, error) {
	var path string
	cmd.Flags().StringVar(&path, "store", "", "SQLite store (default $XDG_DATA_HOME/leakwatch/leakwatch.db)")
	return func(ctx context.Context) (*store.Store, error) {
		if path == "" {
			path = a.defaultStorePath()
		}
		return store.Open(ctx, path)
	}
}

func (a *app) alertsEndpointsCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:         "endpoints [--store PATH] [--json]",
		Short:       "List alert endpoints with their delivery state",
		Args:        cobra.NoArgs,
		Annotations: map[string]string{configAnnotation: configAll},
	}
	open := a.storeFlag(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object per endpoint")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		st, err := open(cmd.Context())
		if err != nil {
			return err
		}
		defer st.Close()
		eps, err := st.Endpoints(cmd.Context())
		if err != nil {
			return err
		}
		if asJSON {
			for _, e := range eps {
				if err := a.jsonLine(e); err != nil {
					return err
				}
			}
			return nil
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
		Args:        cobra.MinimumNArgs(1),
		Annotations: map[string]string{configAnnotation: configAll},
	}
	open := a.storeFlag(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		st, err := open(cmd.Context())
		if err != nil {
			return err
		}
		defer st.Close()
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
	}
	return cmd
}

func (a *app) alertsListCmd() *cobra.Command {
	var status string
	var asJSON bool
	cmd := &cobra.Command{
		Use:         "list [--store PATH] [--status pending|delivered|failed] [--json]",
		Short:       "List alert deliveries from the outbox, oldest first",
		Args:        cobra.NoArgs,
		Annotations: map[string]string{configAnnotation: configAll},
	}
	open := a.storeFlag(cmd)
	cmd.Flags().StringVar(&status, "status", "", "only deliveries in this state")
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object per delivery")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		switch status {
		case "", store.DeliveryPending, store.DeliveryDelivered, store.DeliveryFailed:
		default:
			return usagef("--status must be pending, delivered or failed")
		}
		st, err := open(cmd.Context())
		if err != nil {
			return err
		}
		defer st.Close()
		ds, err := st.Deliveries(cmd.Context(), status)
		if err != nil {
			return err
		}
		if asJSON {
			for _, d := range ds {
				if err := a.jsonLine(d); err != nil {
					return err
				}
			}
			return nil
		}
		tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "EVENT\tTYPE\tENDPOINT\tSTATUS\tATTEMPTS\tCREATED\tLAST ERROR")
		for _, d := range ds {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", d.EventID, d.Type, d.Endpoint, d.Status, d.Attempts,
				d.CreatedAt.Format(time.RFC3339), d.LastError)
		}
		return tw.Flush()
	}
	return cmd
}
