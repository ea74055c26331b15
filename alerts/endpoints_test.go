package alerts

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpenTargets(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "slack-url")
	two := filepath.Join(dir, "two-urls")
	_ = os.WriteFile(good, []byte("http://127.0.0.1:1/services/T/B/secret\n"), 0o600)
	_ = os.WriteFile(two, []byte("http://127.0.0.1:1/a\nhttp://127.0.0.1:1/b\n"), 0o600)
	sec, err := NewSecret(nil)
	if err != nil {
		t.Fatal(err)
	}
	withSecret := func(k string) string { return map[string]string{EnvSecret: sec.Reveal()}[k] }
	noSecret := func(string) string { return "" }
	cases := []struct {
		name     string
		t        Targets
		getenv   func(string) string
		keys     int
		targetOK bool // false: a *TargetError is expected
	}{
		{"nothing", Targets{}, noSecret, 0, true},
		{"webhook without secret", Targets{Webhooks: []string{"http://127.0.0.1:1/hook"}}, noSecret, 0, false},
		{"webhook twice", Targets{Webhooks: []string{"http://127.0.0.1:1/hook", "http://127.0.0.1:1/hook"}}, withSecret, 1, true},
		{"slack file", Targets{SlackFiles: []string{good}, LogFile: "-"}, noSecret, 2, true},
		{"slack file with two URLs", Targets{SlackFiles: []string{two}}, noSecret, 0, false},
		{"missing slack file", Targets{SlackFiles: []string{filepath.Join(dir, "none")}}, noSecret, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			eps, err := Open(tc.t, Env{Getenv: tc.getenv, ReadFile: os.ReadFile, Stdout: &out})
			if err == nil {
				defer eps.Close()
			}
			var te *TargetError
			if tc.targetOK != (err == nil) || !tc.targetOK && !errors.As(err, &te) {
				t.Fatalf("err = %v", err)
			}
			if len(eps.Keys) != tc.keys || len(eps.Notifiers) != tc.keys {
				t.Errorf("keys %v", eps.Keys)
			}
			if err != nil && strings.Contains(err.Error(), "secret\n") {
				t.Errorf("error shows the file's content: %v", err)
			}
		})
	}
}
