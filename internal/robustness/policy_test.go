package robustness

import (
	"testing"

	"github.com/leakwatch/leakwatch/fingerprint"
)

func TestRadiiPolicy(t *testing.T) {
	def := fingerprint.DefaultMatchOptions()
	cases := []struct {
		name  string
		radii Radii
		ok    bool
		check func(fingerprint.MatchOptions) bool
	}{
		{"zero keeps the defaults", Radii{}, true, func(p fingerprint.MatchOptions) bool {
			return p.PDQRadius == def.PDQRadius && p.PatchMatchRadius == def.PatchMatchRadius && p.MinQuality == 7
		}},
		{"overrides", Radii{PDQ: 40, PatchLead: 50}, true, func(p fingerprint.MatchOptions) bool {
			return p.PDQRadius == 40 && p.PatchRadius == 50 && p.RegionRadius == def.RegionRadius
		}},
		{"negative", Radii{Region: -1}, false, nil},
		{"too large", Radii{SubImage: 129}, false, nil},
	}
	for _, tc := range cases {
		p, err := tc.radii.Policy(7)
		if (err == nil) != tc.ok || tc.ok && !tc.check(p) {
			t.Errorf("%s: %+v, %v", tc.name, p, err)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		o  Options
		ok bool
	}{{Options{N: 1}, true}, {Options{N: 0}, false}, {Options{N: 1001}, false}, {Options{N: 8, HardNegatives: 21}, false}} {
		if err := tc.o.Validate(); (err == nil) != tc.ok {
			t.Errorf("%+v: %v", tc.o, err)
		}
	}
}
