package main

import (
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/leakwatch/leakwatch/fingerprint"
	"github.com/leakwatch/leakwatch/internal/config"
	"github.com/leakwatch/leakwatch/internal/report"
	"github.com/leakwatch/leakwatch/internal/store"
)

// reportOptions are the flags of report.
type reportOptions struct {
	config.Options
	format, output, since string
	filters               report.Filters
}

func (a *app) reportCmd() *cobra.Command {
	var o reportOptions
	cmd := &cobra.Command{
		Use:   "report [--format html|csv|json] [-o FILE|-] [--status S] [--since T] [--incident ID]...",
		Short: "Write an incident report for the people who act on a leak (one self-contained HTML file, or CSV/JSON)",
		Long: `report writes every incident the filters keep: its status and timeline (alerts
and their delivery), per source the affected captures with their kind and
manifest metadata (from --bank), and the evidence of each copy (URL, archive
entry, SHA-256, route, distance or inliers, first and last seen), with totals
and the filters used. The HTML page needs nothing else to open: inline CSS,
no script, no external resource; dump-site addresses are text, not links.
CSV has one row per copy; JSON is one object.

The file (default leakwatch-report.html, .csv or .json) is written with mode
0600 through a temporary file and a rename; a symbolic link is refused.
-o - writes to stdout.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.format != "html" && o.format != "csv" && o.format != "json" {
				return usagef("--format must be html, csv or json")
			}
			if o.since != "" {
				t, err := report.ParseSince(o.since, time.Now())
				if err != nil {
					return usagef("--since: %v", err)
				}
				o.filters.Since = t
			}
			return storeOpener{&o.Options}.with(cmd.Context(), func(st *store.Store) error {
				bo := report.BuildOptions{Filters: o.filters, Now: time.Now(), Store: o.Store, Bank: o.Bank}
				if o.Bank != "" {
					b, err := fingerprint.LoadBank(o.Bank)
					if err != nil {
						return err
					}
					bo.Capture = b.Lookup
				}
				doc, err := report.Build(cmd.Context(), st, bo)
				if err != nil {
					return err
				}
				return a.writeReport(o, doc)
			})
		},
	}
	f := cmd.Flags()
	config.AddFlags(f, "report", &o.Options)
	f.Lookup("bank").Usage = "bank file for the captures' kind, source and manifest metadata (optional)"
	f.StringVar(&o.format, "format", "html", "html, csv or json")
	f.StringVarP(&o.output, "output", "o", "", "file to write (default leakwatch-report.FORMAT; - for stdout)")
	f.StringVar(&o.filters.Status, "status", "", "only incidents with this status (new, acknowledged, resolved)")
	f.StringVar(&o.since, "since", "", "only incidents last seen since then: 72h, 14d, 2026-03-01 or an RFC 3339 time")
	f.StringArrayVar(&o.filters.Incidents, "incident", nil, "only this incident (ID or unique prefix; repeatable)")
	return cmd
}

// writeReport renders doc in the chosen format to stdout or a file.
func (a *app) writeReport(o reportOptions, doc report.Document) error {
	write := func(w io.Writer) error {
		switch o.format {
		case "csv":
			return report.WriteDocumentCSV(w, doc)
		case "json":
			return report.WriteDocumentJSON(w, doc)
		}
		return report.WriteHTML(w, doc)
	}
	if o.output == "-" {
		return write(a.stdout)
	}
	path := o.output
	if path == "" {
		path = "leakwatch-report." + o.format
	}
	if err := report.SaveFile(path, write); err != nil {
		return err
	}
	a.Printf("report: %d incidents, %d copies written to %s", doc.Totals.Incidents, doc.Totals.Copies, path)
	return nil
}
