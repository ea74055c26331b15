package local

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"time"

	"github.com/leakwatch/leakwatch/fingerprint"
	"github.com/leakwatch/leakwatch/fingerprint/hamming"
)

// HexCheck validates the hex of one hash of algorithm al.
func HexCheck(al fingerprint.Algorithm) func(string) error {
	if al == fingerprint.AlgoPDQ {
		return func(s string) error { _, err := hamming.ParseHash256(s); return err }
	}
	return func(s string) error { _, err := hamming.ParseHash64(s); return err }
}

// ImportOptions configure Import.
type ImportOptions struct {
	Algo fingerprint.Algorithm
	// Kind is recorded for lines without one.
	Kind string
	// Source names the input in each capture's source ("import:NAME").
	Source string
	// OnMalformed receives each malformed line; an error it returns aborts
	// the import before the bank is changed.
	OnMalformed func(*LineError) error
}

// ImportSummary counts one Import.
type ImportSummary struct {
	Imported   int `json:"imported"`
	Duplicates int `json:"duplicates"`
	Malformed  int `json:"malformed"`
}

// Import adds the hashes listed in r (HEX[,CAPTURE_ID[,KIND]] lines, as
// exported from ThreatExchange or HMA) to the bank at bankPath, creating
// it if needed. Lines without a capture ID get "<algo>-<hex>". Imported
// PDQ hashes have no quality score (recorded as 100) and no pHash. The
// bank is changed only once the whole input was read.
func Import(bankPath string, r io.Reader, o ImportOptions) (ImportSummary, error) {
	var sum ImportSummary
	var es []fingerprint.Enrollment
	byID := map[string]int{} // capture ID -> its enrollment in es
	now := time.Now().UTC()
	malformed := func(le *LineError) error {
		sum.Malformed++
		if o.OnMalformed != nil {
			return o.OnMalformed(le)
		}
		return nil
	}
	err := ReadHashLines(r, HexCheck(o.Algo), func(h HashLine) error {
		e := importEnrollment(h, o, now)
		i, seen := byID[e.Capture.ID]
		if !seen {
			byID[e.Capture.ID] = len(es)
			es = append(es, e)
			return nil
		}
		// Lists name several hashes of one content: a PDQ capture keeps
		// them all (a hash list of one capture's variants); a pHash
		// capture has one, so another is an error, not a silent drop.
		prev := &es[i]
		switch {
		case o.Algo == fingerprint.AlgoPDQ && !slices.ContainsFunc(prev.PDQ, func(r fingerprint.RegionHash) bool { return r.Hash == e.PDQ[0].Hash }):
			prev.PDQ = append(prev.PDQ, e.PDQ[0])
		case o.Algo == fingerprint.AlgoPDQ || prev.PHash == e.PHash:
			sum.Duplicates++
		default:
			return malformed(&LineError{Line: h.Line, Err: fmt.Errorf("capture %q already has another pHash in this list (a pHash capture holds one; give this hash its own ID)", e.Capture.ID)})
		}
		return nil
	}, malformed)
	if err != nil {
		return sum, fmt.Errorf("import aborted, bank unchanged: %w", err)
	}
	err = fingerprint.UpdateBank(bankPath, func(b *fingerprint.Bank) error {
		for _, e := range es {
			n := max(len(e.PDQ), 1) // hashes: the PDQ ones, or one pHash
			switch err := b.Add(e); {
			case errors.Is(err, fingerprint.ErrDuplicate):
				sum.Duplicates += n
			case err != nil:
				return err
			default:
				sum.Imported += n
			}
		}
		return nil
	})
	return sum, err
}

func importEnrollment(h HashLine, o ImportOptions, now time.Time) fingerprint.Enrollment {
	id := h.CaptureID
	if id == "" {
		id = string(o.Algo) + "-" + h.Hex
	}
	k := h.Kind
	if k == "" {
		k = o.Kind
	}
	e := fingerprint.Enrollment{Capture: fingerprint.Capture{ID: id, Kind: k, Source: "import:" + o.Source, EnrolledAt: now}}
	if o.Algo == fingerprint.AlgoPDQ {
		hh, _ := hamming.ParseHash256(h.Hex)
		e.PDQ = []fingerprint.RegionHash{{Hash: hh, Region: fingerprint.RegionImported, Quality: 100}}
		e.NoPHash = true
	} else {
		ph, _ := hamming.ParseHash64(h.Hex)
		e.PHash = ph
	}
	return e
}

// Hit is one bank capture within a lookup's radius.
type Hit struct {
	CaptureID string `json:"capture_id"`
	Kind      string `json:"kind"`
	Distance  int    `json:"distance"`
}

// Lookup returns the captures of b whose hash of algorithm al is within
// radius of the hex hash, each at its smallest distance, nearest first
// (then by capture ID). The answer is exact: the same set as a
// brute-force scan. hex must have passed HexCheck(al); b must be indexed.
func Lookup(b *fingerprint.Bank, al fingerprint.Algorithm, hex string, radius int) []Hit {
	best := map[uint32]int{}
	keep := func(c uint32, d int) {
		if old, ok := best[c]; !ok || d < old {
			best[c] = d
		}
	}
	if al == fingerprint.AlgoPDQ {
		q, _ := hamming.ParseHash256(hex)
		b.SearchPDQ(q, radius, func(p fingerprint.PDQHit) bool { keep(p.Capture, p.Distance); return true })
	} else {
		q, _ := hamming.ParseHash64(hex)
		b.SearchPHash(q, radius, func(c uint32, d int) bool { keep(c, d); return true })
	}
	hits := make([]Hit, 0, len(best))
	for ci, d := range best {
		c := b.Capture(ci)
		hits = append(hits, Hit{c.ID, c.Kind, d})
	}
	sort.Slice(hits, func(i, j int) bool {
		if hits[i].Distance != hits[j].Distance {
			return hits[i].Distance < hits[j].Distance
		}
		return hits[i].CaptureID < hits[j].CaptureID
	})
	return hits
}
