package main

import (
	"github.com/spf13/cobra"

	"github.com/leakwatch/leakwatch/internal/demo"
	"github.com/leakwatch/leakwatch/internal/report"
	"github.com/leakwatch/leakwatch/internal/store"
)

func (a *app) demoCmd() *cobra.Command {
	o := demo.Options{Out: demoOutput{a}}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole pipeline on built-in fixtures, on 127.0.0.1 only",
		Long: `demo generates synthetic agency captures (faces and licence plates), starts a
fixture dump site that leaks altered copies of some of them and a webhook
receiver, both on 127.0.0.1, enrolls the captures into a temporary bank,
records two recipients in the disclosure ledger and issues a canary to one
of them (leaked by a second loopback dump site), scans both sites, and prints
the incidents with their attribution and the signed webhooks received.
It writes the incident report (as leakwatch report does) to report.html in
its work folder and names it at the end. It exits non-zero if a planted leak is missed or anything unrelated
matches. Nothing leaves the machine.

With --tor, demo starts a private Tor network on 127.0.0.1 (five directory
authorities and a client, every torrc with TestingTorNetwork 1 and
DirAuthority lines on 127.0.0.1 only; about 15-30 s), publishes the fixture
site as a v3 onion service and scans the .onion address through Tor.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Stdout, o.Logger = a.stdout, a.logger()
			return demo.Run(cmd.Context(), o)
		},
	}
	cmd.Flags().BoolVar(&o.Tor, "tor", false, "serve the fixture site as an onion service on a private Tor network on 127.0.0.1 (needs Debian's tor) and scan it through Tor")
	cmd.Flags().Uint64Var(&o.Seed, "seed", 1, "fixture seed")
	cmd.Flags().StringVar(&o.Dir, "dir", "", "work directory to keep (default: a temporary one, of which only report.html is left)")
	return cmd
}

// demoOutput prints what the demo reports.
type demoOutput struct{ a *app }

func (d demoOutput) Printf(format string, args ...any) { d.a.Printf(format, args...) }
func (d demoOutput) Finished(f report.Finished)        { d.a.finished(f, false) }
func (d demoOutput) Incident(inc store.Incident)       { d.a.Incident(inc) }
