package scan

import (
	"strings"
	"testing"

	"github.com/leakwatch/leakwatch/internal/config"
)

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
