package scan

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/leakwatch/leakwatch/internal/store"
)

// MaxBaselineBytes bounds a baseline file.
const MaxBaselineBytes = 256 << 20

// Baseline is the set of (capture, leaked file) pairs a team already knew
// when it started watching a site, taken from an earlier JSON export: like
// a gitleaks baseline, matches in it are neither recorded nor alerted. A
// nil Baseline holds nothing.
type Baseline map[pair]struct{}

type pair struct{ capture, sha string }

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// LoadBaseline reads a baseline file (see ParseBaseline).
func LoadBaseline(path string) (Baseline, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	defer f.Close()
	b, err := ParseBaseline(f)
	if err != nil {
		return nil, fmt.Errorf("baseline %s: %w", path, err)
	}
	return b, nil
}

// ParseBaseline reads the pairs from any of leakwatch's JSON exports: one
// JSON document or JSON lines ("scan --json", "incidents show --json",
// "report --format json"). Every object anywhere in
// them that has a "capture_id" and a 64-hex-digit "sha256" is a pair;
// everything else is ignored. A file without any pair is refused, since
// it is surely not the export that was meant.
func ParseBaseline(r io.Reader) (Baseline, error) {
	lr := &io.LimitedReader{R: r, N: MaxBaselineBytes + 1}
	dec := json.NewDecoder(lr)
	b := Baseline{}
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if lr.N <= 0 {
				return nil, fmt.Errorf("larger than %d bytes", MaxBaselineBytes)
			}
			return nil, fmt.Errorf("not JSON: %w", err)
		}
		b.collect(v)
	}
	if len(b) == 0 {
		return nil, errors.New(`no (capture_id, sha256) pairs found: give an earlier JSON export, such as "scan --json" output or "incidents show --json"`)
	}
	return b, nil
}

// collect adds the pairs found in v. encoding/json bounds the nesting of
// what it decodes, so the recursion is bounded too.
func (b Baseline) collect(v any) {
	switch x := v.(type) {
	case map[string]any:
		c, ok1 := x["capture_id"].(string)
		h, ok2 := x["sha256"].(string)
		if ok1 && ok2 && c != "" && sha256Hex.MatchString(h) {
			b[pair{c, h}] = struct{}{}
		}
		for _, e := range x {
			b.collect(e)
		}
	case []any:
		for _, e := range x {
			b.collect(e)
		}
	}
}

// pairs lists the baseline's pairs, sorted (nil for an empty baseline).
func (b Baseline) pairs() [][2]string {
	if len(b) == 0 {
		return nil
	}
	out := make([][2]string, 0, len(b))
	for p := range b {
		out = append(out, [2]string{p.capture, p.sha})
	}
	slices.SortFunc(out, func(x, y [2]string) int { return cmp.Or(strings.Compare(x[0], y[0]), strings.Compare(x[1], y[1])) })
	return out
}

// baselineOf is the baseline of a shared run's pairs.
func baselineOf(pairs [][2]string) Baseline {
	b := make(Baseline, len(pairs))
	for _, p := range pairs {
		b[pair{p[0], p[1]}] = struct{}{}
	}
	return b
}

// Has reports whether the pair of ev is in the baseline.
func (b Baseline) Has(ev store.Evidence) bool {
	_, ok := b[pair{ev.CaptureID, ev.SHA256}]
	return ok
}

// notInBaseline drops the evidence the baseline holds.
func (s *scanner) notInBaseline(evs []store.Evidence) []store.Evidence {
	if len(s.cfg.Baseline) == 0 {
		return evs
	}
	out := evs[:0:0]
	for _, ev := range evs {
		if !s.cfg.Baseline.Has(ev) {
			out = append(out, ev)
		}
	}
	return out
}
