package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/leakwatch/leakwatch/internal/canary"
	"github.com/leakwatch/leakwatch/internal/config"
	"github.com/leakwatch/leakwatch/internal/store"
)

func (a *app) canaryCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "canary", Short: "Issue canary captures that name the recipient of a leak"}
	cmd.AddCommand(a.canaryIssueCmd())
	return cmd
}

func (a *app) canaryIssueCmd() *cobra.Command {
	var o config.Options
	var co canary.Options
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "issue --recipient NAME --count N --kind face|plate --out DIR",
		Short: "Make N synthetic captures for one recipient: written to DIR, ledgered, enrolled",
		Long: `issue draws N synthetic, realistic-looking faces or licence plates that belong
to nobody (from secret random seeds, so nobody can draw them again), writes
them to DIR as JPEG files named by their capture IDs, records them in the
ledger as given to the recipient only (a canary transfer), and enrolls them
into the bank marked as canaries. Slip the files into that recipient's next
transfer: a canary found in a leak names the recipient, whatever the rest of
the leak says. Canaries are never exported for notification. Choose
--id-prefix so the IDs look like your own.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireFlag("bank", o.Bank); err != nil {
				return err
			}
			for _, f := range []struct{ name, v string }{{"recipient", co.Recipient}, {"kind", co.Kind}, {"out", co.Out}} {
				if err := requireFlag(f.name, f.v); err != nil {
					return err
				}
			}
			co.Bank = o.Bank
			return storeOpener{&o}.with(cmd.Context(), func(st *store.Store) error {
				issued, t, err := canary.Issue(cmd.Context(), st, co)
				if err != nil {
					return err
				}
				if asJSON {
					if err := jsonLines(a, issued); err != nil {
						return err
					}
				} else {
					for _, c := range issued {
						fmt.Fprintf(a.stdout, "%s\t%s\t%s\n", c.CaptureID, c.Kind, c.Path)
					}
				}
				a.Printf("%d canaries for %s recorded as transfer %s and enrolled into %s", len(issued), t.Recipient, t.ID, o.Bank)
				return nil
			})
		},
	}
	config.AddFlags(cmd.Flags(), "canary issue", &o)
	cmd.Flags().Lookup("bank").Usage = "bank the canaries are enrolled into (created if missing)"
	cmd.Flags().StringVar(&co.Recipient, "recipient", "", "the one recipient these canaries are given to")
	cmd.Flags().IntVar(&co.Count, "count", 1, fmt.Sprintf("how many (1 to %d)", canary.MaxCount))
	cmd.Flags().StringVar(&co.Kind, "kind", "face", "face or plate")
	cmd.Flags().StringVar(&co.Out, "out", "", "directory the images are written to")
	cmd.Flags().StringVar(&co.Transfer, "transfer", "", "ledger transfer ID (default canary-DATE-RANDOM)")
	cmd.Flags().StringVar(&co.Date, "date", "", "day of the transfer, YYYY-MM-DD (default today, UTC)")
	cmd.Flags().StringVar(&co.IDPrefix, "id-prefix", "", "prefix of the capture IDs (then 12 random hex digits)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object per canary")
	return cmd
}
