package report

import (
	"fmt"
	"io"
	"strconv"
	"sync"

	"github.com/leakwatch/leakwatch/internal/safetext"
)

// Text writes one tab-separated line per finding: incident ID, capture ID,
// distance, variant, and the URL with the archive entry in brackets.
// Errors, summaries and skipped runs are not data: Text writes nothing for
// them (the caller tells a person on stderr, see Finished.Lines).
type Text struct {
	mu sync.Mutex
	w  io.Writer
}

// NewText returns a text writer on w.
func NewText(w io.Writer) *Text { return &Text{w: w} }

// Finding implements Writer.
func (t *Text) Finding(f Finding) error {
	// URLs recorded by older builds may hold a raw query (see the
	// crawler's escapeQuery).
	where := safetext.Display(f.URL, 0)
	if f.ArchivePath != "" {
		where += " [" + f.ArchivePath + "]"
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	_, err := fmt.Fprintf(t.w, "%s\t%s\t%d\t%s\t%s\n", f.IncidentID, f.CaptureID, f.Distance, f.Variant, where)
	return err
}

// FileMatch writes the match command's lines for one file: "PATH\t-" when
// nothing matched, else one "PATH\tCAPTURE\tALGORITHM\tDISTANCE\tVARIANT"
// line per match. A file that could not be matched writes nothing (the
// caller says why on stderr).
func (t *Text) FileMatch(r FileMatch) error {
	if r.Error != "" {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(r.Matches) == 0 {
		_, err := fmt.Fprintf(t.w, "%s\t-\n", r.Path)
		return err
	}
	for _, m := range r.Matches {
		if _, err := fmt.Fprintf(t.w, "%s\t%s\t%s\t%s\t%s\n", r.Path, m.CaptureID, m.Algorithm, strconv.Itoa(m.Distance), m.Variant); err != nil {
			return err
		}
	}
	return nil
}

// Error implements Writer; it writes nothing.
func (t *Text) Error(Problem) error { return nil }

// Finished implements Writer; it writes nothing.
func (t *Text) Finished(Finished) error { return nil }

// Skipped implements Writer; it writes nothing.
func (t *Text) Skipped(Skipped) error { return nil }
