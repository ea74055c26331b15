package robustness

import (
	"errors"

	"github.com/leakwatch/leakwatch/fingerprint"
)

// Validate refuses a suite too small to measure or too large to run.
func (o Options) Validate() error {
	if o.N < 1 || o.N > 1000 {
		return errors.New("--n must be between 1 and 1000")
	}
	if o.HardNegatives < 0 || o.HardNegatives > 20 {
		return errors.New("--hard-negatives must be between 0 and 20")
	}
	return nil
}

// Radii override the radii of the default match policy, to measure
// another; 0 keeps the default.
type Radii struct {
	PDQ, Region, SubImage, PatchMatch, PatchLead int
}

// Policy is the default match policy with r's radii and minQuality.
func (r Radii) Policy(minQuality int) (fingerprint.MatchOptions, error) {
	policy := fingerprint.DefaultMatchOptions()
	for _, o := range []struct {
		v   int
		dst *int
	}{{r.PDQ, &policy.PDQRadius}, {r.Region, &policy.RegionRadius}, {r.SubImage, &policy.SubImageRadius},
		{r.PatchMatch, &policy.PatchMatchRadius}, {r.PatchLead, &policy.PatchRadius}} {
		if o.v < 0 || o.v > 128 {
			return policy, errors.New("radii must be between 0 and 128 (0: default)")
		}
		if o.v > 0 {
			*o.dst = o.v
		}
	}
	policy.MinQuality = minQuality
	return policy, nil
}
