package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/leakwatch/leakwatch/internal/config"
	"github.com/leakwatch/leakwatch/internal/report"
	"github.com/leakwatch/leakwatch/internal/safetext"
	"github.com/leakwatch/leakwatch/internal/store"
)

// storeOpener opens the store a command's --store flag names.
type storeOpener struct{ o *config.Options }

// with opens the store, runs fn and closes the store.
func (s storeOpener) with(ctx context.Context, fn func(*store.Store) error) error {
	st, err := store.Open(ctx, s.o.Store)
	if err != nil {
		return err
	}
	defer st.Close()
	return fn(st)
}

func (a *app) incidentsCmd() *cobra.Command {
	var o config.Options
	cmd := &cobra.Command{
		Use:   "incidents",
		Short: "List and inspect incidents",
	}
	config.AddFlags(cmd.PersistentFlags(), "incidents", &o)
	open := storeOpener{&o}
	cmd.AddCommand(a.incidentsListCmd(open), a.incidentsShowCmd(open),
		a.incidentsStatusCmd(open, "ack", store.StatusAcknowledged, "Acknowledge incidents: they stay open; growth still alerts"),
		a.incidentsStatusCmd(open, "resolve", store.StatusResolved, "Resolve incidents: a re-appearance alerts again"),
		a.incidentsStatusCmd(open, "reopen", store.StatusNew, "Reopen incidents (a dismissed one's matches may alert again)"),
		a.incidentsDismissCmd(open),
		a.incidentsExportCmd(open))
	return cmd
}

func (a *app) incidentsListCmd(open storeOpener) *cobra.Command {
	var status string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list [--status new|acknowledged|resolved|dismissed] [--json]",
		Short: "List incidents, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return open.with(cmd.Context(), func(st *store.Store) error {
				incs, err := st.Incidents(cmd.Context(), status)
				if err != nil {
					return err
				}
				if asJSON {
					for _, inc := range incs {
						inc.Matches = nil
						if err := a.jsonLine(inc); err != nil {
							return err
						}
					}
					return nil
				}
				// The attribution column appears once the ledger has a
				// transfer.
				ledger := slices.ContainsFunc(incs, func(inc store.Incident) bool { return inc.Attribution != nil })
				tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				hdr := "ID\tSTATUS\tCAPTURES\tFIRST SEEN\tLAST SEEN\tSOURCE"
				if ledger {
					hdr += "\tATTRIBUTION"
				}
				fmt.Fprintln(tw, hdr)
				for _, inc := range incs {
					fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s", inc.ID, inc.Status, len(inc.Captures),
						inc.FirstSeen.Format("2006-01-02 15:04"), inc.LastSeen.Format("2006-01-02 15:04"), inc.Source)
					if ledger {
						fmt.Fprintf(tw, "\t%s", report.AttributionLabel(inc.Attribution))
					}
					fmt.Fprintln(tw)
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().StringVar(&status, "status", "", "only incidents with this status")
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object per incident")
	return cmd
}

