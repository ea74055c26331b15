package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/leakwatch/leakwatch/alerts"
	"github.com/leakwatch/leakwatch/fingerprint"
	"github.com/leakwatch/leakwatch/internal/lock"
	"github.com/leakwatch/leakwatch/internal/store"
	"github.com/leakwatch/leakwatch/internal/tor"
)

// check is one doctor finding.
type check struct {
	Name   string `json:"check"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
	Hint   string `json:"hint,omitempty"`
}

func (a *app) doctorCmd() *cobra.Command {
	var bankPath, storePath, torMode, torrc string
	var webhooks []string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "doctor [--bank PATH] [--store PATH] [--tor MODE] [--webhook URL]...",
		Short: "Check Tor, the bank, the store and the alert endpoints, and say how to fix what is wrong",
		Long: `doctor runs every check it can and prints one line per check: ok or FAIL,
what it found, and a hint. It exits 1 if any check failed. It never sends an
alert: webhook endpoints are checked by resolving and connecting to them only.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if storePath == "" {
				storePath = a.defaultStorePath()
			}
			var cs []check
			cs = append(cs, a.checkTor(ctx, torMode, torrc))
			if bankPath != "" {
				cs = append(cs, checkBank(bankPath))
			}
			cs = append(cs, checkStore(ctx, storePath)...)
			if len(webhooks) > 0 {
				cs = append(cs, a.checkSecret())
				for _, u := range webhooks {
					cs = append(cs, checkEndpoint(ctx, u))
				}
			}
			failed := 0
			for _, c := range cs {
				if !c.OK {
					failed++
				}
				if asJSON {
					_ = a.jsonLine(c)
					continue
				}
				status := "ok  "
				if !c.OK {
					status = "FAIL"
				}
				fmt.Fprintf(a.stdout, "%s %-8s %s\n", status, c.Name, c.Detail)
				if c.Hint != "" {
					fmt.Fprintf(a.stdout, "              hint: %s\n", c.Hint)
				}
			}
			if failed > 0 {
				return fmt.Errorf("%d of %d checks failed", failed, len(cs))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&bankPath, "bank", "", "bank file to check")
	f.StringVar(&storePath, "store", "", "SQLite store (default $XDG_DATA_HOME/leakwatch/leakwatch.db)")
	f.StringVar(&torMode, "tor", "off", "off, managed or socks5://HOST:PORT")
	f.StringVar(&torrc, "torrc", "", "torrc for --tor managed")
	f.StringArrayVar(&webhooks, "webhook", nil, "webhook endpoint to check (repeatable)")
	f.BoolVar(&asJSON, "json", false, "one JSON object per check")
	return cmd
}

func (a *app) checkTor(ctx context.Context, mode, torrc string) check {
	c := check{Name: "tor"}
	cfg, err := tor.ParseMode(mode)
	if err != nil {
		c.Detail, c.Hint = err.Error(), "use --tor off, --tor managed --torrc FILE, or --tor socks5://127.0.0.1:9050"
		return c
	}
	if !cfg.Mode.IsTor() {
		c.OK, c.Detail = true, "Tor mode off: clearnet only, .onion seeds are refused"
		return c
	}
	cfg.TorrcFile, cfg.Progress, cfg.Logger = torrc, a.stderr, a.logger()
	cctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	tc, err := tor.Start(cctx, cfg)
	if err != nil {
		c.Detail = oneLine(err.Error())
		return c
	}
	defer tc.Close()
	if err := tc.Check(cctx); err != nil {
		c.Detail, c.Hint = err.Error(), "wait for tor to bootstrap, check its log and network"
		return c
	}
	c.OK, c.Detail = true, fmt.Sprintf("%s mode: SOCKS reachable, every connection and DNS lookup goes through Tor", cfg.Mode)
	return c
}

func checkBank(path string) check {
	c := check{Name: "bank"}
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

func checkStore(ctx context.Context, path string) []check {
	c := check{Name: "store"}
	st, err := store.Open(ctx, path)
	if err != nil {
		c.Detail, c.Hint = err.Error(), "check the path and its permissions (--store or $XDG_DATA_HOME)"
		return []check{c}
	}
	defer st.Close()
	v, _ := st.SchemaVersion(ctx)
	counts, _ := st.DeliveryCounts(ctx)
	c.OK = true
	c.Detail = fmt.Sprintf("%s: schema %d, alerts pending %d, delivered %d, given up %d", path, v, counts[store.DeliveryPending], counts[store.DeliveryDelivered], counts[store.DeliveryFailed])
	if counts[store.DeliveryFailed] > 0 {
		c.Hint = "some alerts were given up: check the endpoints and `leakwatch incidents list`"
	}
	l := check{Name: "lock", OK: true, Detail: "no other run holds the lock"}
	if lk, err := lock.Acquire(ctx, path+".lock", 0); err != nil {
		l.Detail = err.Error()
		l.OK = !errors.Is(err, lock.ErrLocked)
		if errors.Is(err, lock.ErrLocked) {
			l.OK = true // a running watcher is not a fault
		}
	} else {
		lk.Release()
	}
	return []check{c, l}
}

func (a *app) checkSecret() check {
	c := check{Name: "secret"}
	_, ok, err := alerts.SecretFromEnv(a.getenv, a.readFile)
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

func checkEndpoint(ctx context.Context, raw string) check {
	c := check{Name: "webhook"}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		c.Detail, c.Hint = "not an http(s) URL", "give the full endpoint URL"
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
