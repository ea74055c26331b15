package privnet

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// fakeState is a network layout with made-up keys, enough to render every
// torrc without running tor.
func fakeState() *state {
	st := &state{Version: stateVersion}
	for i := range numAuthorities {
		st.Authorities = append(st.Authorities, authority{
			Nick: fmt.Sprintf("auth%d", i), ORPort: 20000 + i, DirPort: 20100 + i,
			V3Ident:     strings.Repeat(strconv.Itoa(i), 40),
			Fingerprint: strings.Repeat(string(rune('A'+i)), 40),
		})
	}
	return st
}

// writeEveryTorrc renders each kind of torrc the harness writes into dir,
// through the same functions Start, generate, ServeOnion and ClientTorrc use.
func writeEveryTorrc(t *testing.T, dir string) *Network {
	t.Helper()
	st := fakeState()
	n := &Network{Dir: dir}
	n.torrc = n.newParams(st.Authorities)
	if err := n.writeTorrcs(st); err != nil {
		t.Fatal(err)
	}
	for _, a := range st.Authorities {
		if err := writeTorrc(filepath.Join(dir, a.Nick+"-keygen.torrc"), n.newParams(nil).keygen(a)); err != nil {
			t.Fatal(err)
		}
	}
	if err := writeTorrc(filepath.Join(dir, "hs0.torrc"), n.torrc.onion("hs0", 20400)); err != nil {
		t.Fatal(err)
	}
	if err := n.ClientTorrc(filepath.Join(dir, "bine-client.torrc")); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestTorrcsFollowNetworkRule(t *testing.T) {
	dir := t.TempDir()
	writeEveryTorrc(t, dir)
	files, _ := filepath.Glob(filepath.Join(dir, "*.torrc"))
	// 5 authorities + 5 keygen + client0 + hs0 + the bine client.
	if len(files) != 2*numAuthorities+3 {
		t.Fatalf("found %d torrcs: %v", len(files), files)
	}
	for _, f := range files {
		assertPrivateTorrc(t, f)
	}
}

// assertPrivateTorrc checks the network rule on one torrc file, with a
// parser independent of the one in writeTorrc.
func assertPrivateTorrc(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	name := filepath.Base(path)
	conf := map[string][]string{}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, _ := strings.Cut(line, " ")
		conf[k] = append(conf[k], strings.TrimSpace(v))
	}
	if got := conf["TestingTorNetwork"]; len(got) != 1 || got[0] != "1" {
		t.Errorf("%s: TestingTorNetwork = %q, want exactly [1]", name, got)
	}
	if got := conf["UseDefaultFallbackDirs"]; len(got) != 1 || got[0] != "0" {
		t.Errorf("%s: UseDefaultFallbackDirs = %q, want exactly [0]", name, got)
	}
	if len(conf["DirAuthority"]) == 0 {
		t.Errorf("%s: no DirAuthority lines: tor would use the public authorities", name)
	}
	for _, v := range conf["DirAuthority"] {
		addrs := 0
		for _, f := range strings.Fields(v) {
			if strings.Contains(f, ":") && !strings.Contains(f, "=") {
				addrs++
				if !strings.HasPrefix(f, "127.0.0.1:") {
					t.Errorf("%s: DirAuthority address %q not on 127.0.0.1", name, f)
				}
			}
		}
		if addrs != 1 {
			t.Errorf("%s: DirAuthority %q: want one address", name, v)
		}
	}
	for k, vals := range conf {
		for _, v := range vals {
			switch {
			case k == "HiddenServicePort":
				f := strings.Fields(v)
				if len(f) != 2 || !strings.HasPrefix(f[1], "127.0.0.1:") {
					t.Errorf("%s: HiddenServicePort %q must target 127.0.0.1", name, v)
				}
			case strings.HasSuffix(k, "Port"):
				first := strings.Fields(v)[0]
				if first != "0" && !strings.HasPrefix(first, "127.0.0.1:") {
					t.Errorf("%s: %s %q not bound on 127.0.0.1", name, k, v)
				}
			case k == "ExitPolicy":
				if v != "accept 127.0.0.0/8:*" && v != "reject *:*" {
					t.Errorf("%s: ExitPolicy %q", name, v)
				}
			case k == "GeoIPFile" || k == "GeoIPv6File":
				if v != "/dev/null" {
					t.Errorf("%s: %s %q, want /dev/null", name, k, v)
				}
			case k == "FallbackDir" || k == "Bridge" || k == "UseBridges" || strings.HasSuffix(k, "Proxy"):
				t.Errorf("%s: %s must not be set", name, k)
			}
		}
	}
	if conf["ExitRelay"] != nil && len(conf["ExitPolicy"]) == 0 {
		t.Errorf("%s: an exit without an explicit loopback-only policy", name)
	}
	if len(conf["GeoIPFile"]) == 0 {
		t.Errorf("%s: GeoIPFile not set to /dev/null", name)
	}
	isNode := !strings.HasSuffix(name, "-keygen.torrc") && name != "bine-client.torrc"
	if isNode {
		if got := conf["__OwningControllerProcess"]; len(got) != 1 || got[0] != strconv.Itoa(os.Getpid()) {
			t.Errorf("%s: __OwningControllerProcess = %q, want our pid", name, got)
		}
	}
	if strings.HasSuffix(name, "-keygen.torrc") && (len(conf["DisableNetwork"]) != 1 || conf["DisableNetwork"][0] != "1") {
		t.Errorf("%s: the key-generation tor must have DisableNetwork 1", name)
	}
}