func (a *app) incidentsShowCmd(open storeOpener) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show one incident with every affected capture and its evidence (an unambiguous ID prefix works)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return open.with(cmd.Context(), func(st *store.Store) error {
				inc, err := st.Incident(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				if asJSON {
					return a.jsonLine(inc)
				}
				a.Incident(inc)
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func (a *app) incidentsStatusCmd(open storeOpener, use, status, short string) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   use + " ID...",
		Short: short,
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return open.with(cmd.Context(), func(st *store.Store) error {
				for _, id := range args {
					inc, err := st.SetStatus(cmd.Context(), id, status)
					if err != nil {
						return err
					}
					if asJSON {
						inc.Matches = nil
						if err := a.jsonLine(inc); err != nil {
							return err
						}
						continue
					}
					fmt.Fprintf(a.stdout, "%s\t%s\n", inc.ID, inc.Status)
				}
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func (a *app) incidentsDismissCmd(open storeOpener) *cobra.Command {
	var reason string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "dismiss ID... --reason TEXT",
		Short: "Dismiss incidents as false positives: their (capture, leaked file) pairs never alert again",
		Long: `dismiss marks incidents as false positives (status dismissed) and records why.
Every (capture, leaked file) pair they hold is silenced for good, at this
source and any other: later scans neither record nor alert them. A new
leaked file of the same capture still raises or re-opens an incident.
"incidents reopen" takes a dismissal back.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if strings.TrimSpace(reason) == "" {
				return usagef("--reason is required: say why the match is wrong")
			}
			return open.with(cmd.Context(), func(st *store.Store) error {
				for _, id := range args {
					inc, err := st.Dismiss(cmd.Context(), id, reason)
					if err != nil {
						return err
					}
					if asJSON {
						inc.Matches = nil
						if err := a.jsonLine(inc); err != nil {
							return err
						}
						continue
					}
					fmt.Fprintf(a.stdout, "%s\t%s\n", inc.ID, inc.Status)
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why the match is wrong (required; kept with the incident)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func (a *app) incidentsExportCmd(open storeOpener) *cobra.Command {
	var format, output string
	cmd := &cobra.Command{
		Use:   "export ID [--format csv|json] [--output FILE]",
		Short: "Export the affected captures of an incident, to notify the people concerned",
		Long: `export writes one row per affected capture with its kind, when and where it was
first and last seen, and the best match distance. CSV (default) has a header
row; JSON is one object per capture per line.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "csv" && format != "json" {
				return usagef("--format must be csv or json")
			}
			return open.with(cmd.Context(), func(st *store.Store) error {
				inc, err := st.Incident(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				if output != "" && output != "-" {
					// A new 0600 file renamed over the old one: a symlink
					// planted at the path is refused, not followed.
					return report.SaveFile(output, func(w io.Writer) error { return writeExport(w, inc, format) })
				}
				return writeExport(a.stdout, inc, format)
			})
		},
	}
	cmd.Flags().StringVar(&format, "format", "csv", "csv or json")
	cmd.Flags().StringVarP(&output, "output", "o", "", "file to write (default stdout): a new file with mode 0600 renamed into place; a symbolic link or non-regular file is refused")
	return cmd
}

func writeExport(w io.Writer, inc store.Incident, format string) error {
	if format == "json" {
		return report.WriteAffectedJSON(w, inc.Affected())
	}
	return report.WriteAffectedCSV(w, inc.Affected())
}

// Incident prints an incident with its evidence.
func (a *app) Incident(inc store.Incident) {
	w := a.stdout
	status := inc.Status
	if inc.Reason != "" {
		status += " (" + inc.Reason + ")"
	}
	fmt.Fprintf(w, "incident   %s\nsource     %s\nstatus     %s\nfirst seen %s\nlast seen  %s\ncaptures   %d: %s\n",
		inc.ID, inc.Source, status, inc.FirstSeen.Format("2006-01-02 15:04:05Z07:00"), inc.LastSeen.Format("2006-01-02 15:04:05Z07:00"),
		len(inc.Captures), strings.Join(inc.Captures, ", "))
	if len(inc.Canaries) > 0 {
		fmt.Fprintf(w, "canaries   %s (synthetic: nobody to notify)\n", strings.Join(inc.Canaries, ", "))
	}
	_ = report.WriteAttribution(w, inc.Attribution)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CAPTURE\tKIND\tDIST\tVARIANT\tURL\tARCHIVE ENTRY\tSHA-256")
	for _, m := range inc.Matches {
		id := m.CaptureID
		if m.Dismissed {
			id += " (dismissed)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\n", id, m.Kind, m.Distance, m.Variant, safetext.Display(m.URL, 0), m.ArchivePath, m.SHA256[:16])
	}
	_ = tw.Flush()
}
