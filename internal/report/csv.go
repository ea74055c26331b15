package report

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/leakwatch/leakwatch/internal/store"
)

// csvHeader names the columns of CSV: the evidence fields, as in JSON.
var csvHeader = []string{"incident_id", "capture_id", "kind", "url", "page", "archive_path", "sha256", "algorithm", "distance", "quality", "variant"}

// CSV writes findings as rows under a header row, for a spreadsheet.
// Text that comes from dump sites (URLs, archive paths) is defused against
// formula injection (see Defuse). Errors, summaries and skipped runs are
// not rows: CSV writes only the header for them, so even a run that found
// nothing leaves a valid file.
type CSV struct {
	mu     sync.Mutex
	w      *csv.Writer
	header bool
}

// NewCSV returns a CSV writer on w.
func NewCSV(w io.Writer) *CSV { return &CSV{w: csv.NewWriter(w)} }

// Finding implements Writer.
func (c *CSV) Finding(f Finding) error {
	return c.row([]string{f.IncidentID, Defuse(f.CaptureID), f.Kind, Defuse(f.URL), Defuse(f.Page), Defuse(f.ArchivePath), f.SHA256,
		f.Algorithm, strconv.Itoa(f.Distance), strconv.Itoa(f.Quality), f.Variant})
}

// Error implements Writer.
func (c *CSV) Error(Problem) error { return c.row(nil) }

// Finished implements Writer.
func (c *CSV) Finished(Finished) error { return c.row(nil) }

// Skipped implements Writer.
func (c *CSV) Skipped(Skipped) error { return c.row(nil) }

// row writes the header if it is not written yet, then rec unless nil.
func (c *CSV) row(rec []string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.header {
		c.header = true
		_ = c.w.Write(csvHeader)
	}
	if rec != nil {
		_ = c.w.Write(rec)
	}
	c.w.Flush()
	return c.w.Error()
}

// affectedHeader names the columns of WriteAffectedCSV.
var affectedHeader = []string{"incident_id", "capture_id", "kind", "first_seen", "last_seen", "best_distance", "copies", "urls"}

// WriteAffectedCSV writes an incident's affected captures (the people to
// notify) under a header row; a capture's URLs share one cell, separated
// by spaces.
func WriteAffectedCSV(w io.Writer, rows []store.Affected) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(affectedHeader)
	for _, r := range rows {
		_ = cw.Write([]string{r.IncidentID, Defuse(r.CaptureID), r.Kind, r.FirstSeen.Format(time.RFC3339), r.LastSeen.Format(time.RFC3339),
			strconv.Itoa(r.BestDistance), strconv.Itoa(r.Copies), Defuse(strings.Join(r.URLs, " "))})
	}
	cw.Flush()
	return cw.Error()
}

// Defuse keeps a spreadsheet from running a cell as a formula: text from a
// dump site that starts with =, +, -, @, a tab or a carriage return gets a
// leading quote.
func Defuse(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
