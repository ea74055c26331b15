package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func noEnv(string) string { return "" }

func envMap(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestParseFullFile(t *testing.T) {
	const file = `
bank: bank.lwb
store: /var/lib/leakwatch/leakwatch.db
seeds:
  - https://dump.example/
  - http://abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvw.onion/
scope:
  allow_hosts: [cdn.dump.example, "files.dump.example:8443"]
  group_by: page
limits:
  max_depth: 4
  max_pages: 5000
  parallelism: 3
  delay: 250ms
  timeout: 2m
  max_image_bytes: 32MiB
  max_page_bytes: 500KB
  pdq_radius: 40
  user_agent: leakwatch-test
tor:
  mode: managed
  torrc: tor/torrc
alerts:
  webhooks: [https://siem.example.org/hooks/leakwatch]
  webhook_secret_file: /run/credentials/leakwatch.service/webhook-secret
  slack_url_file: slack-url
  log_file: /var/log/leakwatch/alerts.jsonl
  wait: 45s
watch:
  schedule: "@every 6h"
  listen: 127.0.0.1:9464
  listen_any: false
  unhealthy_after: 2
`
	c, err := Parse("/etc/leakwatch/leakwatch.yaml", []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{Options: Options{
		Bank:  "/etc/leakwatch/bank.lwb",
		Store: "/var/lib/leakwatch/leakwatch.db",
		Seeds: []string{"https://dump.example/", "http://abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvw.onion/"},
		Scope: Scope{AllowHosts: []string{"cdn.dump.example", "files.dump.example:8443"}, GroupBy: "page"},
		Limits: Limits{MaxDepth: 4, MaxPages: 5000, Parallelism: 3, Delay: 250 * time.Millisecond,
			Timeout: 2 * time.Minute, MaxImageBytes: 32 << 20, MaxPageBytes: 500_000,
			PDQRadius: 40, UserAgent: "leakwatch-test"},
		Tor: Tor{Mode: "managed", Torrc: "/etc/leakwatch/tor/torrc"},
		Alerts: Alerts{Webhooks: []string{"https://siem.example.org/hooks/leakwatch"},
			WebhookSecretFile: "/run/credentials/leakwatch.service/webhook-secret",
			SlackURLFiles:     []string{"/etc/leakwatch/slack-url"},
			LogFile:           "/var/log/leakwatch/alerts.jsonl", Wait: 45 * time.Second},
		Watch: Watch{Schedule: "@every 6h", Listen: "127.0.0.1:9464", ListenAny: false, UnhealthyAfter: 2},
	}}
	if diff := cmp.Diff(want, c, cmpopts.IgnoreUnexported(Config{})); diff != "" {
		t.Errorf("config mismatch (-want +got):\n%s", diff)
	}
	if got := c.Origin("limits.max_pages"); got != "leakwatch.yaml:12" {
		t.Errorf("origin of limits.max_pages = %q", got)
	}
	vals := c.Values()
	if got := vals["limits.max_image_bytes"]; len(got) != 1 || got[0] != "33554432" {
		t.Errorf("values[max_image_bytes] = %v", got)
	}
	if got := vals["limits.timeout"]; len(got) != 1 || got[0] != "2m0s" {
		t.Errorf("values[timeout] = %v", got)
	}
	if got := vals["seeds"]; len(got) != 2 {
		t.Errorf("values[seeds] = %v", got)
	}
}

func TestEmptyFilesSetNothing(t *testing.T) {
	for _, data := range []string{"", "# only a comment\n", "---\n", "limits:\n"} {
		c, err := Parse("lw.yaml", []byte(data))
		if err != nil {
			t.Errorf("%q: %v", data, err)
			continue
		}
		if v := c.Values(); len(v) != 0 {
			t.Errorf("%q set %v", data, v)
		}
	}
}

// TestProblemsAllAtOnce checks that one load reports every problem, each
// naming its key and line.
func TestProblemsAllAtOnce(t *testing.T) {
	const file = `bank: bank.lwb
limits:
  max_pages: many
  parallelism: 0
  max_pagez: 10
  delay: 10
  max_image_bytes: 12 parsecs
scope:
  group_by: host
tor:
  mode: tor
alerts:
  webhook_secret: whsec_c2VjcmV0c2VjcmV0c2VjcmV0
  webhooks:
    - ftp://example.org/
    - https://hooks.slack.com/services/T000/B000/XXXX
watch:
  schedule: every six hours
  listen: localhost
maxdepth: 3
seeds: https://ok.example/
seeds: https://twice.example/
`
	_, err := Parse("lw.yaml", []byte(file))
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want *Error", err)
	}
	want := []struct{ where, key, msg string }{
		{"lw.yaml:3", "limits.max_pages", "want an integer"},
		{"lw.yaml:4", "limits.parallelism", "out of range 1..64"},
		{"lw.yaml:5", "limits.max_pagez", "did you mean limits.max_pages?"},
		{"lw.yaml:6", "limits.delay", "want a duration"},
		{"lw.yaml:7", "limits.max_image_bytes", "want a size"},
		{"lw.yaml:9", "scope.group_by", "must be one of site, page"},
		{"lw.yaml:11", "tor.mode", "must be off, managed or socks5://HOST:PORT"},
		{"lw.yaml:13", "alerts.webhook_secret", "must not be written in the configuration file"},
		{"lw.yaml:15", "alerts.webhooks", "http:// or https://"},
		{"lw.yaml:16", "alerts.webhooks", "Slack incoming-webhook URL"},
		{"lw.yaml:18", "watch.schedule", "schedule \"every six hours\""},
		{"lw.yaml:19", "watch.listen", "want HOST:PORT"},
		{"lw.yaml:20", "maxdepth", "did you mean limits.max_depth?"},
		{"lw.yaml:22", "seeds", "set twice"},
	}
	if len(ce.Problems) != len(want) {
		t.Errorf("got %d problems, want %d:\n%s", len(ce.Problems), len(want), strings.ReplaceAll(ce.Error(), "; ", "\n"))
	}
	for i, w := range want {
		if i >= len(ce.Problems) {
			break
		}
		p := ce.Problems[i]
		if p.Where != w.where || p.Key != w.key || !strings.Contains(p.Msg, w.msg) {
			t.Errorf("problem %d = %s, want %s: %s: ...%s...", i, p, w.where, w.key, w.msg)
		}
	}
	// The secret's value never appears in the error.
	if strings.Contains(err.Error(), "whsec_c2Vj") || strings.Contains(err.Error(), "XXXX") {
		t.Errorf("error leaks a credential: %v", err)
	}
}

func TestFileLevelProblems(t *testing.T) {
	cases := []struct {
		name, file, data, want string
	}{
		{"toml", "lw.toml", "bank = 'x'", "not supported"},
		{"not yaml", "lw.yaml", "bank: [unclosed", "not valid YAML"},
		{"two documents", "lw.yaml", "bank: a\n---\nbank: b\n", "more than one YAML document"},
		{"top-level list", "lw.yaml", "- bank\n", "must be a mapping"},
		{"section scalar", "lw.yaml", "limits: 5\n", "limits must be a mapping"},
		{"list for scalar", "lw.yaml", "bank: [a, b]\n", "want a single path value"},
		{"mapping for list", "lw.yaml", "seeds: {a: b}\n", "want a list"},
		{"nested list item", "lw.yaml", "seeds: [[https://a.example/]]\n", "single values"},
		{"too big", "lw.yaml", "# " + strings.Repeat("x", MaxFileBytes), "limit is"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.file, []byte(tc.data))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestEnvOverridesFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "leakwatch.yaml")
	if err := os.WriteFile(path, []byte("bank: bank.lwb\nseeds: [https://a.example/, https://b.example/]\nlimits: {max_pages: 10, delay: 1s}\ntor: {mode: off}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := envMap(map[string]string{
		"LEAKWATCH_SEEDS":     "https://c.example/  https://d.example/",
		"LEAKWATCH_MAX_PAGES": "20",
		"LEAKWATCH_TOR":       "socks5://127.0.0.1:9050",
		"LEAKWATCH_STORE":     "rel/lw.db", // env paths stay relative to the working directory
		"LEAKWATCH_DELAY":     "",          // empty means unset
	})
	c, err := Load(path, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"https://c.example/", "https://d.example/"}, c.Seeds); diff != "" {
		t.Errorf("seeds (-want +got):\n%s", diff)
	}
	if c.Limits.MaxPages != 20 || c.Limits.Delay != time.Second || c.Tor.Mode != "socks5://127.0.0.1:9050" {
		t.Errorf("limits/tor = %+v %+v", c.Limits, c.Tor)
	}
	if c.Bank != filepath.Join(dir, "bank.lwb") || c.Store != "rel/lw.db" {
		t.Errorf("bank %q store %q", c.Bank, c.Store)
	}
	if c.Origin("limits.max_pages") != "LEAKWATCH_MAX_PAGES" || c.Origin("limits.delay") != "leakwatch.yaml:3" {
		t.Errorf("origins: %q %q", c.Origin("limits.max_pages"), c.Origin("limits.delay"))
	}
}

