package privnet

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/leakwatch/leakwatch/internal/freeport"
)

const (
	numAuthorities = 5
	stateFile      = "network.json"
	stateVersion   = 1
	// certMonths is tor-gencert's -m: how long authority certificates last.
	certMonths = "12"
	// certMargin: a warm start needs certificates valid for at least this
	// long, or the keys are regenerated.
	certMargin = 7 * 24 * time.Hour
)

// state is what a warm restart needs to rebuild identical torrcs.
type state struct {
	Version     int         `json:"version"`
	Created     time.Time   `json:"created"`
	Authorities []authority `json:"authorities"`
}

// loadWarmState returns the saved state if dir can be restarted as is: same
// version, all keys present, certificates not about to expire and every
// authority port free. Any other answer means a cold start.
func loadWarmState(dir string) (*state, string) {
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return nil, "no saved network"
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil || st.Version != stateVersion || len(st.Authorities) != numAuthorities {
		return nil, "saved network unreadable or from another version"
	}
	for _, a := range st.Authorities {
		d := filepath.Join(dir, a.Nick)
		for _, f := range []string{"keys/authority_certificate", "keys/authority_signing_key", "keys/authority_identity_key", "keys/secret_id_key"} {
			if _, err := os.Stat(filepath.Join(d, f)); err != nil {
				return nil, "missing " + filepath.Join(a.Nick, f)
			}
		}
		exp, err := certExpiry(filepath.Join(d, "keys", "authority_certificate"))
		if err != nil || time.Until(exp) < certMargin {
			return nil, "authority certificate expired or unreadable"
		}
		for _, p := range []int{a.ORPort, a.DirPort} {
			ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
			if err != nil {
				return nil, fmt.Sprintf("port %d busy", p)
			}
			ln.Close()
		}
	}
	return &st, ""
}

func certExpiry(path string) (time.Time, error) {
	v, err := certField(path, "dir-key-expires")
	if err != nil {
		return time.Time{}, err
	}
	return time.Parse(time.DateTime, v)
}

// certField returns the value of the first line "name value" in a tor
// certificate file.
func certField(path, name string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			return strings.TrimSpace(v), nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("%s: no %q line", path, name)
}

// wipe removes everything a previous network left in dir, and only that.
func wipe(dir string) error {
	var errs []error
	for _, pat := range []string{"auth[0-9]*", "client[0-9]*", "hs[0-9]*", "*.torrc", "*.torrc.log", stateFile, "resolv.conf"} {
		matches, _ := filepath.Glob(filepath.Join(dir, pat))
		for _, m := range matches {
			errs = append(errs, os.RemoveAll(m))
		}
	}
	return errors.Join(errs...)
}

// generate creates fresh authority keys in parallel (tor-gencert's RSA-3072
// key is most of the cost) and saves the state.
func (n *Network) generate(ctx context.Context) (*state, error) {
	// Below the ephemeral range (freeport): the ports are saved for a
	// warm restart, and must still be free then.
	ports, err := freeport.Pick(2 * numAuthorities)
	if err != nil {
		return nil, fmt.Errorf("privnet: %w", err)
	}
	st := &state{Version: stateVersion, Created: time.Now().UTC()}
	for i := range numAuthorities {
		st.Authorities = append(st.Authorities, authority{
			Nick: fmt.Sprintf("auth%d", i), ORPort: ports[2*i], DirPort: ports[2*i+1],
		})
	}
	var wg sync.WaitGroup
	errs := make([]error, numAuthorities)
	for i := range st.Authorities {
		wg.Go(func() { errs[i] = n.genAuthority(ctx, &st.Authorities[i]) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(n.Dir, stateFile), b, 0o600); err != nil {
		return nil, fmt.Errorf("privnet: saving state: %w", err)
	}
	return st, nil
}

func (n *Network) genAuthority(ctx context.Context, a *authority) error {
	d := filepath.Join(n.Dir, a.Nick)
	keys := filepath.Join(d, "keys")
	if err := os.MkdirAll(keys, 0o700); err != nil {
		return fmt.Errorf("privnet: %w", err)
	}
	cert := filepath.Join(keys, "authority_certificate")
	gencert := exec.CommandContext(ctx, n.opts.gencertPath,
		"--create-identity-key", "--passphrase-fd", "0", "-m", certMonths,
		"-a", fmt.Sprintf("127.0.0.1:%d", a.DirPort),
		"-i", filepath.Join(keys, "authority_identity_key"),
		"-s", filepath.Join(keys, "authority_signing_key"),
		"-c", cert)
	gencert.Stdin = strings.NewReader("\n") // empty passphrase
	gencert.Env = torEnv()
	if out, err := gencert.CombinedOutput(); err != nil {
		return fmt.Errorf("privnet: tor-gencert for %s: %w\n%s", a.Nick, err, out)
	}
	v3, err := certField(cert, "fingerprint")
	if err != nil {
		return fmt.Errorf("privnet: %s certificate: %w", a.Nick, err)
	}
	a.V3Ident = v3

	torrc := filepath.Join(n.Dir, a.Nick+"-keygen.torrc")
	if err := writeTorrc(torrc, n.newParams(nil).keygen(*a)); err != nil {
		return err
	}
	list := exec.CommandContext(ctx, n.opts.torPath, "-f", torrc, "--list-fingerprint")
	list.Env = torEnv()
	if out, err := list.CombinedOutput(); err != nil {
		return fmt.Errorf("privnet: tor --list-fingerprint for %s: %w\n%s", a.Nick, err, out)
	}
	b, err := os.ReadFile(filepath.Join(d, "fingerprint"))
	if err != nil {
		return fmt.Errorf("privnet: %s fingerprint: %w", a.Nick, err)
	}
	f := strings.Fields(string(b))
	if len(f) != 2 || len(f[1]) != 40 {
		return fmt.Errorf("privnet: %s fingerprint file: %q", a.Nick, bytes.TrimSpace(b))
	}
	a.Fingerprint = f[1]
	return nil
}

// torEnv is the environment for every tor we start: glibc's per-thread
// arenas more than double tor's RSS, which matters with seven of them.
func torEnv() []string { return append(os.Environ(), "MALLOC_ARENA_MAX=1") }
