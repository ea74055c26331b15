package config

import (
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// TestDefaultsAreValid: every default parses and passes its own checks,
// so a flag left alone never holds a value the file would refuse.
func TestDefaultsAreValid(t *testing.T) {
	flags := map[string]bool{}
	for _, s := range Settings() {
		if s.Flag != "" {
			if flags[s.Flag] {
				t.Errorf("%s: flag --%s defined twice", s.Key, s.Flag)
			}
			flags[s.Flag] = true
			if s.Usage == "" {
				t.Errorf("%s: flag --%s has no usage", s.Key, s.Flag)
			}
		}
		if len(s.Commands) == 0 {
			t.Errorf("%s: no command takes it", s.Key)
		}
		if s.field(&Options{}) == nil {
			t.Errorf("%s: no field", s.Key)
		}
		if s.Default == "" {
			continue
		}
		x, err := s.parse(s.Default)
		if err == nil {
			err = s.validate(x)
		}
		if err != nil {
			t.Errorf("%s: default %q: %v", s.Key, s.Default, err)
		}
	}
}

// TestSameSpellingEverywhere sets each value through a flag, the file and
// the environment and expects the same typed result, or the same refusal.
func TestSameSpellingEverywhere(t *testing.T) {
	cases := []struct {
		key, flag, env, value string
		want                  func(o *Options) any
		ok                    bool
	}{
		{"limits.max_image_bytes", "max-image-bytes", "LEAKWATCH_MAX_IMAGE_BYTES", "64MiB", func(o *Options) any { return o.Limits.MaxImageBytes }, true},
		{"limits.max_page_bytes", "max-page-bytes", "LEAKWATCH_MAX_PAGE_BYTES", "500KB", func(o *Options) any { return o.Limits.MaxPageBytes }, true},
		{"limits.max_archive_bytes", "max-archive-bytes", "LEAKWATCH_MAX_ARCHIVE_BYTES", "1048576", func(o *Options) any { return o.Limits.MaxArchiveBytes }, true},
		{"limits.max_archive_bytes", "max-archive-bytes", "LEAKWATCH_MAX_ARCHIVE_BYTES", "5TB", nil, false},
		{"limits.delay", "delay", "LEAKWATCH_DELAY", "1m30s", func(o *Options) any { return o.Limits.Delay }, true},
		{"limits.archive_timeout", "archive-timeout", "LEAKWATCH_ARCHIVE_TIMEOUT", "90", nil, false},
		{"limits.max_pages", "max-pages", "LEAKWATCH_MAX_PAGES", "0x10", nil, false},
		{"limits.no_patches", "no-patches", "LEAKWATCH_NO_PATCHES", "true", func(o *Options) any { return o.Limits.NoPatches }, true},
	}
	for _, tc := range cases {
		t.Run(tc.flag+"="+tc.value, func(t *testing.T) {
			var fo Options
			fs := pflag.NewFlagSet("scan", pflag.ContinueOnError)
			AddFlags(fs, "scan", &fo)
			ferr := fs.Set(tc.flag, tc.value)
			c, cerr := Parse("lw.yaml", []byte(strings.Replace(tc.key, ".", ":\n  ", 1)+": "+tc.value+"\n"))
			e, eerr := Load("", func(k string) string { return map[string]string{tc.env: tc.value}[k] }, nil)
			for name, err := range map[string]error{"flag": ferr, "file": cerr, "env": eerr} {
				if (err == nil) != tc.ok {
					t.Errorf("%s: err = %v, want ok=%v", name, err, tc.ok)
				}
			}
			if !tc.ok {
				return
			}
			if f, fi, en := tc.want(&fo), tc.want(&c.Options), tc.want(&e.Options); f != fi || f != en {
				t.Errorf("flag %v, file %v, env %v", f, fi, en)
			}
		})
	}
}

func TestCheckFlags(t *testing.T) {
	cases := []struct {
		args []string
		want string // "" for no error
	}{
		{nil, ""},
		{[]string{"--max-image-bytes", "32MiB", "--timeout", "0"}, ""},
		{[]string{"--archive-max-ratio", "0"}, "--archive-max-ratio must be positive"},
		{[]string{"--parallelism", "65"}, "--parallelism 65 is out of range 1..64"},
		{[]string{"--patch-match-radius", "0"}, "--patch-match-radius must be positive"},
		{[]string{"--group-by", "host"}, "--group-by must be one of site, page"},
		{[]string{"--timeout", "10ms"}, "--timeout 10ms is below the minimum 1s"},
		{[]string{"--webhook", "ftp://example.org/"}, "--webhook URL must start with http:// or https://"},
	}
	for _, tc := range cases {
		var o Options
		fs := pflag.NewFlagSet("scan", pflag.ContinueOnError)
		AddFlags(fs, "scan", &o)
		if err := fs.Parse(tc.args); err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		err := CheckFlags(fs)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%v: err = %v, want %q", tc.args, err, tc.want)
		}
	}
}

func TestAddFlagsDefaults(t *testing.T) {
	var o Options
	fs := pflag.NewFlagSet("watch", pflag.ContinueOnError)
	AddFlags(fs, "watch", &o)
	if o.Limits.MaxImageBytes != 64<<20 || o.Limits.ArchiveTimeout != 2*time.Hour || o.Watch.Listen != "127.0.0.1:9477" || o.Tor.Mode != "off" {
		t.Errorf("defaults not applied: %+v", o)
	}
	if err := fs.Parse([]string{"--webhook", "https://a.example/", "--webhook", "https://b.example/", "--no-patches"}); err != nil {
		t.Fatal(err)
	}
	if len(o.Alerts.Webhooks) != 2 || !o.Limits.NoPatches {
		t.Errorf("after parsing: webhooks %v, no-patches %v", o.Alerts.Webhooks, o.Limits.NoPatches)
	}
	if fs.Lookup("bank") == nil || fs.Lookup("enroll") != nil {
		t.Error("watch takes --bank")
	}
	fs = pflag.NewFlagSet("incidents", pflag.ContinueOnError)
	AddFlags(fs, "incidents", &o)
	if fs.Lookup("store") == nil || fs.Lookup("bank") != nil || fs.Lookup("max-pages") != nil {
		t.Error("incidents takes --store only")
	}
}
