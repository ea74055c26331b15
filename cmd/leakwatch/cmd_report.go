package main

import (
	"errors"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/leakwatch/leakwatch/fingerprint"
	"github.com/leakwatch/leakwatch/internal/config"
	"github.com/leakwatch/leakwatch/internal/evidence"
	"github.com/leakwatch/leakwatch/internal/report"
	"github.com/leakwatch/leakwatch/internal/store"
)

// reportOptions are the flags of report.
type reportOptions struct {
	config.Options
	format, output, since string
	identity              string
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

With --evidence DIR --identity FILE each copy kept by the evidence locker
shows a thumbnail, decrypted, checked against the manifest, decoded with the
scan's limits and re-encoded small; without them the report has no pixels.

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
				if o.identity != "" {
					if o.Evidence.Dir == "" {
						return usageError{errNoEvidence}
					}
					thumb, err := thumbnails(o.Evidence.Dir, o.identity, a)
					if err != nil {
						return err
					}
					bo.Thumbnail, bo.Evidence = thumb, o.Evidence.Dir
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
	f.Lookup("evidence").Usage = "evidence folder to take thumbnails from (with --identity)"
	f.StringVar(&o.identity, "identity", "", "age identity file to decrypt thumbnails from the evidence folder")
	f.StringVar(&o.format, "format", "html", "html, csv or json")
	f.StringVarP(&o.output, "output", "o", "", "file to write (default leakwatch-report.FORMAT; - for stdout)")
	f.StringVar(&o.filters.Status, "status", "", "only incidents with this status (new, acknowledged, resolved)")
	f.StringVar(&o.since, "since", "", "only incidents last seen since then: 72h, 14d, 2026-03-01 or an RFC 3339 time")
	f.StringArrayVar(&o.filters.Incidents, "incident", nil, "only this incident (ID or unique prefix; repeatable)")
	return cmd
}

// errNoEvidence is returned by report --identity without --evidence.
var errNoEvidence = errors.New("--identity needs --evidence: the folder to decrypt thumbnails from")

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

// thumbnails returns a lookup of thumbnails by the leaked file's SHA-256,
// decrypted from the evidence folder. An item that cannot be decrypted or
// decoded is reported on stderr and shown without a thumbnail.
func thumbnails(dir, identity string, a *app) (func(string) ([]byte, bool), error) {
	ids, err := evidence.ReadIdentities(identity)
	if err != nil {
		return nil, err
	}
	entries, err := evidence.List(dir)
	if err != nil {
		return nil, err
	}
	bySHA := map[string]evidence.Entry{}
	for _, e := range entries {
		if e.Kind == evidence.KindFile {
			bySHA[e.SHA256] = e
		}
	}
	return func(sha string) ([]byte, bool) {
		e, ok := bySHA[sha]
		if !ok {
			return nil, false
		}
		got, err := evidence.Decrypt(dir, e, ids, maxEvidenceBytes)
		if err == nil {
			var th []byte
			if th, err = report.Thumbnail(got.Item.Payload); err == nil {
				return th, true
			}
		}
		a.Printf("no thumbnail for %s: %v", e.ID, err)
		return nil, false
	}, nil
}
