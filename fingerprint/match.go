package fingerprint

import (
	"fmt"
	"sort"
)

// MatchOptions is the match policy.
type MatchOptions struct {
	// PDQRadius is the largest PDQ Hamming distance counted as a match
	// (Meta's default is 31 of 256 bits).
	PDQRadius int
	// MinQuality is the PDQ quality below which a query image is reported
	// as unhashable instead of matched.
	MinQuality int
	// PHashRadius is the largest pHash distance that confirms a PDQ match;
	// pHash never raises a match on its own (see README, "Match policy").
	PHashRadius int
	// Dihedral also searches the seven rotated and flipped variants.
	Dihedral bool
}

// DefaultMatchOptions returns the policy measured in BENCHMARKS.md.
func DefaultMatchOptions() MatchOptions {
	return MatchOptions{PDQRadius: PDQMatchThreshold, MinQuality: PDQMinQuality, PHashRadius: 10, Dihedral: true}
}

// DihedralNames names PDQDihedral.Hashes entries in order.
var DihedralNames = [8]string{"original", "rotate90", "rotate180", "rotate270", "flipx", "flipy", "flipplus1", "flipminus1"}

// Match is one bank capture matched by a query image.
type Match struct {
	CaptureID string    `json:"capture_id"`
	Kind      string    `json:"kind"`
	Algorithm Algorithm `json:"algorithm"`
	Distance  int       `json:"distance"`
	// Variant names the dihedral transform of the query that matched.
	Variant string `json:"variant,omitempty"`
	// Region is the enrolled region that matched (0 = whole capture).
	Region Region `json:"region,omitempty"`
	// Quality is the query's PDQ quality.
	Quality int `json:"quality"`
	// PHashDistance is the pHash distance to the capture, reported as
	// supporting evidence.
	PHashDistance int `json:"phash_distance"`
}

// A Matcher finds the bank captures a fingerprint matches.
type Matcher interface {
	Match(fp Fingerprint) ([]Match, error)
}

// BankMatcher matches against a Bank with its index.
type BankMatcher struct {
	bank *Bank
	opts MatchOptions
}

// NewMatcher returns a Matcher over b with the given policy.
func NewMatcher(b *Bank, opts MatchOptions) *BankMatcher {
	if opts.PDQRadius <= 0 {
		opts.PDQRadius = PDQMatchThreshold
	}
	return &BankMatcher{bank: b, opts: opts}
}

// Match implements Matcher. A query below MinQuality returns ErrLowQuality:
// the caller counts it as unhashable rather than as "no match".
func (m *BankMatcher) Match(fp Fingerprint) ([]Match, error) {
	if fp.PDQ.Quality < m.opts.MinQuality {
		return nil, fmt.Errorf("%w: quality %d < %d", ErrLowQuality, fp.PDQ.Quality, m.opts.MinQuality)
	}
	best := map[uint32]Match{}
	n := 1
	if m.opts.Dihedral {
		n = 8
	}
	for v := 0; v < n; v++ {
		m.bank.SearchPDQ(fp.PDQ.Hashes[v], m.opts.PDQRadius, func(h PDQHit) bool {
			cur, seen := best[h.Capture]
			if !seen || h.Distance < cur.Distance {
				best[h.Capture] = Match{Algorithm: AlgoPDQ, Distance: h.Distance, Variant: DihedralNames[v], Region: h.Region, Quality: fp.PDQ.Quality}
			}
			return true
		})
	}
	out := make([]Match, 0, len(best))
	for ci, mt := range best {
		c := m.bank.Capture(ci)
		mt.CaptureID, mt.Kind = c.ID, c.Kind
		mt.PHashDistance = m.bank.phashDistance(ci, fp.PHash)
		out = append(out, mt)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Distance != out[j].Distance {
			return out[i].Distance < out[j].Distance
		}
		return out[i].CaptureID < out[j].CaptureID
	})
	return out, nil
}

// phashDistance returns the distance from q to capture ci's pHash, or -1.
func (b *Bank) phashDistance(ci uint32, q Hash64) int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	// pHash entries are appended in capture order, one per capture.
	if int(ci) < len(b.phHash) && b.phCap[ci] == ci {
		return b.phHash[ci].Distance(q)
	}
	for i, c := range b.phCap {
		if c == ci {
			return b.phHash[i].Distance(q)
		}
	}
	return -1
}
