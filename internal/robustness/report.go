package robustness

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// WriteTable prints the report as Markdown tables.
func (r Report) WriteTable(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d, %d captures (%d per kind), %.1f PDQ hashes per capture, %s\n\n",
		r.Seed, r.Captures, r.N, r.BankStats.HashesPerCapture, r.Elapsed.Round(1e8))
	sections := []struct {
		title string
		keep  func(Row) bool
	}{
		{"earlier suite", func(r Row) bool { return r.Group == "" }},
		{"edit families, tuned on", func(r Row) bool { return r.Group != "" && !r.Heldout }},
		{"edit families, held out of tuning", func(r Row) bool { return r.Group != "" && r.Heldout }},
	}
	for _, sec := range sections {
		var rows []Row
		for _, row := range r.Rows {
			if sec.keep(row) {
				rows = append(rows, row)
			}
		}
		if len(rows) == 0 {
			continue
		}
		if err := writeRows(&b, sec.title, rows); err != nil {
			return err
		}
	}
	if err := writeKinds(&b, r.Kinds); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(&b, 0, 0, 1, ' ', tabwriter.Debug)
	fmt.Fprintln(tw, "| matched via\t found\t median distance\t 95%\t max\t")
	fmt.Fprintln(tw, "|---\t---\t---\t---\t---\t")
	for _, t := range r.True {
		fmt.Fprintf(tw, "| %s\t %d\t %d\t %d\t %d\t\n", t.Via, t.N, t.P50, t.P95, t.Max)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	n := r.Negatives
	fmt.Fprintf(&b, "\nunrelated queries: %d (%d hard negatives), unhashable %d, false matches %d\n\n",
		n.Queries, n.HardNegatives, n.Unhashable, n.FalseMatches)
	tw = tabwriter.NewWriter(&b, 0, 0, 1, ' ', tabwriter.Debug)
	fmt.Fprintln(tw, "| unrelated queries\t queries\t unhashable\t queries matched\t false matches\t listing a capture for review\t")
	fmt.Fprintln(tw, "|---\t---\t---\t---\t---\t---\t")
	for _, g := range n.Groups {
		fmt.Fprintf(tw, "| %s\t %d\t %d\t %d\t %d\t %d\t\n", g.Name, g.Queries, g.Unhashable, g.MatchedQueries, g.FalseMatches, g.Reviewed)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, e := range n.Examples {
		fmt.Fprintf(&b, "  false match: %s\n", e)
	}
	b.WriteString("\n")
	tw = tabwriter.NewWriter(&b, 0, 0, 1, ' ', tabwriter.Debug)
	fmt.Fprintln(tw, "| comparison\t measured\t per query-capture pair\t min\t 0.1%\t 1%\t mean ± sd\t radius\t within\t P, per-kind normals\t worst kinds\t P, per-kind tail extrapolation\t worst kinds\t read, passed\t")
	fmt.Fprintln(tw, "|---\t---\t---\t---\t---\t---\t---\t---\t---\t---\t---\t---\t---\t---\t")
	for _, c := range r.Distances {
		if c.N == 0 {
			fmt.Fprintf(tw, "| %s\t 0\t -\t -\t -\t -\t -\t %d\t -\t -\t -\t -\t -\t -\t\n", c.Kind, c.Radius)
			continue
		}
		read := "-"
		if c.ReadN > 0 {
			read = fmt.Sprintf("%d, %d", c.ReadN, c.ReadPass)
		}
		fmt.Fprintf(tw, "| %s\t %d\t %.1f\t %d\t %d\t %d\t %.1f ± %.1f\t %d\t %d\t %.1e\t %s\t %.1e\t %s\t %s\t\n",
			c.Kind, c.N, c.PerPair, c.Min, c.P001, c.P01, c.Mean, c.SD, c.Radius, c.Within, c.PRadius, c.Worst, c.PExp, c.WorstExp, read)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(&b, "\nthe estimates multiply each comparison's P by the share of its close unrelated comparisons (within %d bits of the radius) whose reading let the match through, (passed+1)/(read+1), taken as independent of the distance\n", ReadWindow)
	fmt.Fprintf(&b, "estimated false-match rate (per-kind normals): %.1e per query-capture pair, %.1e per query against %.0e captures\n",
		r.Estimate.PerCapture, r.Estimate.PerQuery, r.Estimate.BankSize)
	fmt.Fprintf(&b, "estimated false-match rate (per-kind tail extrapolation): %.1e per query-capture pair, %.1e per query\n",
		r.Estimate.PerCaptureExp, r.Estimate.PerQueryExp)
	fmt.Fprintf(&b, "(one normal fitted to the pooled lower tail: %.1e per pair, %.1e per query)\n",
		r.Estimate.PerCaptureTail, r.Estimate.PerQueryTail)
	fmt.Fprintf(&b, "patch leads per unrelated query against %.0e captures (measured rate): %.0f\n",
		r.Estimate.BankSize, r.Estimate.LeadsPerQuery)
	_, err := io.WriteString(w, b.String())
	return err
}

// writeRows prints one section of the recall table and its pooled recall.
func writeRows(b *strings.Builder, title string, rows []Row) error {
	queries, matched := 0, 0
	for _, row := range rows {
		queries += row.Queries
		matched += row.Matched
	}
	pooled := 0.0
	if queries > 0 {
		pooled = 100 * float64(matched) / float64(queries)
	}
	fmt.Fprintf(b, "%s: %d transforms, %.1f%% found (%d/%d)\n\n", title, len(rows), pooled, matched, queries)
	tw := tabwriter.NewWriter(b, 0, 0, 1, ' ', tabwriter.Debug)
	fmt.Fprintln(tw, "| transform\t target\t recall\t matched\t unhashable\t wrong\t matched via\t missed, for review\t another capture for review\t")
	fmt.Fprintln(tw, "|---\t---\t---\t---\t---\t---\t---\t---\t---\t")
	for _, row := range rows {
		target := "-"
		if row.Target > 0 {
			target = fmt.Sprintf("%.0f%%", 100*row.Target)
		}
		name := row.Transform
		switch {
		case row.Extra:
			name += " (extra)"
		case row.Group != "":
			name = row.Group + ": " + name
		}
		fmt.Fprintf(tw, "| %s\t %s\t %.1f%%%s\t %d/%d\t %d\t %d\t %s\t %d\t %d\t\n", name, target, 100*row.Recall, mark(row),
			row.Matched, row.Queries, row.Unhashable, row.Wrong, viaString(row.Via), row.Reviewed, row.ReviewedOther)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	b.WriteString("\n")
	return nil
}

// writeKinds prints the recall per content kind of capture.
func writeKinds(b *strings.Builder, kinds []KindRecall) error {
	if len(kinds) == 0 {
		return nil
	}
	b.WriteString("recall per kind of capture (where the misses are)\n\n")
	tw := tabwriter.NewWriter(b, 0, 0, 1, ' ', tabwriter.Debug)
	fmt.Fprintln(tw, "| capture kind\t earlier suite\t edit families\t missed in the families\t")
	fmt.Fprintln(tw, "|---\t---\t---\t---\t")
	for _, k := range kinds {
		fmt.Fprintf(tw, "| %s\t %s\t %s\t %d\t\n", k.Kind, percent(k.Matched, k.Queries), percent(k.FamilyMatched, k.FamilyQueries), k.FamilyQueries-k.FamilyMatched)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	b.WriteString("\n")
	return nil
}

func percent(n, d int) string {
	if d == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%% (%d/%d)", 100*float64(n)/float64(d), n, d)
}

// mark flags a row below its target.
func mark(r Row) string {
	if r.Target > 0 && r.Recall < r.Target {
		return " ✗"
	}
	return ""
}

func viaString(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}