func TestEnvProblemsNameTheVariable(t *testing.T) {
	_, err := Load("", envMap(map[string]string{"LEAKWATCH_PARALLELISM": "lots", "LEAKWATCH_LISTEN_ANY": "maybe"}), nil)
	var ce *Error
	if !errors.As(err, &ce) || len(ce.Problems) != 2 {
		t.Fatalf("err = %v", err)
	}
	for _, p := range ce.Problems {
		if !strings.HasPrefix(p.Where, "LEAKWATCH_") {
			t.Errorf("problem %s does not name the variable", p)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"), noEnv, nil)
	if err == nil || !strings.Contains(err.Error(), "cannot read configuration") {
		t.Fatalf("err = %v", err)
	}
}

func TestParseSize(t *testing.T) {
	cases := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"1048576", 1 << 20, true},
		{"8MiB", 8 << 20, true},
		{"8 MiB", 8 << 20, true},
		{"500KB", 500_000, true},
		{"2gb", 2_000_000_000, true},
		{"10B", 10, true},
		{"0", 0, false},
		{"-5", 0, false},
		{"5TB", 0, false},
		{"MiB", 0, false},
		{"9999999999999GiB", 0, false},
	}
	for _, tc := range cases {
		got, err := ParseSize(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestParseSchedule(t *testing.T) {
	from := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		spec string
		next time.Time // zero: invalid
	}{
		{"@every 6h", from.Add(6 * time.Hour)},
		{"@hourly", time.Date(2026, 3, 1, 13, 0, 0, 0, time.Local)},
		{"CRON_TZ=UTC 30 3 * * *", time.Date(2026, 3, 2, 3, 30, 0, 0, time.UTC)},
		{"@every 10ms", time.Time{}},
		{"@every soon", time.Time{}},
		{"0 0 30 2 *", time.Time{}}, // never fires
		{"TZ=UTC", time.Time{}},     // panics the cron parser unguarded
		{"* * *", time.Time{}},
		{"", time.Time{}},
	}
	for _, tc := range cases {
		s, err := ParseSchedule(tc.spec)
		if tc.next.IsZero() {
			if err == nil {
				t.Errorf("ParseSchedule(%q) accepted", tc.spec)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseSchedule(%q): %v", tc.spec, err)
			continue
		}
		base := from
		if tc.spec == "@hourly" {
			base = time.Date(2026, 3, 1, 12, 0, 0, 0, time.Local)
		}
		if got := s.Next(base); !got.Equal(tc.next) {
			t.Errorf("ParseSchedule(%q).Next = %v, want %v", tc.spec, got, tc.next)
		}
	}
}

// TestSettingsAreConsistent guards the table every other part relies on.
func TestSettingsAreConsistent(t *testing.T) {
	keys, envs := map[string]bool{}, map[string]bool{}
	for _, s := range Settings() {
		if keys[s.Key] || (s.Env != "" && envs[s.Env]) {
			t.Errorf("duplicate key or variable: %s %s", s.Key, s.Env)
		}
		keys[s.Key], envs[s.Env] = true, true
		if s.Env != "" && !strings.HasPrefix(s.Env, "LEAKWATCH_") {
			t.Errorf("%s: variable %s lacks the LEAKWATCH_ prefix", s.Key, s.Env)
		}
		if _, isList := s.field(&Options{}).(*[]string); s.List != isList {
			t.Errorf("%s: list settings need a list field", s.Key)
		}
	}
	for k := range forbidden {
		if keys[k] {
			t.Errorf("%s is both a setting and forbidden", k)
		}
	}
}

// TestDocumentedExample keeps docs/examples/leakwatch.yaml valid and
// complete, and docs/operations.md listing every key and variable.
func TestDocumentedExample(t *testing.T) {
	data, err := os.ReadFile("../../docs/examples/leakwatch.yaml")
	if err != nil {
		t.Skipf("example not found: %v", err)
	}
	c, err := Parse("leakwatch.yaml", data)
	if err != nil {
		t.Fatalf("the example configuration does not load: %v", err)
	}
	ops, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	vals := c.Values()
	for _, s := range Settings() {
		if _, ok := vals[s.Key]; !ok {
			t.Errorf("the example does not show %s", s.Key)
		}
		if !strings.Contains(string(ops), "`"+s.Key+"`") {
			t.Errorf("docs/operations.md does not document %s", s.Key)
		}
		if s.Env != "" && !strings.Contains(string(ops), "`"+s.Env+"`") {
			t.Errorf("docs/operations.md does not document %s", s.Env)
		}
	}
}

// A store URL in the file is a URL, not a path relative to the file.
func TestStoreURLNotJoined(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "leakwatch.yaml")
	const u = "postgres://leakwatch@db.internal:5432/leakwatch?sslmode=verify-full"
	if err := os.WriteFile(path, []byte("bank: bank.lwb\nstore: "+u+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path, envMap(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Store != u || c.Bank != filepath.Join(dir, "bank.lwb") {
		t.Fatalf("store %q bank %q", c.Store, c.Bank)
	}
}
