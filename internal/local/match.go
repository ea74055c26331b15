package local

import (
	"context"
	"errors"
	"os"

	"github.com/leakwatch/leakwatch/fingerprint"
	"github.com/leakwatch/leakwatch/fingerprint/pdq"
	"github.com/leakwatch/leakwatch/internal/report"
)

// MatchFiles matches each file against m and reports every file, matched
// or not, in the order of files. Files are decoded, hashed and matched on
// every core (m must be safe for concurrent use, as fingerprint's
// matchers are); one decode per core bounds the memory.
func MatchFiles(ctx context.Context, files []string, m fingerprint.Matcher, lim fingerprint.Limits, emit func(report.FileMatch)) error {
	return inOrder(ctx, len(files), 0, func(ctx context.Context, i int) report.FileMatch {
		return matchFile(ctx, files[i], m, lim)
	}, func(_ int, r report.FileMatch) { emit(r) })
}

func matchFile(ctx context.Context, p string, m fingerprint.Matcher, lim fingerprint.Limits) report.FileMatch {
	res := report.FileMatch{Path: p, Matches: []fingerprint.Match{}}
	fp, err := fingerprintFile(ctx, p, lim, fingerprint.ForQuery())
	if err == nil {
		res.Quality = fp.PDQ.Quality
		var ms []fingerprint.Match
		if sm, ok := m.(statsMatcher); ok {
			var st fingerprint.MatchStats
			ms, st, err = sm.MatchStats(fp)
			res.Review = st.Review
		} else {
			ms, err = m.Match(fp)
		}
		if ms != nil {
			res.Matches = ms
		}
	}
	if err != nil {
		res.Error = err.Error()
		res.Unhashable = errors.Is(err, fingerprint.ErrLowQuality)
	}
	return res
}

// statsMatcher is a matcher that also says what it left for review
// (fingerprint.BankMatcher).
type statsMatcher interface {
	MatchStats(fingerprint.Fingerprint) ([]fingerprint.Match, fingerprint.MatchStats, error)
}

func fingerprintFile(ctx context.Context, path string, lim fingerprint.Limits, opts ...fingerprint.DecodeOption) (fingerprint.Fingerprint, error) {
	f, err := os.Open(path)
	if err != nil {
		return fingerprint.Fingerprint{}, err
	}
	defer f.Close()
	d, err := fingerprint.DecodeContext(ctx, f, lim, opts...)
	if err != nil {
		return fingerprint.Fingerprint{}, err
	}
	fp, err := fingerprint.Compute(d.Image, fingerprint.SourceSize(d.Width, d.Height))
	if err != nil {
		return fp, err
	}
	// Local files are few: always compute the reference hashes (printed by
	// hash, matched against imported hashes).
	fp.AddReference(d.Image)
	return fp, nil
}

// HashFile decodes a file and returns every digest. It decodes at full
// size, as the reference does (its PDQ hash is what other systems compare
// with), unless that is over the decoding bounds (a large progressive
// JPEG): then at the working size, whose hashes stay within the
// reference's tolerance.
func HashFile(ctx context.Context, path string, lim fingerprint.Limits) (fingerprint.Fingerprint, error) {
	fp, err := fingerprintFile(ctx, path, lim, fingerprint.LumaOnly())
	if errors.Is(err, fingerprint.ErrDecodeLimit) {
		return fingerprintFile(ctx, path, lim, fingerprint.ForQuery())
	}
	return fp, err
}

// HashRecord is one file's line of "leakwatch hash --json": the reference
// PDQ hash with its quality and its eight dihedral variants, and the
// pHash, as algo ("pdq", "phash" or "all") asks.
func HashRecord(path string, fp fingerprint.Fingerprint, algo string) map[string]any {
	out := map[string]any{"path": path}
	if algo != "phash" {
		dih := map[string]string{}
		for i, h := range fp.Reference.Hashes {
			dih[pdq.Transform(i).String()] = h.Hex()
		}
		out["pdq"] = map[string]any{"hash": fp.Reference.Hashes[0].Hex(), "quality": fp.Reference.Quality, "dihedral": dih}
	}
	if algo != "pdq" {
		out["phash"] = map[string]any{"hash": fp.PHash.Hex()}
	}
	return out
}

// DefaultRadius is the largest distance a lookup of algorithm al counts
// as a match unless told otherwise.
func DefaultRadius(al fingerprint.Algorithm) int {
	if al == fingerprint.AlgoPHash {
		return 8
	}
	return pdq.MatchThreshold
}
