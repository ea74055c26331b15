package scan

import (
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/leakwatch/leakwatch/fingerprint"
	"github.com/leakwatch/leakwatch/fingerprint/feature"
	"github.com/leakwatch/leakwatch/internal/archive"
	"github.com/leakwatch/leakwatch/internal/config"
	"github.com/leakwatch/leakwatch/internal/imagefile"
	"github.com/leakwatch/leakwatch/internal/tor"
)

// TestSettingDefaultsMatchPackages keeps the defaults in the settings
// table (config may not import the packages that own them) equal to the
// packages' own, so a scan without flags runs with the packages' bounds.
func TestSettingDefaultsMatchPackages(t *testing.T) {
	var o Options
	config.AddFlags(pflag.NewFlagSet("scan", pflag.ContinueOnError), "scan", &o.Options)
	if got, want := o.ArchiveLimits(), archive.DefaultLimits(); got != want {
		t.Errorf("archive limits from the defaults = %+v, want %+v", got, want)
	}
	if got, want := o.MatchOptions(), fingerprint.DefaultMatchOptions(); got.PDQRadius != want.PDQRadius ||
		got.PatchMatchRadius != want.PatchMatchRadius || got.Patches != want.Patches {
		t.Errorf("match options from the defaults = %+v, want %+v", got, want)
	}
	if got, want := o.MatchOptions().Features.MaxRead, feature.DefaultSearchOptions().MaxRead; got != want {
		t.Errorf("feature reads from the defaults = %d, want %d", got, want)
	}
	o.Limits.MaxFeatureReads = 3
	if got := o.MatchOptions().Features.WithDefaults().MaxRead; got != 3 {
		t.Errorf("--max-feature-reads 3 gave MaxRead %d", got)
	}
	o.Limits.MaxFeatureReads = feature.DefaultSearchOptions().MaxRead
	if got, want := int64(o.Limits.MaxPixels), fingerprint.DefaultLimits().MaxPixels; got != want {
		t.Errorf("max pixels %d, want %d", got, want)
	}
	if got, want := o.Limits.MaxImageBytes, fingerprint.DefaultLimits().MaxBytes; got != want {
		t.Errorf("max image bytes %d, want %d", got, want)
	}
	if got, want := DecodeLimits(o.Limits), fingerprint.DefaultLimits(); got != want {
		t.Errorf("decode limits from the defaults = %+v, want %+v", got, want)
	}
	tc, err := tor.Start(t.Context(), tor.Config{Mode: tor.ModeOff})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	// An unset User-Agent leaves the crawler's default; an unset timeout
	// becomes a minute off Tor.
	if c := o.Crawler(tc, nil); c.UserAgent != "" || c.RequestTimeout != time.Minute {
		t.Errorf("crawler options %+v", c)
	}
	if got, want := o.Config(tc, nil, nil, nil, nil, nil).MaxGIFRedraw, imagefile.DefaultMaxRedraw; got != want {
		t.Errorf("GIF redraw bound %d, want %d", got, want)
	}
}

// TestDecodeLimitsCarrySettings: each decoding setting reaches the bound
// it names.
func TestDecodeLimitsCarrySettings(t *testing.T) {
	l := config.Limits{MaxImageBytes: 1, MaxPixels: 2, MaxJPEGScans: 3, MaxJPEGCoefBytes: 4, MaxDecodedPixels: 5,
		MaxTIFFRowBytes: 6, MaxTIFFBlocks: 7, MaxTIFFPaddedPixels: 8, MaxPNGChunks: 9, MaxPNGChunkBytes: 10, MaxPNGRowBytes: 11, MaxFullDecodeBytes: 12}
	want := fingerprint.Limits{MaxBytes: 1, MaxPixels: 2, MaxScans: 3, MaxCoefBytes: 4, MaxDecodedPixels: 5,
		MaxTIFFRowBytes: 6, MaxTIFFBlocks: 7, MaxTIFFPaddedPixels: 8, MaxPNGChunks: 9, MaxPNGChunkBytes: 10, MaxPNGRowBytes: 11, MaxFullDecodeBytes: 12}
	if got := DecodeLimits(l); got != want {
		t.Errorf("DecodeLimits(%+v) = %+v, want %+v", l, got, want)
	}
	if got, want := DecodeLimits(config.Limits{}), fingerprint.DefaultLimits(); got != want {
		t.Errorf("DecodeLimits of no settings = %+v, want the defaults %+v", got, want)
	}
}

