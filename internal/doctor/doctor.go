package doctor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/leakwatch/leakwatch/alerts"
	"github.com/leakwatch/leakwatch/fingerprint"
	"github.com/leakwatch/leakwatch/internal/lock"
	"github.com/leakwatch/leakwatch/internal/store"
	"github.com/leakwatch/leakwatch/internal/tor"
)

// Check is one finding.
type Check struct {
	Name   string `json:"check"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
	Hint   string `json:"hint,omitempty"`
}

// Tor starts (or reaches) Tor as mode says and checks that it carries
// traffic; bootstrap progress goes to progress.
func Tor(ctx context.Context, mode, torrc string, progress io.Writer, log *slog.Logger) Check {
	c := Check{Name: "tor"}
	cfg, err := tor.ParseMode(mode)
	if err != nil {
		c.Detail, c.Hint = err.Error(), "use --tor off, --tor managed --torrc FILE, or --tor socks5://127.0.0.1:9050"
		return c
	}
	if !cfg.Mode.IsTor() {
		c.OK, c.Detail = true, "Tor mode off: clearnet only, .onion seeds are refused"
		return c
	}
	cfg.TorrcFile, cfg.Progress, cfg.Logger = torrc, progress, log
	cctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	tc, err := tor.Start(cctx, cfg)
	if err != nil {
		c.Detail = strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", "; ")
		return c
	}
	defer tc.Close()
	if err := tc.Check(cctx); err != nil {
		c.Detail, c.Hint = err.Error(), "wait for tor to bootstrap, check its log and network"
		return c
	}
	c.OK, c.Detail = true, fmt.Sprintf("%s mode: SOCKS reachable; crawling and alerts go through Tor, host names unresolved", cfg.Mode)
	return c
}

// Bank loads the bank at path.
func Bank(path string) Check {
	c := Check{Name: "bank"}
	b, err := fingerprint.LoadBank(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		c.Detail, c.Hint = path+" does not exist", "create it with: leakwatch enroll --bank "+path+" DIR"
	case errors.Is(err, fingerprint.ErrBankFormat):
		c.Detail, c.Hint = err.Error(), "the file is damaged or from another version: re-enroll, or restore it from a backup"
	case err != nil:
		c.Detail = err.Error()
	default:
		st := b.Stats()
		c.OK = st.Captures > 0
		c.Detail = fmt.Sprintf("%s: %d captures, %d PDQ hashes, %d low quality", path, st.Captures, st.PDQHashes, st.LowQuality)
		if !c.OK {
			c.Hint = "the bank is empty: enroll your captures"
		}
	}
	return c
}

// Store opens the store at path and reports its alert backlog, then
// whether another run holds its lock.
func Store(ctx context.Context, path string) []Check {
	c := Check{Name: "store"}
	st, err := store.Open(ctx, path)
	if err != nil {
		c.Detail, c.Hint = err.Error(), "check the path and its permissions (--store or $XDG_DATA_HOME)"
		if store.IsPostgres(path) {
			c.Hint = "check that PostgreSQL is reachable, the URL (user, host, port, database; the password belongs in PGPASSFILE or PGPASSWORD) and that the role may create tables in the database"
		}
		return []Check{c}
	}
	defer st.Close()
	if err := st.Integrity(ctx); err != nil {
		c.Detail = fmt.Sprintf("%s: %v", store.Redact(path), err)
		c.Hint = "restore the store from a backup (or move it aside and let the next scan start a new one); sqlite3's .recover may save what is readable"
		return []Check{c}
	}
	v, _ := st.SchemaVersion(ctx)
	counts, _ := st.DeliveryCounts(ctx)
	c.OK = true
	c.Detail = fmt.Sprintf("%s: schema %d, alerts pending %d, delivered %d, given up %d", store.Redact(path), v, counts[store.DeliveryPending], counts[store.DeliveryDelivered], counts[store.DeliveryFailed])
	if counts[store.DeliveryFailed] > 0 {
		c.Hint = "some alerts were given up: check the endpoints and `leakwatch incidents list`"
	}
	if missing, err := st.MissingPrivileges(ctx); err != nil || len(missing) > 0 {
		c.OK = false
		c.Detail = fmt.Sprintf("%s: the role cannot read and write tables %v (%v)", store.Redact(path), missing, err)
		c.Hint = "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public (and USAGE on its sequences) to the workers' role"
	}
	l := Check{Name: "lock", OK: true, Detail: "no other run holds the lock"}
	if st.Postgres() {
		l.Detail = "PostgreSQL store: workers share it through leases in the database, no run lock"
		return []Check{c, l}
	}
	if lk, err := lock.Acquire(ctx, store.LockPath(path), 0); err != nil {
		// A running watcher holding the lock is not a fault. Other lock
		// errors are reported but do not fail the check either (as
		// before the move; the store check above already opened it).
		l.Detail = err.Error()
	} else {
		lk.Release()
	}
	return []Check{c, l}
}

// Secret checks that the webhook signing secret is configured.
func Secret(getenv func(string) string, readFile func(string) ([]byte, error)) Check {
	c := Check{Name: "secret"}
	_, ok, err := alerts.SecretFromEnv(getenv, readFile)
	switch {
	case err != nil:
		c.Detail, c.Hint = err.Error(), "set LEAKWATCH_WEBHOOK_SECRET=whsec_<base64> or LEAKWATCH_WEBHOOK_SECRET_FILE"
	case !ok:
		c.Detail, c.Hint = "no webhook signing secret", "set LEAKWATCH_WEBHOOK_SECRET=whsec_<base64> or LEAKWATCH_WEBHOOK_SECRET_FILE"
	default:
		c.OK, c.Detail = true, "webhook signing secret configured (whsec_****)"
	}
	return c
}

// Endpoint connects to a webhook endpoint without sending anything. In
// Tor mode (torMode) it does not connect: a run reaches the endpoint
// through Tor, and doctor makes no connection outside it.
func Endpoint(ctx context.Context, raw string, torMode bool) Check {
	c := Check{Name: "webhook"}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		c.Detail, c.Hint = "not an http(s) URL", "give the full endpoint URL"
		return c
	}
	if torMode {
		c.OK, c.Detail = true, u.Host+": not connected to in Tor mode (runs send alerts through Tor)"
		c.Hint = "the receiver must be reachable from a Tor exit, or be an onion service"
		return c
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(dctx, "tcp", net.JoinHostPort(u.Hostname(), port))
	if err != nil {
		c.Detail, c.Hint = u.Host+": "+err.Error(), "check the receiver is up and reachable from this host"
		return c
	}
	conn.Close()
	c.OK, c.Detail = true, u.Host+": reachable"
	if u.Scheme == "http" && !isLoopbackHost(u.Hostname()) {
		c.Hint = "plain http: alerts name leaked captures; prefer https"
	}
	return c
}

func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// WriteText prints one line per check, ok or FAIL with what it found,
// and the hint under it.
func WriteText(w io.Writer, cs []Check) error {
	for _, c := range cs {
		status := "ok  "
		if !c.OK {
			status = "FAIL"
		}
		if _, err := fmt.Fprintf(w, "%s %-8s %s\n", status, c.Name, c.Detail); err != nil {
			return err
		}
		if c.Hint != "" {
			if _, err := fmt.Fprintf(w, "              hint: %s\n", c.Hint); err != nil {
				return err
			}
		}
	}
	return nil
}

// Failed counts the checks that failed.
func Failed(cs []Check) int {
	n := 0
	for _, c := range cs {
		if !c.OK {
			n++
		}
	}
	return n
}
