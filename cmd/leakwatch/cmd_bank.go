package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"github.com/leakwatch/leakwatch/fingerprint"
	"github.com/leakwatch/leakwatch/fingerprint/hamming"
	"github.com/leakwatch/leakwatch/fingerprint/pdq"
	"github.com/leakwatch/leakwatch/internal/local"
)

func (a *app) bankCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "bank", Short: "Inspect, verify and import into the fingerprint bank"}
	var statsJSON bool
	stats := &cobra.Command{
		Use:   "stats BANK",
		Short: "Print what a bank holds",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			start := time.Now()
			b, err := fingerprint.LoadBank(args[0])
			if err != nil {
				return err
			}
			load := time.Since(start)
			b.BuildIndex() // so the index size is reported
			st := b.Stats()
			fi, _ := os.Stat(args[0])
			out := struct {
				fingerprint.Stats
				FileBytes int64   `json:"file_bytes"`
				LoadSecs  float64 `json:"load_seconds"`
			}{st, fi.Size(), load.Seconds()}
			if statsJSON {
				return a.jsonLine(out)
			}
			fmt.Fprintf(a.stdout, "captures        %d\npdq hashes      %d\n  of which patches %d\nphash hashes    %d\nlow quality     %d\nkinds           %v\nfile bytes      %d\nindex bytes     %d\nload time       %s\n",
				st.Captures, st.PDQHashes, st.PatchHashes, st.PHashHashes, st.LowQuality, st.Kinds, out.FileBytes, st.IndexBytes, load.Round(time.Millisecond))
			return nil
		},
	}
	stats.Flags().BoolVar(&statsJSON, "json", false, "print JSON")
	verify := &cobra.Command{
		Use:   "verify BANK",
		Short: "Check a bank file's format, checksums and references; exit 1 if damaged",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := fingerprint.LoadBank(args[0])
			if err != nil {
				return err
			}
			if err := b.Verify(); err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			fmt.Fprintf(a.stdout, "ok\t%d captures\n", b.Len())
			return nil
		},
	}
	var algo, kind, onBad string
	var importJSON bool
	imp := &cobra.Command{
		Use:   "import --bank PATH --algo pdq|phash FILE|-",
		Short: "Import hashes from another system (lines HEX[,CAPTURE_ID[,KIND]])",
		Long: `import reads one hash per line, optionally followed by a capture ID and a kind
(e.g. exported from ThreatExchange or HMA). Lines without a capture ID get
"<algo>-<hex>". Malformed lines are reported with their line numbers and
skipped (--on-error skip, the default) or fail the whole import before the
bank is changed (--on-error fail). Imported PDQ hashes have no quality
score (recorded as 100) and no pHash; imported pHashes are matched only by
lookup --algo phash.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			bankPath, _ := cmd.Flags().GetString("bank")
			if err := requireFlag("bank", bankPath); err != nil {
				return err
			}
			al, err := fingerprint.ParseAlgorithm(algo)
			if err != nil {
				return usageError{err}
			}
			if onBad != "skip" && onBad != "fail" {
				return usagef("--on-error must be skip or fail")
			}
			in, closeIn, err := openInput(args[0])
			if err != nil {
				return err
			}
			defer closeIn()
			var es []fingerprint.Enrollment
			bad := 0
			now := time.Now().UTC()
			err = local.ReadHashLines(in, hexParser(al), func(h local.HashLine) error {
				id := h.CaptureID
				if id == "" {
					id = string(al) + "-" + h.Hex
				}
				k := h.Kind
				if k == "" {
					k = kind
				}
				e := fingerprint.Enrollment{Capture: fingerprint.Capture{ID: id, Kind: k, Source: "import:" + args[0], EnrolledAt: now}}
				if al == fingerprint.AlgoPDQ {
					hh, _ := hamming.ParseHash256(h.Hex)
					e.PDQ = []fingerprint.RegionHash{{Hash: hh, Region: fingerprint.RegionImported, Quality: 100}}
					e.NoPHash = true
				} else {
					ph, _ := hamming.ParseHash64(h.Hex)
					e.PHash = ph
				}
				es = append(es, e)
				return nil
			}, func(le *local.LineError) error {
				bad++
				a.msg("%s: %v", args[0], le)
				if onBad == "fail" {
					return le
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("import aborted, bank unchanged: %w", err)
			}
			added, dups := 0, 0
			err = fingerprint.UpdateBank(bankPath, func(b *fingerprint.Bank) error {
				for _, e := range es {
					switch err := b.Add(e); {
					case errors.Is(err, fingerprint.ErrDuplicate):
						dups++
					case err != nil:
						return err
					default:
						added++
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
			if importJSON {
				return a.jsonLine(map[string]int{"imported": added, "duplicates": dups, "malformed": bad})
			}
			a.msg("imported %d hashes, %d duplicates skipped, %d malformed lines", added, dups, bad)
			return nil
		},
	}
	imp.Flags().String("bank", "", "bank file (created if missing)")
	imp.Flags().StringVar(&algo, "algo", "pdq", "pdq or phash")
	imp.Flags().StringVar(&kind, "kind", "", "kind for lines without one")
	imp.Flags().StringVar(&onBad, "on-error", "skip", "skip or fail on malformed lines")
	imp.Flags().BoolVar(&importJSON, "json", false, "print the counts as JSON")
	cmd.AddCommand(stats, verify, imp)
	return cmd
}

func hexParser(al fingerprint.Algorithm) func(string) error {
	if al == fingerprint.AlgoPDQ {
		return func(s string) error { _, err := hamming.ParseHash256(s); return err }
	}
	return func(s string) error { _, err := hamming.ParseHash64(s); return err }
}

func openInput(name string) (io.Reader, func(), error) {
	if name == "-" {
		return os.Stdin, func() {}, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, err
	}
	return f, func() { f.Close() }, nil
}

func (a *app) lookupCmd() *cobra.Command {
	var bankPath, algo, onBad string
	var radius int
	cmd := &cobra.Command{
		Use:   "lookup --bank PATH --algo pdq|phash [--radius R] < hashes",
		Short: "Look up hex hashes from stdin; one JSON line per query",
		Long: `lookup reads hex hashes (one per line; anything after a comma is ignored)
from stdin and prints {"hash":…, "matches":[{"capture_id":…, "kind":…,
"distance":…}]} per query. The answer is exact: the same set as a brute-force
scan of the bank. Malformed lines print {"line":N, "error":…} and are skipped,
or stop the command with --on-error fail.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireFlag("bank", bankPath); err != nil {
				return err
			}
			al, err := fingerprint.ParseAlgorithm(algo)
			if err != nil {
				return usageError{err}
			}
			if radius < 0 {
				radius = pdq.MatchThreshold
				if al == fingerprint.AlgoPHash {
					radius = 8
				}
			}
			if onBad != "skip" && onBad != "fail" {
				return usagef("--on-error must be skip or fail")
			}
			b, err := fingerprint.LoadBank(bankPath)
			if err != nil {
				return err
			}
			b.BuildIndex()
			type hit struct {
				CaptureID string `json:"capture_id"`
				Kind      string `json:"kind"`
				Distance  int    `json:"distance"`
			}
			enc := json.NewEncoder(a.stdout)
			return local.ReadHashLines(cmd.InOrStdin(), hexParser(al), func(h local.HashLine) error {
				best := map[uint32]int{}
				if al == fingerprint.AlgoPDQ {
					q, _ := hamming.ParseHash256(h.Hex)
					b.SearchPDQ(q, radius, func(p fingerprint.PDQHit) bool {
						if d, ok := best[p.Capture]; !ok || p.Distance < d {
							best[p.Capture] = p.Distance
						}
						return true
					})
				} else {
					q, _ := hamming.ParseHash64(h.Hex)
					b.SearchPHash(q, radius, func(c uint32, d int) bool {
						if old, ok := best[c]; !ok || d < old {
							best[c] = d
						}
						return true
					})
				}
				ms := make([]hit, 0, len(best))
				for ci, d := range best {
					c := b.Capture(ci)
					ms = append(ms, hit{c.ID, c.Kind, d})
				}
				sortHits(ms, func(i int) (int, string) { return ms[i].Distance, ms[i].CaptureID })
				return enc.Encode(struct {
					Hash    string `json:"hash"`
					Matches []hit  `json:"matches"`
				}{h.Hex, ms})
			}, func(le *local.LineError) error {
				_ = enc.Encode(map[string]any{"line": le.Line, "error": le.Err.Error()})
				if onBad == "fail" {
					return le
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&bankPath, "bank", "", "bank file")
	cmd.Flags().StringVar(&algo, "algo", "pdq", "pdq or phash")
	cmd.Flags().IntVar(&radius, "radius", -1, "largest Hamming distance (default 31 for pdq, 8 for phash)")
	cmd.Flags().StringVar(&onBad, "on-error", "skip", "skip or fail on malformed lines")
	return cmd
}

// sortHits orders hits by distance, then capture ID.
func sortHits[T any](s []T, key func(i int) (int, string)) {
	sort.Slice(s, func(i, j int) bool {
		di, ii := key(i)
		dj, ij := key(j)
		if di != dj {
			return di < dj
		}
		return ii < ij
	})
}
