package report

import (
	"encoding/json"
	"io"
	"sync"

	"github.com/leakwatch/leakwatch/internal/store"
)

// JSON writes every message as one JSON object per line, its kind in
// "type". Other tools parse these lines: field names and order are part of
// the CLI contract.
type JSON struct {
	mu sync.Mutex
	w  io.Writer
}

// NewJSON returns a JSON-lines writer on w.
func NewJSON(w io.Writer) *JSON { return &JSON{w: w} }

// The typed wrappers put "type" first, then the message's own fields
// (embedded structs are flattened by encoding/json).
type (
	jsonFinding struct {
		Type string `json:"type"`
		Finding
	}
	jsonProblem struct {
		Type string `json:"type"`
		Problem
	}
	jsonFinished struct {
		Type string `json:"type"`
		Finished
	}
	jsonSkipped struct {
		Type string `json:"type"`
		Skipped
	}
	jsonReview struct {
		Type string `json:"type"`
		Review
	}
)

// Finding implements Writer.
func (j *JSON) Finding(f Finding) error { return j.line(jsonFinding{TypeFinding, f}) }

// Error implements Writer.
func (j *JSON) Error(p Problem) error { return j.line(jsonProblem{TypeError, p}) }

// Finished implements Writer.
func (j *JSON) Finished(f Finished) error { return j.line(jsonFinished{TypeSummary, f}) }

// Skipped implements Writer.
func (j *JSON) Skipped(s Skipped) error { return j.line(jsonSkipped{TypeSkipped, s}) }

// Review writes a scan's line for a capture left for review. It is not
// part of Writer: only the JSON stream carries it (the text output has
// the log line).
func (j *JSON) Review(r Review) error { return j.line(jsonReview{TypeReview, r}) }

// FileMatch writes the match command's line for one file. It has no
// "type": the match command prints nothing else.
func (j *JSON) FileMatch(r FileMatch) error { return j.line(r) }

// WriteAffectedJSON writes an incident's affected captures, one JSON
// object per line.
func WriteAffectedJSON(w io.Writer, rows []store.Affected) error {
	enc := json.NewEncoder(w)
	for _, r := range rows {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return nil
}

// line writes v and its newline in one call, so concurrent lines never
// interleave.
func (j *JSON) line(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	_, err = j.w.Write(append(b, '\n'))
	return err
}
