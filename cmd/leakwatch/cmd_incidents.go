package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/leakwatch/leakwatch/internal/store"
)

func (a *app) incidentsCmd() *cobra.Command {
	var storePath string
	cmd := &cobra.Command{
		Use:   "incidents",
		Short: "List and inspect incidents",
	}
	cmd.PersistentFlags().StringVar(&storePath, "store", "", "SQLite store (default $XDG_DATA_HOME/leakwatch/leakwatch.db)")
	open := func(ctx context.Context) (*store.Store, error) {
		if storePath == "" {
			storePath = a.defaultStorePath()
		}
		return store.Open(ctx, storePath)
	}
	var status string
	var listJSON bool
	list := &cobra.Command{
		Use:   "list [--status new|acknowledged|resolved] [--json]",
		Short: "List incidents, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := open(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			incs, err := st.Incidents(cmd.Context(), status)
			if err != nil {
				return err
			}
			if listJSON {
				for _, inc := range incs {
					inc.Matches = nil
					if err := a.jsonLine(inc); err != nil {
						return err
					}
				}
				return nil
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSTATUS\tCAPTURES\tFIRST SEEN\tLAST SEEN\tSOURCE")
			for _, inc := range incs {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", inc.ID, inc.Status, len(inc.Captures),
					inc.FirstSeen.Format("2006-01-02 15:04"), inc.LastSeen.Format("2006-01-02 15:04"), inc.Source)
			}
			return tw.Flush()
		},
	}
	list.Flags().StringVar(&status, "status", "", "only incidents with this status")
	list.Flags().BoolVar(&listJSON, "json", false, "one JSON object per incident")

	var showJSON bool
	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show one incident with every affected capture and its evidence (an unambiguous ID prefix works)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := open(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			inc, err := st.Incident(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if showJSON {
				return a.jsonLine(inc)
			}
			a.printIncident(inc)
			return nil
		},
	}
	show.Flags().BoolVar(&showJSON, "json", false, "print JSON")
	cmd.AddCommand(list, show)
	return cmd
}

func (a *app) printIncident(inc store.Incident) {
	w := a.stdout
	fmt.Fprintf(w, "incident   %s\nsource     %s\nstatus     %s\nfirst seen %s\nlast seen  %s\ncaptures   %d: %s\n",
		inc.ID, inc.Source, inc.Status, inc.FirstSeen.Format("2006-01-02 15:04:05Z07:00"), inc.LastSeen.Format("2006-01-02 15:04:05Z07:00"),
		len(inc.Captures), strings.Join(inc.Captures, ", "))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CAPTURE\tKIND\tDIST\tVARIANT\tURL\tARCHIVE ENTRY\tSHA-256")
	for _, m := range inc.Matches {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\n", m.CaptureID, m.Kind, m.Distance, m.Variant, m.URL, m.ArchivePath, m.SHA256[:16])
	}
	_ = tw.Flush()
}
