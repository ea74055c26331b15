package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/leakwatch/leakwatch/fingerprint"
	"github.com/leakwatch/leakwatch/fingerprint/pdq"
	"github.com/leakwatch/leakwatch/internal/config"
	"github.com/leakwatch/leakwatch/internal/local"
	"github.com/leakwatch/leakwatch/internal/report"
	"github.com/leakwatch/leakwatch/internal/scan"
)

// enrollOptions are the flags of enroll.
type enrollOptions struct {
	config.Options
	kind, manifest    string
	asJSON, noPatches bool
	features          int
}

func (a *app) enrollCmd() *cobra.Command {
	var o enrollOptions
	cmd := &cobra.Command{
		Use:   "enroll --bank PATH [--kind face|plate|other] [--manifest CSV] [DIR|FILE...]",
		Short: "Hash your own captures into the fingerprint bank (hashes and IDs only, never pixels)",
		Long: `enroll decodes each image, computes its PDQ and pHash fingerprints and adds
them to the bank file, creating it if needed. The capture ID is the file's
base name without extension, unless a manifest (CSV with a header: file,
capture_id, kind, source, and any metadata columns) says otherwise.
Captures already in the bank are skipped; captures whose PDQ quality is too
low to match reliably are enrolled and reported as low_quality.`,
		RunE: func(cmd *cobra.Command, args []string) error { return a.runEnroll(cmd.Context(), o, args) },
	}
	f := cmd.Flags()
	config.AddFlags(f, "enroll", &o.Options)
	f.Lookup("bank").Usage = "bank file (created if missing)"
	f.StringVar(&o.kind, "kind", "", "capture kind for files not in the manifest: face, plate or other")
	f.StringVar(&o.manifest, "manifest", "", "CSV manifest mapping files to capture IDs and metadata")
	f.BoolVar(&o.noPatches, "no-patches", false, "enroll no keypoint patches: a bank about 5x smaller, but unevenly cropped copies are not found")
	f.IntVar(&o.features, "features", fingerprint.DefaultFeatures, "local features kept per capture, at most 64, 22 bytes each (0: none, no feature route; fewer: a smaller bank that finds fewer rotated, cropped or covered copies)")
	f.BoolVar(&o.asJSON, "json", false, "one JSON object per file on stdout")
	return cmd
}

func (a *app) runEnroll(ctx context.Context, o enrollOptions, args []string) error {
	if err := requireFlag("bank", o.Bank); err != nil {
		return err
	}
	if err := local.CheckKind(o.kind); err != nil {
		return usageError{err}
	}
	if len(args) == 0 && o.manifest == "" {
		return usagef("give image files or directories, or --manifest")
	}
	var rows []local.ManifestRow
	if o.manifest != "" {
		var err error
		if rows, err = local.ReadManifest(o.manifest); err != nil {
			return err
		}
	}
	files, err := local.ExpandPaths(args)
	if err != nil {
		return err
	}
	features := o.features
	if features <= 0 {
		features = -1 // none
	}
	opts := local.EnrollOptions{Kind: o.kind, Manifest: rows, Limits: scan.DecodeLimits(o.Limits), NoPatches: o.noPatches, Features: features}
	sum, err := local.Enroll(ctx, o.Bank, files, opts, func(r local.EnrollResult) { a.printEnrolled(r, o.asJSON) })
	if err != nil {
		return err
	}
	a.Printf("enrolled %d captures (%d low quality), %d already enrolled, %d errors", sum.Enrolled+sum.LowQuality, sum.LowQuality, sum.Duplicates, sum.Errors)
	if sum.Enrolled+sum.LowQuality+sum.Duplicates == 0 {
		return errors.New("no capture could be enrolled")
	}
	return nil
}

func (a *app) printEnrolled(r local.EnrollResult, asJSON bool) {
	if asJSON {
		_ = a.jsonLine(r)
		return
	}
	switch r.Status {
	case local.StatusError:
		a.Printf("%s: %s", r.Path, r.Error)
	case local.StatusLowQuality:
		a.Printf("%s: enrolled as %s but PDQ quality %d is below %d: copies of it may not be found", r.Path, r.CaptureID, r.Quality, pdq.MinQuality)
		fmt.Fprintf(a.stdout, "%s\t%s\t%d\n", r.CaptureID, r.Status, r.Quality)
	default:
		fmt.Fprintf(a.stdout, "%s\t%s\t%d\n", r.CaptureID, r.Status, r.Quality)
	}
}

