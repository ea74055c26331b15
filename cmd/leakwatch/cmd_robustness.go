package main

import (
	"runtime"

	"github.com/spf13/cobra"

	"github.com/leakwatch/leakwatch/fingerprint"
	"github.com/leakwatch/leakwatch/fingerprint/pdq"
	"github.com/leakwatch/leakwatch/internal/robustness"
)

func (a *app) robustnessCmd() *cobra.Command {
	var o robustness.Options
	var asJSON bool
	var pdqRadius, regionRadius, subRadius, patchRadius, leadRadius, minQuality int
	cmd := &cobra.Command{
		Use:   "robustness [--seed N] [--n N] [--json]",
		Short: "Measure match recall per transform and false matches on generated images",
		Long: `robustness generates captures of varied content (faces, plates, vehicles,
street scenes, textures, real photographs), enrolls them into an in-memory
bank and queries it with transformed copies (resize, recompression, colour,
blur, noise, caption, watermark, flips, rotations, crops, collage,
screenshot) and with unrelated images, including other photographs of the
same people and plates. It prints recall per transform against the targets,
false matches, the distances between unrelated images per kind of
comparison and the false-match rate they imply for a bank of 10^7 captures.

The match policy was tuned on seed 1; the default seed 2 was held out. Runs
are deterministic for a given seed and n. Nothing leaves the machine.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.N < 1 || o.N > 1000 {
				return usagef("--n must be between 1 and 1000")
			}
			if o.HardNegatives < 0 || o.HardNegatives > 20 {
				return usagef("--hard-negatives must be between 0 and 20")
			}
			for _, r := range []int{pdqRadius, regionRadius, subRadius, patchRadius, leadRadius} {
				if r < 0 || r > 128 {
					return usagef("radii must be between 0 and 128 (0: default)")
				}
			}
			policy := fingerprint.DefaultMatchOptions()
			if pdqRadius > 0 {
				policy.PDQRadius = pdqRadius
			}
			if regionRadius > 0 {
				policy.RegionRadius = regionRadius
			}
			if subRadius > 0 {
				policy.SubImageRadius = subRadius
			}
			if patchRadius > 0 {
				policy.PatchMatchRadius = patchRadius
			}
			if leadRadius > 0 {
				policy.PatchRadius = leadRadius
			}
			policy.MinQuality = minQuality
			o.Match = &policy
			o.Logger = a.logger()
			rep, err := robustness.Run(cmd.Context(), o)
			if err != nil {
				return err
			}
			if asJSON {
				return a.jsonLine(rep)
			}
			return rep.WriteTable(a.stdout)
		},
	}
	f := cmd.Flags()
	f.Uint64Var(&o.Seed, "seed", robustness.HeldOutSeed, "seed of every generated image and random transform")
	f.IntVar(&o.N, "n", 8, "captures per content kind (and unrelated images per kind)")
	f.IntVar(&o.HardNegatives, "hard-negatives", 3, "other photographs of each enrolled face and plate to query")
	f.BoolVar(&o.Extras, "extras", true, "also query crops beyond the fixture suite (crop15, crop20, rot3, cropuneven, cropuneven+jpeg)")
	f.IntVar(&o.Workers, "workers", runtime.GOMAXPROCS(0), "images hashed concurrently")
	f.IntVar(&pdqRadius, "pdq-radius", 0, "whole-image PDQ radius (0: default)")
	f.IntVar(&regionRadius, "region-radius", 0, "radius for central regions, windows and straightened copies (0: default)")
	f.IntVar(&subRadius, "subimage-radius", 0, "radius for detected sub-images (0: default)")
	f.IntVar(&leadRadius, "patch-lead-radius", 0, "radius at which a query patch leads to an enrolled patch to verify (0: default)")
	f.IntVar(&patchRadius, "patch-match-radius", 0, "radius deciding a keypoint-patch lead (uneven crops; 0: default)")
	f.IntVar(&minQuality, "min-quality", pdq.MinQuality, "PDQ quality below which a hash is not used")
	f.BoolVar(&asJSON, "json", false, "print the report as one JSON object")
	return cmd
}
