package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/leakwatch/leakwatch/alerts"
	"github.com/leakwatch/leakwatch/internal/config"
)

// summaryPages runs a --json scan and returns the pages of its summary.
func summaryPages(t *testing.T, stdout string) int {
	t.Helper()
	for _, line := range strings.Split(stdout, "\n") {
		var s struct {
			Type  string `json:"type"`
			Pages int    `json:"pages"`
		}
		if json.Unmarshal([]byte(line), &s) == nil && s.Type == "summary" {
			return s.Pages
		}
	}
	t.Fatalf("no summary in %q", stdout)
	return 0
}

// TestConfigPrecedence checks flags > LEAKWATCH_* > file > defaults with
// a value whose effect is visible: the number of pages a scan fetches.
func TestConfigPrecedence(t *testing.T) {
	fx := newOpsFixture(t, 0)
	cfgPath := filepath.Join(fx.dir, "leakwatch.yaml")
	// bank and store are relative to the file; seeds come from the file.
	if err := os.WriteFile(cfgPath, []byte("bank: bank.lwb\nstore: state/lw.db\nseeds: ["+fx.site+"]\nlimits:\n  max_pages: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		env   map[string]string
		flags []string
		want  int
	}{
		{"defaults", map[string]string{}, nil, 0}, // no configuration: every page of the site
		{"file", map[string]string{config.EnvConfig: cfgPath}, nil, 1},
		{"env over file", map[string]string{config.EnvConfig: cfgPath, "LEAKWATCH_MAX_PAGES": "2"}, nil, 2},
		{"flag over env", map[string]string{config.EnvConfig: cfgPath, "LEAKWATCH_MAX_PAGES": "2"}, []string{"--max-pages", "3"}, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"scan", "--json"}, tc.flags...)
			if tc.env[config.EnvConfig] == "" {
				args = append(args, "--bank", fx.bank, "--store", filepath.Join(t.TempDir(), "lw.db"), fx.site)
			}
			code, stdout, stderr := fx.runEnv(t, context.Background(), tc.env, args...)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			got := summaryPages(t, stdout)
			if tc.want == 0 && got <= 3 || tc.want > 0 && got != tc.want {
				t.Errorf("pages = %d, want %d (0: more than 3)", got, tc.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(fx.dir, "state", "lw.db")); err != nil {
		t.Errorf("store from the file not used: %v", err)
	}
	// --config beats LEAKWATCH_CONFIG, and other commands find the store.
	code, stdout, stderr := fx.runEnv(t, context.Background(), map[string]string{config.EnvConfig: "/nonexistent.yaml"},
		"--config", cfgPath, "incidents", "list", "--json")
	if code != exitOK || !strings.Contains(stdout, `"id":"inc_`) {
		t.Errorf("incidents list with --config: exit %d, %q %q", code, stdout, stderr)
	}
}

func TestConfigErrorsAreUsageErrors(t *testing.T) {
	fx := newOpsFixture(t, 0)
	cfgPath := filepath.Join(fx.dir, "bad.yaml")
	if err := os.WriteFile(cfgPath, []byte("limits:\n  max_pages: lots\n  parallelism: 0\nscope: {group_by: host}\nalerts: {webhook_secret: whsec_abc}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := fx.run(t, context.Background(), "--config", cfgPath, "scan", fx.site)
	if code != exitUsage {
		t.Fatalf("exit %d, want %d: %s", code, exitUsage, stderr)
	}
	for _, want := range []string{"4 problems", "bad.yaml:2: limits.max_pages", "bad.yaml:3: limits.parallelism", "scope.group_by", "alerts.webhook_secret"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q: %s", want, stderr)
		}
	}
	if strings.Contains(stderr, "whsec_abc") {
		t.Error("the error repeats the secret")
	}
	// A command that takes no configuration is not affected by it.
	if code, _, stderr := fx.runEnv(t, context.Background(), map[string]string{config.EnvConfig: cfgPath}, "version"); code != exitOK {
		t.Errorf("version with a broken configuration: exit %d: %s", code, stderr)
	}
	// Environment problems name the variable.
	code, _, stderr = fx.runEnv(t, context.Background(), map[string]string{"LEAKWATCH_TOR": "always"}, "scan", "--bank", fx.bank, fx.site)
	if code != exitUsage || !strings.Contains(stderr, "LEAKWATCH_TOR: tor.mode") {
		t.Errorf("bad LEAKWATCH_TOR: exit %d: %s", code, stderr)
	}
}

// TestConfigAlertsAndSecretFile configures a webhook and its secret file in
// the configuration only; the delivered alert verifies.
func TestConfigAlertsAndSecretFile(t *testing.T) {
	fx := newOpsFixture(t, 0)
	recv := newReceiver(t, fx.secret)
	secretFile := filepath.Join(fx.dir, "webhook-secret")
	if err := os.WriteFile(secretFile, []byte(fx.secret.Reveal()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(fx.dir, "leakwatch.yaml")
	cfg := "bank: bank.lwb\nstore: lw.db\nseeds: [" + fx.site + "]\nalerts:\n  webhooks: [" + recv.URL + "]\n  webhook_secret_file: webhook-secret\n  log_file: alerts.jsonl\n"
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := fx.runEnv(t, context.Background(), map[string]string{alerts.EnvSecret: ""}, "--config", cfgPath, "scan")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	evs := recv.Received()
	if len(evs) == 0 || !evs[0].Verified {
		t.Fatalf("received %+v", evs)
	}
	b, err := os.ReadFile(filepath.Join(fx.dir, "alerts.jsonl"))
	if err != nil || !strings.Contains(string(b), `"id":"`+evs[0].ID+`"`) {
		t.Errorf("log sink %q, %v", b, err)
	}
	// The variables win over the file: a wrong secret in the environment
	// makes the receiver reject the signature.
	other, _ := alerts.NewSecret(nil)
	code, stdout, _ := fx.runEnv(t, context.Background(), map[string]string{alerts.EnvSecret: other.Reveal()}, "--config", cfgPath, "alerts", "test", "--json")
	if code != exitError || !strings.Contains(stdout, "401") {
		t.Errorf("secret from the environment not preferred: exit %d, %s", code, stdout)
	}
}

// TestPatchSettings: the uneven crop on the fixture site is found through
// keypoint patches by default, not when LEAKWATCH_NO_PATCHES (the
// limits.no_patches key) turns them off, and an out-of-range
// --patch-match-radius is a usage error.
func TestPatchSettings(t *testing.T) {
	fx := newOpsFixture(t, 0)
	const uneven = "/attachments/7731/a3.jpg"
	foundUneven := func(env map[string]string) bool {
		code, stdout, stderr := fx.runEnv(t, context.Background(), env,
			"scan", "--json", "--bank", fx.bank, "--store", filepath.Join(t.TempDir(), "lw.db"), fx.site)
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		for _, line := range strings.Split(stdout, "\n") {
			var f struct{ Type, URL string }
			if json.Unmarshal([]byte(line), &f) == nil && f.Type == "finding" && strings.HasSuffix(f.URL, uneven) {
				return true
			}
		}
		return false
	}
	if !foundUneven(map[string]string{}) {
		t.Errorf("default scan did not find the uneven crop %s", uneven)
	}
	// Local features find it too: both routes must be off.
	if foundUneven(map[string]string{"LEAKWATCH_NO_PATCHES": "true", "LEAKWATCH_NO_FEATURES": "true"}) {
		t.Errorf("LEAKWATCH_NO_PATCHES=true and LEAKWATCH_NO_FEATURES=true still found %s", uneven)
	}
	if code, _, stderr := fx.run(t, context.Background(), "scan", "--bank", fx.bank, "--patch-match-radius", "0", fx.site); code != exitUsage {
		t.Errorf("--patch-match-radius 0: exit %d, want %d: %s", code, exitUsage, stderr)
	}
}

// TestEverySettingReachable walks the settings table: every command that
// takes a setting (and each of its subcommands) has the setting's flag,
// and the configuration file and the setting's variable both reach it.
// The values are those of the documented example configuration.
func TestEverySettingReachable(t *testing.T) {
	example, err := os.ReadFile("../../docs/examples/leakwatch.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("leakwatch.yaml", example)
	if err != nil {
		t.Fatal(err)
	}
	want := cfg.Values()
	cfgPath := filepath.Join(t.TempDir(), "leakwatch.yaml")
	if err := os.WriteFile(cfgPath, example, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, s := range config.Settings() {
		vals := want[s.Key]
		if len(vals) == 0 {
			t.Errorf("%s: the example does not set it", s.Key)
			continue
		}
		for _, name := range s.Commands {
			sources := map[string]map[string]string{"file": {config.EnvConfig: cfgPath}}
			if s.Env != "" {
				sources["env "+s.Env] = map[string]string{s.Env: strings.Join(vals, " ")}
			}
			for src, vars := range sources {
				for _, cmdName := range withSubcommands(t, name) {
					if src == "file" && s.Root() && !config.UsedBy(cmdName) {
						continue // reads the log settings from the environment only
					}
					a, cmd := configured(t, cmdName, vars)
					checkReached(t, a, cmd, s, vals, src)
				}
			}
		}
	}
}

// withSubcommands returns name and the paths of the commands below it.
func withSubcommands(t *testing.T, name string) []string {
	t.Helper()
	root := (&app{env: env{getenv: func(string) string { return "" }}}).rootCmd()
	cmd, _, err := root.Find(strings.Fields(name))
	if err != nil || commandName(cmd) != name {
		t.Fatalf("no command %q (%v)", name, err)
	}
	out := []string{name}
	for _, sub := range cmd.Commands() {
		out = append(out, commandName(sub))
	}
	return out
}

// configured builds the commands with vars as the environment and
// configures cmdName as a run would before executing it.
func configured(t *testing.T, cmdName string, vars map[string]string) (*app, *cobra.Command) {
	t.Helper()
	a := &app{env: env{getenv: func(k string) string { return vars[k] }, readFile: os.ReadFile}}
	cmd, _, err := a.rootCmd().Find(strings.Fields(cmdName))
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.ParseFlags(nil); err != nil {
		t.Fatal(err)
	}
	if err := a.configure(cmd); err != nil {
		t.Fatalf("%s: %v", cmdName, err)
	}
	return a, cmd
}

func checkReached(t *testing.T, a *app, cmd *cobra.Command, s config.Setting, vals []string, src string) {
	t.Helper()
	name := commandName(cmd)
	switch {
	case s.Flag != "":
		f := cmd.Flag(s.Flag)
		if f == nil || !config.IsSetting(f, s.Key) {
			t.Errorf("%s: %s has no --%s for %s", src, name, s.Flag, s.Key)
			return
		}
		got := f.Value.String()
		if s.List {
			got = strings.Trim(got, "[]")
		}
		if !f.Changed || got != strings.Join(vals, ",") {
			t.Errorf("%s: %s --%s = %q (set: %v), want %q", src, name, s.Flag, got, f.Changed, vals)
		}
	case s.Key == "seeds":
		if got, err := a.seeds(nil); err != nil || strings.Join(got, " ") != strings.Join(vals, " ") {
			t.Errorf("%s: %s seeds = %v, %v", src, name, got, err)
		}
	case s.Key == "alerts.webhook_secret_file":
		if got := a.getenv(alerts.EnvSecretFile); got != vals[0] {
			t.Errorf("%s: %s secret file = %q, want %q", src, name, got, vals[0])
		}
	default:
		t.Errorf("%s: no way to check that %s reaches %s", s.Key, src, name)
	}
}
