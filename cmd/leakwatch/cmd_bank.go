package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/leakwatch/leakwatch/fingerprint"
	"github.com/leakwatch/leakwatch/internal/config"
	"github.com/leakwatch/leakwatch/internal/local"
)

func (a *app) bankCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "bank", Short: "Inspect, verify and import into the fingerprint bank"}
	cmd.AddCommand(a.bankStatsCmd(), a.bankVerifyCmd(), a.bankImportCmd())
	return cmd
}

func (a *app) bankStatsCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
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
			if asJSON {
				return a.jsonLine(out)
			}
			fmt.Fprintf(a.stdout, "captures        %d\npdq hashes      %d\n  of which patches %d\nphash hashes    %d\nlocal features  %d (%d captures)\nlow quality     %d\nkinds           %v\nfile bytes      %d\nindex bytes     %d\nload time       %s\n",
				st.Captures, st.PDQHashes, st.PatchHashes, st.PHashHashes, st.Features, st.FeatureCaptures, st.LowQuality, st.Kinds, out.FileBytes, st.IndexBytes, load.Round(time.Millisecond))
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func (a *app) bankVerifyCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "verify BANK [--json]",
		Short: "Check a bank file's format, checksums and references; exit 1 if damaged",
		Long: `verify loads the bank and checks its format, checksums and references. It
prints "ok" and the capture count, or exits 1 with the reason. With --json
it prints one object either way: {"path", "ok", "captures"} or
{"path", "ok": false, "error"}, and still exits 1 when the file is damaged.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			type result struct {
				Path     string `json:"path"`
				OK       bool   `json:"ok"`
				Captures int    `json:"captures,omitempty"`
				Error    string `json:"error,omitempty"`
			}
			b, err := fingerprint.LoadBank(args[0])
			if err == nil {
				err = b.Verify()
			}
			if err != nil {
				err = fmt.Errorf("%s: %w", args[0], err)
				if asJSON {
					if jerr := a.jsonLine(result{Path: args[0], Error: err.Error()}); jerr != nil {
						return jerr
					}
				}
				return err
			}
			if asJSON {
				return a.jsonLine(result{Path: args[0], OK: true, Captures: b.Len()})
			}
			fmt.Fprintf(a.stdout, "ok\t%d captures\n", b.Len())
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as one JSON object")
	return cmd
}

// hashListOptions are the flags of the commands that read hash lists.
type hashListOptions struct {
	config.Options
	algo, onBad string
}

// parse checks the flags and returns the algorithm.
func (o hashListOptions) parse() (fingerprint.Algorithm, error) {
	if err := requireFlag("bank", o.Bank); err != nil {
		return "", err
	}
	al, err := fingerprint.ParseAlgorithm(o.algo)
	if err != nil {
		return "", usageError{err}
	}
	if o.onBad != "skip" && o.onBad != "fail" {
		return "", usagef("--on-error must be skip or fail")
	}
	return al, nil
}

func (a *app) bankImportCmd() *cobra.Command {
	var o hashListOptions
	var kind string
	var asJSON bool
	cmd := &cobra.Command{
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
			al, err := o.parse()
			if err != nil {
				return err
			}
			in, closeIn, err := openInput(args[0])
			if err != nil {
				return err
			}
			defer closeIn()
			sum, err := local.Import(o.Bank, in, local.ImportOptions{Algo: al, Kind: kind, Source: args[0],
				OnMalformed: func(le *local.LineError) error {
					a.Printf("%s: %v", args[0], le)
					if o.onBad == "fail" {
						return le
					}
					return nil
				}})
			if err != nil {
				return err
			}
			if asJSON {
				return a.jsonLine(map[string]int{"imported": sum.Imported, "duplicates": sum.Duplicates, "malformed": sum.Malformed})
			}
			a.Printf("imported %d hashes, %d duplicates skipped, %d malformed lines", sum.Imported, sum.Duplicates, sum.Malformed)
			return nil
		},
	}
	config.AddFlags(cmd.Flags(), "bank import", &o.Options)
	cmd.Flags().Lookup("bank").Usage = "bank file (created if missing)"
	cmd.Flags().StringVar(&o.algo, "algo", "pdq", "pdq or phash")
	cmd.Flags().StringVar(&kind, "kind", "", "kind for lines without one")
	cmd.Flags().StringVar(&o.onBad, "on-error", "skip", "skip or fail on malformed lines")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the counts as JSON")
	return cmd
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
	var o hashListOptions
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
			al, err := o.parse()
			if err != nil {
				return err
			}
			if radius < 0 {
				radius = local.DefaultRadius(al)
			}
			b, err := fingerprint.LoadBank(o.Bank)
			if err != nil {
				return err
			}
			b.BuildIndex()
			enc := json.NewEncoder(a.stdout)
			return local.ReadHashLines(cmd.InOrStdin(), local.HexCheck(al), func(h local.HashLine) error {
				return enc.Encode(struct {
					Hash    string      `json:"hash"`
					Matches []local.Hit `json:"matches"`
				}{h.Hex, local.Lookup(b, al, h.Hex, radius)})
			}, func(le *local.LineError) error {
				_ = enc.Encode(map[string]any{"line": le.Line, "error": le.Err.Error()})
				if o.onBad == "fail" {
					return le
				}
				return nil
			})
		},
	}
	config.AddFlags(cmd.Flags(), "lookup", &o.Options)
	cmd.Flags().StringVar(&o.algo, "algo", "pdq", "pdq or phash")
	cmd.Flags().IntVar(&radius, "radius", -1, "largest Hamming distance (default 31 for pdq, 8 for phash)")
	cmd.Flags().StringVar(&o.onBad, "on-error", "skip", "skip or fail on malformed lines")
	return cmd
}
