package local

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// HashLine is one parsed line of a hash list: HEX[,CAPTURE_ID[,KIND]].
type HashLine struct {
	Line      int
	Hex       string
	CaptureID string
	Kind      string
}

// LineError is a malformed line, reported with its number.
type LineError struct {
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// ReadHashLines reads hash lines from r, calling fn for each. Blank lines
// and lines starting with '#' are skipped. Lines longer than 4 KiB are
// malformed. parse validates the hex; a malformed line is passed to bad and
// the reading goes on unless bad returns an error.
func ReadHashLines(r io.Reader, parse func(string) error, fn func(HashLine) error, bad func(*LineError) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 4096)
	n := 0
	for sc.Scan() {
		n++
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		f := strings.Split(s, ",")
		if len(f) > 3 {
			if err := bad(&LineError{n, fmt.Errorf("want HEX[,CAPTURE_ID[,KIND]], got %d fields", len(f))}); err != nil {
				return err
			}
			continue
		}
		hl := HashLine{Line: n, Hex: strings.ToLower(strings.TrimSpace(f[0]))}
		if len(f) > 1 {
			hl.CaptureID = strings.TrimSpace(f[1])
		}
		if len(f) > 2 {
			hl.Kind = strings.TrimSpace(f[2])
		}
		if err := parse(hl.Hex); err != nil {
			if err := bad(&LineError{n, err}); err != nil {
				return err
			}
			continue
		}
		if err := CheckKind(hl.Kind); err != nil {
			if err := bad(&LineError{n, err}); err != nil {
				return err
			}
			continue
		}
		if err := fn(hl); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		if err == bufio.ErrTooLong {
			return &LineError{n + 1, fmt.Errorf("line longer than 4096 bytes")}
		}
		return err
	}
	return nil
}