func (a *app) hashCmd() *cobra.Command {
	var algo string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "hash [--algo pdq|phash|all] [--json] FILE|DIR...",
		Short: "Print perceptual hashes of image files",
		Long: `hash prints one line per file and algorithm: "HEX QUALITY PATH" (quality is
PDQ's 0-100 score, "-" for pHash); with --algo all each line starts with
the algorithm name. --json prints one object per file, with PDQ's eight
dihedral hashes. PDQ is Meta's reference algorithm (the hashes other
systems such as ThreatExchange and HMA exchange); leakwatch matches with a
more shift- and mirror-tolerant variant of it internally (see README).`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if algo != "pdq" && algo != "phash" && algo != "all" {
				return usagef("--algo must be pdq, phash or all")
			}
			files, err := local.ExpandPaths(args)
			if err != nil {
				return err
			}
			failed := 0
			for _, p := range files {
				fp, err := local.HashFile(cmd.Context(), p, fingerprint.DefaultLimits())
				if err != nil {
					failed++
					if asJSON {
						_ = a.jsonLine(map[string]any{"path": p, "error": err.Error()})
					} else {
						a.Printf("%s: %v", p, err)
					}
					continue
				}
				if err := a.printHashes(p, fp, algo, asJSON); err != nil {
					return err
				}
			}
			if failed == len(files) {
				return fmt.Errorf("no file could be hashed (%d errors)", failed)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&algo, "algo", "pdq", "pdq, phash or all")
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object per file")
	return cmd
}

// printHashes prints the hashes of one file.
func (a *app) printHashes(p string, fp fingerprint.Fingerprint, algo string, asJSON bool) error {
	if asJSON {
		return a.jsonLine(local.HashRecord(p, fp, algo))
	}
	prefix := func(name string) string {
		if algo == "all" {
			return name + " "
		}
		return ""
	}
	if algo == "pdq" || algo == "all" {
		fmt.Fprintf(a.stdout, "%s%s %d %s\n", prefix("pdq"), fp.Reference.Hashes[0].Hex(), fp.Reference.Quality, p)
	}
	if algo == "phash" || algo == "all" {
		fmt.Fprintf(a.stdout, "%s%s - %s\n", prefix("phash"), fp.PHash.Hex(), p)
	}
	return nil
}

// matchOptions are the flags of match.
type matchOptions struct {
	config.Options
	asJSON             bool
	radius, minQuality int
}

func (a *app) matchCmd() *cobra.Command {
	var o matchOptions
	cmd := &cobra.Command{
		Use:   "match --bank PATH [--json] FILE|DIR...",
		Short: "Match local image files against the bank",
		Long: `match prints, for each image, the bank captures it matches. With --json:
one object per image: {"path", "matches":[{"capture_id","kind","algorithm",
"distance",...}], "error"}; "matches" is empty when none. Images too flat to
hash reliably are reported with "unhashable": true. Captures that are no
match but deserve a look (their features placed significantly, read
neither like nor unlike them) are listed under "review", or on stderr
without --json (README, Match policy, "For review").`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return a.runMatch(cmd.Context(), o, args) },
	}
	f := cmd.Flags()
	config.AddFlags(f, "match", &o.Options)
	f.BoolVar(&o.asJSON, "json", false, "one JSON object per image")
	f.IntVar(&o.radius, "pdq-radius", pdq.MatchThreshold, "largest PDQ distance (of 256 bits) counted as a match")
	f.IntVar(&o.minQuality, "min-quality", pdq.MinQuality, "PDQ quality below which an image is reported unhashable")
	return cmd
}

func (a *app) runMatch(ctx context.Context, o matchOptions, args []string) error {
	if err := requireFlag("bank", o.Bank); err != nil {
		return err
	}
	if o.radius < 0 || o.radius > 128 {
		return usagef("--pdq-radius must be between 0 and 128")
	}
	b, err := fingerprint.LoadBank(o.Bank)
	if err != nil {
		return err
	}
	files, err := local.ExpandPaths(args)
	if err != nil {
		return err
	}
	// The policy settings a scan takes (routes left out, the reading
	// budget, the patch radius), so that match reproduces a scan's policy.
	opts := scan.Options{Options: o.Options}.MatchOptions()
	opts.PDQRadius, opts.MinQuality = o.radius, o.minQuality
	failed := 0
	var out report.FileWriter = report.NewText(a.stdout)
	if o.asJSON {
		out = report.NewJSON(a.stdout)
	}
	err = local.MatchFiles(ctx, files, fingerprint.NewMatcher(b, opts), scan.DecodeLimits(o.Limits), func(r report.FileMatch) {
		if r.Error != "" && !r.Unhashable {
			failed++
		}
		if r.Error != "" && !o.asJSON {
			a.Printf("%s: %s", r.Path, r.Error)
		}
		if !o.asJSON {
			// Not matches: stdout keeps one line per match.
			for _, m := range r.Review {
				a.Printf("%s: for review, not a match: %s (features: %d inliers, log10 NFA %.1f, %d of %d sites read as enrolled)",
					r.Path, m.CaptureID, m.Inliers, m.LogNFA, m.SitesAgree, m.SitesRead)
			}
		}
		_ = out.FileMatch(r)
	})
	if err != nil {
		return err
	}
	if failed == len(files) {
		return fmt.Errorf("no file could be matched (%d errors)", failed)
	}
	return nil
}
