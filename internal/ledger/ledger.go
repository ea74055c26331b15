package ledger

import (
	"fmt"
	"io"
	"time"

	"github.com/leakwatch/leakwatch/internal/store"
)

// Options check what is read.
type Options struct {
	// Known reports whether the bank holds a capture ID; nil accepts
	// every ID.
	Known func(captureID string) bool
	// Bad is called for each malformed line and each unknown capture ID
	// (wrapping ErrUnknownCapture). Returning an error stops the reading
	// and refuses the whole input; returning nil skips the line.
	Bad func(*LineError) error
	// Now gives today's date for transfers without one.
	Now func() time.Time
}

func (o Options) bad(le *LineError) error {
	if o.Bad == nil {
		return le
	}
	return o.Bad(le)
}

func (o Options) now() time.Time {
	if o.Now == nil {
		return time.Now()
	}
	return o.Now()
}

// Counts sums up an input.
type Counts struct {
	// Captures are distinct capture IDs kept, Duplicates repeated ones,
	// Unknown IDs the bank does not hold, Malformed other bad lines.
	Captures   int `json:"captures"`
	Duplicates int `json:"duplicates"`
	Unknown    int `json:"unknown"`
	Malformed  int `json:"malformed"`
}

// counter tracks the bad lines of one input while passing them on.
type counter struct {
	o Options
	c *Counts
}

func (k counter) bad(le *LineError) error {
	k.c.Malformed++
	return k.o.bad(le)
}

// known checks one ID against the bank.
func (k counter) known(line int, id string) (bool, error) {
	if k.o.Known == nil || k.o.Known(id) {
		return true, nil
	}
	k.c.Unknown++
	return false, k.o.bad(&LineError{Line: line, Err: fmt.Errorf("%w %q", ErrUnknownCapture, id)})
}

// ReadTransfer reads the capture list of one transfer into t's captures,
// checking each ID against the bank, and fills t's date when empty.
func ReadTransfer(r io.Reader, t store.Transfer, o Options) (store.Transfer, Counts, error) {
	var c Counts
	k := counter{o, &c}
	var err error
	if t.ID, err = checkText("transfer ID", t.ID, true); err != nil {
		return t, c, err
	}
	if t.Recipient, err = checkText("recipient", t.Recipient, true); err != nil {
		return t, c, err
	}
	if t.Note, err = checkText("note", t.Note, false); err != nil {
		return t, c, err
	}
	if t.Date, err = CheckDate(t.Date, o.now()); err != nil {
		return t, c, err
	}
	lines, err := ReadCaptureList(r, k.bad)
	if err != nil {
		return t, c, err
	}
	seen := map[string]bool{}
	t.Captures = nil
	for _, l := range lines {
		if seen[l.CaptureID] {
			c.Duplicates++
			continue
		}
		ok, err := k.known(l.Line, l.CaptureID)
		if err != nil {
			return t, c, err
		}
		if ok {
			seen[l.CaptureID] = true
			t.Captures = append(t.Captures, l.CaptureID)
		}
	}
	c.Captures = len(t.Captures)
	if len(t.Captures) == 0 {
		return t, c, fmt.Errorf("transfer %s: no capture IDs to record", t.ID)
	}
	return t, c, nil
}

// ReadRegister reads the CSV export of a data-sharing register: a header
// row, then one row per capture given, with columns transfer_id,
// recipient and capture_id, and optionally date (YYYY-MM-DD) and note;
// other columns are ignored. Rows of one transfer must agree on its
// recipient, date and note. Transfers come out in the order they first
// appear.
func ReadRegister(r io.Reader, o Options) ([]store.Transfer, Counts, error) {
	var c Counts
	k := counter{o, &c}
	byID := map[string]int{}
	seen := map[string]map[string]bool{}
	var out []store.Transfer
	err := readCSV(r, []string{"transfer_id", "recipient", "capture_id"}, func(line int, get func(string) string) error {
		t := store.Transfer{}
		var err error
		if t.ID, err = checkText("transfer_id", get("transfer_id"), true); err == nil {
			if t.Recipient, err = checkText("recipient", get("recipient"), true); err == nil {
				if t.Note, err = checkText("note", get("note"), false); err == nil {
					t.Date, err = CheckDate(get("date"), o.now())
				}
			}
		}
		var id string
		if err == nil {
			id, err = checkID(get("capture_id"))
		}
		if err != nil {
			return k.bad(&LineError{Line: line, Err: err})
		}
		i, ok := byID[t.ID]
		if !ok {
			i = len(out)
			byID[t.ID] = i
			out = append(out, t)
			seen[t.ID] = map[string]bool{}
		}
		if p := out[i]; p.Recipient != t.Recipient || p.Date != t.Date || p.Note != t.Note {
			return k.bad(&LineError{Line: line, Err: fmt.Errorf("transfer %s: recipient, date or note differs from its earlier rows", t.ID)})
		}
		if seen[t.ID][id] {
			c.Duplicates++
			return nil
		}
		known, err := k.known(line, id)
		if err != nil || !known {
			return err
		}
		seen[t.ID][id] = true
		out[i].Captures = append(out[i].Captures, id)
		c.Captures++
		return nil
	}, k.bad)
	if err != nil {
		return nil, c, fmt.Errorf("register: %w", err)
	}
	// A transfer whose every row was skipped has nothing to record.
	kept := out[:0]
	for _, t := range out {
		if len(t.Captures) > 0 {
			kept = append(kept, t)
		}
	}
	return kept, c, nil
}
