package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/leakwatch/leakwatch/internal/attribution"
)

// maxListed bounds the capture IDs written in one line of text.
const maxListed = 20

// WriteAttribution writes an attribution for a person: the verdict in one
// sentence, then one row per recipient who received a leaked capture,
// then the leaked captures nobody was given. Nothing is written for nil
// (an empty ledger).
func WriteAttribution(w io.Writer, a *attribution.Result) error {
	if a == nil {
		return nil
	}
	if _, err := fmt.Fprintf(w, "attribution %s\n", a.Summary); err != nil {
		return err
	}
	if len(a.Recipients) > 0 {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  RECIPIENT\tRECEIVED\tONLY THEM\tHOLDS\tCHANCE\tCANARIES")
		for _, s := range a.Recipients {
			fmt.Fprintf(tw, "  %s\t%d of %d\t%d\t%d\t%s\t%d\n", s.Recipient, s.Received, a.Leaked, s.Only, s.Holds, attribution.FormatP(s.Log10P), s.Canaries)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(a.Undisclosed) > 0 {
		if _, err := fmt.Fprintf(w, "  never disclosed: %s\n", listIDs(a.Undisclosed)); err != nil {
			return err
		}
	}
	return nil
}

// AttributionLabel is the verdict in a few words, for a table cell:
// "attributed: Acme", "ambiguous: Acme, Bolt", "never disclosed".
func AttributionLabel(a *attribution.Result) string {
	if a == nil {
		return "-"
	}
	v := strings.ReplaceAll(a.Verdict, "_", " ")
	if len(a.Named) == 0 {
		return v
	}
	return v + ": " + strings.Join(a.Named, ", ")
}

func listIDs(ids []string) string {
	if len(ids) <= maxListed {
		return strings.Join(ids, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(ids[:maxListed], ", "), len(ids)-maxListed)
}