// TestRadiusZeroKeepsPolicy: --pdq-radius 0 (the matcher's default radius)
// leaves the other match options as the flags set them; only options left
// entirely unset become the default policy.
func TestRadiusZeroKeepsPolicy(t *testing.T) {
	var o Options
	config.AddFlags(pflag.NewFlagSet("scan", pflag.ContinueOnError), "scan", &o.Options)
	o.Limits.PDQRadius, o.Limits.NoFeatures, o.Limits.NoPatches = 0, true, true
	cfg, _ := newScanner(Config{Bank: fingerprint.NewBank(), Match: o.MatchOptions()})
	if !cfg.Match.NoFeatures || cfg.Match.Patches || !cfg.Match.SubImages {
		t.Errorf("radius 0 with --no-features --no-patches became %+v", cfg.Match)
	}
	if cfg, _ := newScanner(Config{Bank: fingerprint.NewBank()}); cfg.Match != fingerprint.DefaultMatchOptions() {
		t.Errorf("unset options became %+v, want the default policy", cfg.Match)
	}
	// The same effective policy has the same cache key, so switching
	// between 0 and the default radius does not hash every image again.
	m0 := fingerprint.DefaultMatchOptions()
	m0.PDQRadius = 0
	_, s0 := newScanner(Config{Bank: fingerprint.NewBank(), Match: m0})
	_, sd := newScanner(Config{Bank: fingerprint.NewBank(), Match: fingerprint.DefaultMatchOptions()})
	if s0.policy != sd.policy {
		t.Error("radius 0 and the default radius give two cache keys")
	}
}

// In Tor mode the store is not reached through Tor, so it must be on this
// machine; off mode takes any store.
func TestValidateTorModeStore(t *testing.T) {
	t.Setenv("PGHOST", "")
	for _, tc := range []struct {
		tor, store string
		ok         bool
	}{
		{"off", "postgres://leakwatch@db.example/leakwatch", true},
		{"socks5://127.0.0.1:9050", "postgres://leakwatch@db.example/leakwatch", false},
		{"managed", "postgres://leakwatch@10.0.0.7/leakwatch", false},
		{"socks5://127.0.0.1:9050", "postgres://leakwatch@127.0.0.1,db.example/leakwatch", false},
		{"socks5://127.0.0.1:9050", "postgres://leakwatch@127.0.0.1:5432/leakwatch", true},
		{"socks5://127.0.0.1:9050", "postgres://leakwatch@[::1]/leakwatch", true},
		{"managed", "postgres://leakwatch@localhost/leakwatch", true},
		{"socks5://127.0.0.1:9050", "postgres:///leakwatch?host=/var/run/postgresql", true},
		{"socks5://127.0.0.1:9050", "/var/lib/leakwatch/lw.db", true},
	} {
		o := Options{Options: config.Options{Bank: "bank.lwb", Store: tc.store, Tor: config.Tor{Mode: tc.tor}}}
		err := o.Validate()
		if (err == nil) != tc.ok {
			t.Errorf("--tor %s --store %s: %v, want ok %v", tc.tor, tc.store, err, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "Tor mode") {
			t.Errorf("--tor %s --store %s: %v does not say why", tc.tor, tc.store, err)
		}
	}
}

func TestSpecMarksTorRuns(t *testing.T) {
	for mode, want := range map[string]bool{"off": false, "": false, "managed": true, "socks5://127.0.0.1:9050": true} {
		o := Options{Options: config.Options{Tor: config.Tor{Mode: mode}}}
		if got := o.Spec(nil).Tor; got != want {
			t.Errorf("Spec with --tor %q: Tor %v, want %v", mode, got, want)
		}
	}
}
