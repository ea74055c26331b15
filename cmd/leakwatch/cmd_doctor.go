package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/leakwatch/leakwatch/internal/config"
	"github.com/leakwatch/leakwatch/internal/doctor"
	"github.com/leakwatch/leakwatch/internal/store"
	"github.com/leakwatch/leakwatch/internal/tor"
)

// doctorOptions are the flags of doctor.
type doctorOptions struct {
	config.Options
	tor, torrc string
	webhooks   []string
	asJSON     bool
}

func (a *app) doctorCmd() *cobra.Command {
	var o doctorOptions
	cmd := &cobra.Command{
		Use:   "doctor [--bank PATH] [--store PATH] [--tor MODE] [--webhook URL]...",
		Short: "Check Tor, the bank, the store and the alert endpoints, and say how to fix what is wrong",
		Long: `doctor runs every check it can and prints one line per check: ok or FAIL,
what it found, and a hint. It exits 1 if any check failed. It never sends an
alert: webhook endpoints are checked by resolving and connecting to them only.
With --tor in a Tor mode it connects to nothing outside Tor: endpoints are not
checked, and a store that is not on this machine fails unconnected.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runDoctor(cmd.Context(), o) },
	}
	f := cmd.Flags()
	// Only bank and store come from the configuration: doctor checks the
	// Tor and endpoints given here.
	config.AddFlags(f, "doctor", &o.Options)
	f.Lookup("bank").Usage = "bank file to check"
	f.StringVar(&o.tor, "tor", "off", "off, managed or socks5://HOST:PORT")
	f.StringVar(&o.torrc, "torrc", "", "torrc for --tor managed")
	f.StringArrayVar(&o.webhooks, "webhook", nil, "webhook endpoint to check (repeatable)")
	f.BoolVar(&o.asJSON, "json", false, "one JSON object per check")
	return cmd
}

func (a *app) runDoctor(ctx context.Context, o doctorOptions) error {
	cs := []doctor.Check{doctor.Tor(ctx, o.tor, o.torrc, a.progressOut(), a.logger())}
	if o.Bank != "" {
		cs = append(cs, doctor.Bank(o.Bank))
	}
	// In Tor mode doctor connects to nothing outside Tor, as a run; a mode
	// that does not parse (its check fails above) counts as Tor mode.
	m, err := tor.ParseMode(o.tor)
	torMode := err != nil || m.Mode.IsTor()
	if local, lerr := store.OnThisHost(o.Store); torMode && !local {
		detail := store.Redact(o.Store) + ": not on this machine, not connected to in Tor mode"
		if lerr != nil {
			detail = lerr.Error()
		}
		cs = append(cs, doctor.Check{Name: "store", Detail: detail,
			Hint: "in Tor mode the store must be a unix socket, localhost or a loopback address; tunnel a remote PostgreSQL to a loopback port"})
	} else {
		cs = append(cs, doctor.Store(ctx, o.Store)...)
	}
	if len(o.webhooks) > 0 {
		cs = append(cs, doctor.Secret(a.getenv, a.readFile))
		for _, u := range o.webhooks {
			cs = append(cs, doctor.Endpoint(ctx, u, torMode))
		}
	}
	if o.asJSON {
		_ = jsonLines(a, cs)
	} else if err := doctor.WriteText(a.stdout, cs); err != nil {
		return err
	}
	if n := doctor.Failed(cs); n > 0 {
		return fmt.Errorf("%d of %d checks failed", n, len(cs))
	}
	return nil
}
