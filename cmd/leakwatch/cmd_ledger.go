package main

import (
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/leakwatch/leakwatch/fingerprint"
	"github.com/leakwatch/leakwatch/internal/config"
	"github.com/leakwatch/leakwatch/internal/ledger"
	"github.com/leakwatch/leakwatch/internal/report"
	"github.com/leakwatch/leakwatch/internal/store"
)

func (a *app) ledgerCmd() *cobra.Command {
	var o config.Options
	cmd := &cobra.Command{
		Use:   "ledger",
		Short: "Record which captures were given to whom, and see who leaked them",
		Long: `The disclosure ledger records which captures were given to which recipient
(IDs, names, dates and notes; never pixels). Every incident is attributed from
it: see "incidents show". Transfers are history: a transfer recorded in error
is revoked, never rewritten.`,
	}
	config.AddFlags(cmd.PersistentFlags(), "ledger", &o)
	open := storeOpener{&o}
	cmd.AddCommand(a.ledgerAddCmd(open), a.ledgerImportCmd(open), a.ledgerListCmd(open), a.ledgerShowCmd(open),
		a.ledgerRevokeCmd(open), a.ledgerAttributeCmd(open))
	return cmd
}

// ledgerInput are the flags of the commands that read capture IDs.
type ledgerInput struct {
	config.Options
	onError string
	asJSON  bool
}

// options checks the flags and loads the bank the IDs are checked
// against.
func (in *ledgerInput) options(a *app, name string) (ledger.Options, error) {
	if err := requireFlag("bank", in.Bank); err != nil {
		return ledger.Options{}, err
	}
	if in.onError != "skip" && in.onError != "fail" {
		return ledger.Options{}, usagef("--on-error must be skip or fail")
	}
	b, err := fingerprint.LoadBank(in.Bank)
	if err != nil {
		return ledger.Options{}, err
	}
	return ledger.Options{
		Known: func(id string) bool { _, ok := b.Lookup(id); return ok },
		Bad: func(le *ledger.LineError) error {
			a.Printf("%s: %v", name, le)
			if in.onError == "fail" {
				return le
			}
			return nil
		},
	}, nil
}

func (in *ledgerInput) flags(cmd *cobra.Command, command string) {
	config.AddFlags(cmd.Flags(), command, &in.Options)
	cmd.Flags().Lookup("bank").Usage = "bank whose capture IDs a transfer may name"
	cmd.Flags().StringVar(&in.onError, "on-error", "skip", "skip or fail on unknown capture IDs and malformed lines")
	cmd.Flags().BoolVar(&in.asJSON, "json", false, "print the result as JSON")
}

// recordFrom reads transfers from the file name with read, checking the
// capture IDs against the bank, records them in one transaction and
// prints what it did.
func (a *app) recordFrom(cmd *cobra.Command, open storeOpener, in *ledgerInput, name string,
	read func(io.Reader, ledger.Options) ([]store.Transfer, ledger.Counts, error)) error {
	o, err := in.options(a, name)
	if err != nil {
		return err
	}
	r, closeIn, err := openInput(name)
	if err != nil {
		return err
	}
	defer closeIn()
	ts, c, err := read(r, o)
	if err != nil {
		return err
	}
	if len(ts) == 0 {
		return errors.New("no transfers to record")
	}
	return open.with(cmd.Context(), func(st *store.Store) error {
		added, err := st.AddTransfers(cmd.Context(), ts)
		if err != nil {
			return err
		}
		return a.recorded(ts, added, c, in.asJSON)
	})
}

// recorded prints what recording transfers did.
func (a *app) recorded(ts []store.Transfer, added []bool, c ledger.Counts, asJSON bool) error {
	for i, t := range ts {
		status := "recorded"
		if !added[i] {
			status = "unchanged"
		}
		if asJSON {
			if err := a.jsonLine(struct {
				ID        string `json:"transfer_id"`
				Recipient string `json:"recipient"`
				Date      string `json:"date"`
				Captures  int    `json:"captures"`
				Status    string `json:"status"`
			}{t.ID, t.Recipient, t.Date, len(t.Captures), status}); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintf(a.stdout, "%s\t%s\t%s\t%d\t%s\n", t.ID, t.Recipient, t.Date, len(t.Captures), status)
	}
	a.Printf("%d capture IDs, %d duplicates, %d unknown, %d malformed lines skipped", c.Captures, c.Duplicates, c.Unknown, c.Malformed)
	return nil
}

func (a *app) ledgerAddCmd(open storeOpener) *cobra.Command {
	var in ledgerInput
	var t store.Transfer
	cmd := &cobra.Command{
		Use:   "add --recipient NAME --transfer ID [--date YYYY-MM-DD] [--note TEXT] FILE|-",
		Short: "Record one transfer: the capture IDs in FILE given to a recipient",
		Long: `add records that the captures listed in FILE (one capture ID per line, or a CSV
with a capture_id column) were given to a recipient. IDs the bank does not
hold are reported with their line numbers and skipped (--on-error skip, the
default) or refuse the whole transfer (--on-error fail). Recording the same
transfer again changes nothing; the same transfer ID with other contents is
refused (revoke it and record a new transfer).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := requireFlag("recipient", t.Recipient); err != nil {
				return err
			}
			if err := requireFlag("transfer", t.ID); err != nil {
				return err
			}
			return a.recordFrom(cmd, open, &in, args[0], func(r io.Reader, o ledger.Options) ([]store.Transfer, ledger.Counts, error) {
				tr, c, err := ledger.ReadTransfer(r, t, o)
				return []store.Transfer{tr}, c, err
			})
		},
	}
	in.flags(cmd, "ledger add")
	cmd.Flags().StringVar(&t.Recipient, "recipient", "", "who received the captures")
	cmd.Flags().StringVar(&t.ID, "transfer", "", "the transfer's ID (a reference in your data-sharing register)")
	cmd.Flags().StringVar(&t.Date, "date", "", "day of the transfer, YYYY-MM-DD (default today, UTC)")
	cmd.Flags().StringVar(&t.Note, "note", "", "a note (contract, purpose)")
	return cmd
}

func (a *app) ledgerImportCmd(open storeOpener) *cobra.Command {
	var in ledgerInput
	cmd := &cobra.Command{
		Use:   "import FILE|-",
		Short: "Import transfers from a data-sharing register exported as CSV",
		Long: `import reads a CSV export of a data-sharing register: a header row, then one row
per capture given, with the columns transfer_id, recipient and capture_id,
and optionally date (YYYY-MM-DD) and note; other columns are ignored. The
rows of a transfer must agree on its recipient, date and note. Bad rows and
unknown capture IDs are reported with their line numbers and skipped, or
refuse the whole import (--on-error fail). All transfers are recorded in
one transaction; transfers recorded before are left unchanged.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.recordFrom(cmd, open, &in, args[0], ledger.ReadRegister)
		},
	}
	in.flags(cmd, "ledger import")
	return cmd
}

