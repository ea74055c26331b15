package ledger

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/leakwatch/leakwatch/internal/local"
)

// Line is one capture ID read, with the line it came from.
type Line struct {
	Line      int
	CaptureID string
}

// LineError is a problem with one line of an input (the hash lists'
// type: one way of naming a bad line).
type LineError = local.LineError

// ErrUnknownCapture reports a capture ID the bank does not hold.
var ErrUnknownCapture = errors.New("unknown capture ID")

// Bounds on inputs: operators' files, but exported by other systems.
const (
	maxLineBytes = 64 << 10
	maxIDBytes   = 256
	maxTextBytes = 4096
)

// ReadCaptureList reads the capture IDs of one transfer: either one ID
// per line (blank lines and lines starting with '#' skipped), or a CSV
// file whose header row has a capture_id column. Malformed lines are
// passed to bad; reading stops when bad returns an error.
func ReadCaptureList(r io.Reader, bad func(*LineError) error) ([]Line, error) {
	br := bufio.NewReaderSize(r, maxLineBytes)
	head, err := br.Peek(maxLineBytes)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, err
	}
	first, _, _ := bytes.Cut(head, []byte("\n"))
	if isCSVHeader(string(first)) {
		var out []Line
		err := readCSV(br, []string{"capture_id"}, func(line int, get func(string) string) error {
			id, err := checkID(get("capture_id"))
			if err != nil {
				return bad(&LineError{Line: line, Err: err})
			}
			out = append(out, Line{line, id})
			return nil
		}, bad)
		return out, err
	}
	sc := bufio.NewScanner(br)
	sc.Buffer(make([]byte, 4096), maxLineBytes)
	var out []Line
	for n := 1; sc.Scan(); n++ {
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		id, err := checkID(s)
		if err != nil {
			if err := bad(&LineError{Line: n, Err: err}); err != nil {
				return out, err
			}
			continue
		}
		out = append(out, Line{n, id})
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("read capture list: %w", err)
	}
	return out, nil
}

// isCSVHeader reports whether a first line is a CSV header naming
// capture_id.
func isCSVHeader(line string) bool {
	rec, err := csv.NewReader(strings.NewReader(line)).Read()
	if err != nil {
		return false
	}
	for _, h := range rec {
		if normalise(h) == "capture_id" {
			return true
		}
	}
	return false
}

func normalise(h string) string {
	return strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
}

// checkID accepts a capture ID: non-empty, printable, bounded.
func checkID(s string) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", errors.New("empty capture ID")
	case len(s) > maxIDBytes:
		return "", fmt.Errorf("capture ID longer than %d bytes", maxIDBytes)
	case strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\uFFFD' }):
		return "", errors.New("capture ID with control characters or invalid UTF-8")
	}
	return s, nil
}

// checkText accepts a recipient name, transfer ID or note.
func checkText(what, s string, required bool) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "" && required:
		return "", fmt.Errorf("empty %s", what)
	case len(s) > maxTextBytes:
		return "", fmt.Errorf("%s longer than %d bytes", what, maxTextBytes)
	case strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\uFFFD' }):
		return "", fmt.Errorf("%s with control characters or invalid UTF-8", what)
	}
	return s, nil
}

// CheckDate accepts YYYY-MM-DD ("" means today, from now).
func CheckDate(s string, now time.Time) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return now.UTC().Format(time.DateOnly), nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return "", fmt.Errorf("date %q: want YYYY-MM-DD", s)
	}
	return t.Format(time.DateOnly), nil
}

// readCSV reads a CSV with a header row that must name the required
// columns, calling row for each record with a getter by column name.
func readCSV(r io.Reader, required []string, row func(line int, get func(string) string) error, bad func(*LineError) error) error {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	hdr, err := cr.Read()
	if err != nil {
		return fmt.Errorf("header: %w", err)
	}
	col := map[string]int{}
	for i, h := range hdr {
		if _, dup := col[normalise(h)]; !dup {
			col[normalise(h)] = i
		}
	}
	for _, name := range required {
		if _, ok := col[name]; !ok {
			return fmt.Errorf("header has no %q column", name)
		}
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				if pe.StartLine != pe.Line {
					// A stray quote: the rows up to where it closed were
					// swallowed, and skipping would lose them unseen.
					return fmt.Errorf("line %d: a quoted field runs on to line %d: %w", pe.StartLine, pe.Line, pe.Err)
				}
				if err := bad(&LineError{Line: pe.Line, Err: pe.Err}); err != nil {
					return err
				}
				continue
			}
			return err
		}
		line, _ := cr.FieldPos(0)
		for _, f := range rec {
			if strings.ContainsAny(f, "\r\n") {
				// No ledger value holds a line break: a quote opened and
				// closed rows apart took the rows between with it.
				return fmt.Errorf("line %d: a quoted field runs over several lines (a stray quote?): the rows it spans would be lost", line)
			}
		}
		get := func(name string) string {
			if i, ok := col[name]; ok && i < len(rec) {
				return rec[i]
			}
			return ""
		}
		if err := row(line, get); err != nil {
			return err
		}
	}
}