func TestWriteTorrcRefusesPublicConfigs(t *testing.T) {
	auth := "DirAuthority a orport=1 no-v2 v3ident=00 127.0.0.1:2 FF\n"
	tests := []struct {
		name string
		conf string
	}{
		{"empty", ""},
		{"no TestingTorNetwork", "UseDefaultFallbackDirs 0\n" + auth},
		{"TestingTorNetwork 0", "TestingTorNetwork 0\nUseDefaultFallbackDirs 0\n" + auth},
		{"fallbacks on", "TestingTorNetwork 1\nUseDefaultFallbackDirs 1\n" + auth},
		{"no authorities", "TestingTorNetwork 1\nUseDefaultFallbackDirs 0\n"},
		{"public authority", "TestingTorNetwork 1\nUseDefaultFallbackDirs 0\nDirAuthority moria1 orport=9201 v3ident=F533 128.31.0.39:9231 1A25\n"},
		{"fallback dir", "TestingTorNetwork 1\nUseDefaultFallbackDirs 0\n" + auth + "FallbackDir 1.2.3.4:80 orport=443 id=AA\n"},
		{"bridge", "TestingTorNetwork 1\nUseDefaultFallbackDirs 0\n" + auth + "UseBridges 1\n"},
	}
	for _, tt := range tests {
		path := filepath.Join(t.TempDir(), "x.torrc")
		if err := writeTorrc(path, tt.conf); err == nil {
			t.Errorf("%s: writeTorrc accepted it", tt.name)
		}
		if _, err := os.Stat(path); err == nil {
			t.Errorf("%s: file written despite the error", tt.name)
		}
	}
	ok := "TestingTorNetwork 1\nUseDefaultFallbackDirs 0\n" + auth
	if err := writeTorrc(filepath.Join(t.TempDir(), "ok.torrc"), ok); err != nil {
		t.Errorf("safe torrc refused: %v", err)
	}
}

func TestClientTorrcNeedsNetwork(t *testing.T) {
	if err := (&Network{}).ClientTorrc(filepath.Join(t.TempDir(), "c.torrc")); err == nil {
		t.Error("ClientTorrc on a network that never started must fail")
	}
	n := writeEveryTorrc(t, t.TempDir())
	if err := n.ClientTorrc(filepath.Join(t.TempDir(), "has space", "c.torrc")); err == nil {
		t.Error("a path torrc cannot hold unquoted must be refused")
	}
}