func (a *app) ledgerListCmd(open storeOpener) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list [--json]",
		Short: "List every transfer recorded, revoked ones included",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return open.with(cmd.Context(), func(st *store.Store) error {
				ts, err := st.Transfers(cmd.Context(), "")
				if err != nil {
					return err
				}
				if asJSON {
					return jsonLines(a, ts)
				}
				return a.transferTable(ts)
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object per transfer")
	return cmd
}

func (a *app) transferTable(ts []store.Transfer) error {
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TRANSFER\tRECIPIENT\tDATE\tCAPTURES\tSTATE\tNOTE")
	for _, t := range ts {
		state := "active"
		if t.Revoked != nil {
			state = "revoked " + t.Revoked.At.Format("2006-01-02") + ": " + t.Revoked.Reason
		}
		if t.Canary {
			state += " (canaries)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", t.ID, t.Recipient, t.Date, t.Count, state, t.Note)
	}
	return tw.Flush()
}

func (a *app) ledgerShowCmd(open storeOpener) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show RECIPIENT [--json]",
		Short: "Show what one recipient was given: totals and every transfer",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return open.with(cmd.Context(), func(st *store.Store) error {
				rs, err := st.Recipients(cmd.Context())
				if err != nil {
					return err
				}
				var rec *store.Recipient
				for i := range rs {
					if rs[i].Name == args[0] {
						rec = &rs[i]
					}
				}
				if rec == nil {
					return fmt.Errorf("recipient %q: %w", args[0], store.ErrNotFound)
				}
				ts, err := st.Transfers(cmd.Context(), rec.Name)
				if err != nil {
					return err
				}
				if asJSON {
					return a.jsonLine(struct {
						store.Recipient
						History []store.Transfer `json:"transfers_recorded"`
					}{*rec, ts})
				}
				fmt.Fprintf(a.stdout, "recipient  %s\nholds      %d captures (%d canaries)\ntransfers  %d (%d revoked)\n\n",
					rec.Name, rec.Holds, rec.Canaries, rec.Transfers, rec.Revoked)
				return a.transferTable(ts)
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func (a *app) ledgerRevokeCmd(open storeOpener) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "revoke TRANSFER --reason TEXT",
		Short: "Withdraw a transfer recorded in error (it stays in the history)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := requireFlag("reason", reason); err != nil {
				return err
			}
			return open.with(cmd.Context(), func(st *store.Store) error {
				err := st.RevokeTransfer(cmd.Context(), args[0], reason)
				if errors.Is(err, store.ErrRevoked) {
					a.Printf("transfer %s was already revoked", args[0])
					return nil
				}
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "%s\trevoked\n", args[0])
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why (kept in the history)")
	return cmd
}

func (a *app) ledgerAttributeCmd(open storeOpener) *cobra.Command {
	var run int64
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "attribute [--run N] [--json] [FILE|-]",
		Short: "Attribute the captures found in a run (default the latest), or the capture IDs in FILE",
		Long: `attribute ranks the recipients for a set of leaked captures, as every incident
shows for its own: by default the captures matched in the latest run, across
all its incidents (--run N for run N: a capture seen again in a later run
counts for the later one), or the capture IDs in FILE (one per line, or a CSV
with a capture_id column).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return open.with(cmd.Context(), func(st *store.Store) error {
				var ids []string
				if len(args) == 1 {
					r, closeIn, err := openInput(args[0])
					if err != nil {
						return err
					}
					defer closeIn()
					ls, err := ledger.ReadCaptureList(r, func(le *ledger.LineError) error { return fmt.Errorf("%s: %w", args[0], le) })
					if err != nil {
						return err
					}
					for _, l := range ls {
						ids = append(ids, l.CaptureID)
					}
				} else {
					id, cs, err := st.RunCaptures(cmd.Context(), run)
					if err != nil {
						return err
					}
					a.Printf("run %d: %d captures found", id, len(cs))
					ids = cs
				}
				res, err := st.Attribute(cmd.Context(), ids)
				if err != nil {
					return err
				}
				if res == nil {
					return errors.New("the ledger is empty: record transfers with ledger add or ledger import")
				}
				if asJSON {
					return a.jsonLine(res)
				}
				return report.WriteAttribution(a.stdout, res)
			})
		},
	}
	cmd.Flags().Int64Var(&run, "run", 0, "run ID (default the latest)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
