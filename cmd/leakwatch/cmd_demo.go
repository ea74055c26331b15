package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/leakwatch/leakwatch/alerts"
	"github.com/leakwatch/leakwatch/crawler"
	"github.com/leakwatch/leakwatch/fingerprint"
	"github.com/leakwatch/leakwatch/fixtures/corpus"
	"github.com/leakwatch/leakwatch/internal/local"
	"github.com/leakwatch/leakwatch/internal/outbox"
	"github.com/leakwatch/leakwatch/internal/scan"
	"github.com/leakwatch/leakwatch/internal/store"
	"github.com/leakwatch/leakwatch/internal/tor"
	"github.com/leakwatch/leakwatch/internal/tor/privnet"
)

func (a *app) demoCmd() *cobra.Command {
	var keep string
	var seed uint64
	var overTor bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole pipeline on built-in fixtures, on 127.0.0.1 only",
		Long: `demo generates synthetic agency captures (faces and licence plates), starts a
fixture dump site that leaks altered copies of some of them and a webhook
receiver, both on 127.0.0.1, enrolls the captures into a temporary bank,
scans the site, and prints the incidents and the signed webhook received.
It exits non-zero if a planted leak is missed or anything unrelated
matches. Nothing leaves the machine.

With --tor, demo starts a private Tor network on 127.0.0.1 (five directory
authorities and a client, every torrc with TestingTorNetwork 1 and
DirAuthority lines on 127.0.0.1 only; about 15-30 s), publishes the fixture
site as a v3 onion service and scans the .onion address through Tor.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runDemo(cmd.Context(), seed, keep, overTor) },
	}
	cmd.Flags().BoolVar(&overTor, "tor", false, "serve the fixture site as an onion service on a private Tor network on 127.0.0.1 (needs Debian's tor) and scan it through Tor")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "fixture seed")
	cmd.Flags().StringVar(&keep, "dir", "", "work directory to keep (default: a temporary one, removed afterwards)")
	return cmd
}

// serveLoopback serves h on an ephemeral 127.0.0.1 port.
func serveLoopback(h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() { _ = srv.Close() }, nil
}

func (a *app) runDemo(ctx context.Context, seed uint64, dir string, overTor bool) error {
	if dir == "" {
		tmp, err := os.MkdirTemp("", "leakwatch-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	c := corpus.New(seed)
	capDir := filepath.Join(dir, "captures")
	if err := c.WriteCaptures(capDir); err != nil {
		return err
	}
	siteURL, stopSite, err := serveLoopback(c.Handler())
	if err != nil {
		return err
	}
	defer stopSite()
	seedURL := siteURL + "/"
	copts := crawler.Options{Parallelism: 4, RequestTimeout: 20 * time.Second, Logger: a.logger()}
	if overTor {
		onion, tr, stop, err := a.demoOnion(ctx, dir, c.Handler())
		if err != nil {
			return err
		}
		defer stop()
		seedURL = "http://" + onion + "/"
		copts.Transport, copts.CheckRedirect = tr, tor.CheckRedirect(tor.ModeSOCKS, a.logger())
		copts.RequestTimeout, copts.Parallelism = 90*time.Second, 2
	}

	var raw [32]byte
	_, _ = rand.Read(raw[:])
	sec, err := alerts.ParseSecret("whsec_" + base64.StdEncoding.EncodeToString(raw[:]))
	if err != nil {
		return err
	}
	recv := alerts.NewReceiver(sec)
	hookURL, stopHook, err := serveLoopback(recv)
	if err != nil {
		return err
	}
	defer stopHook()
	a.msg("fixture dump site on %s, webhook receiver on %s, work dir %s", siteURL, hookURL, dir)

	bankPath := filepath.Join(dir, "bank.lwb")
	rows, err := local.ReadManifest(filepath.Join(capDir, "manifest.csv"))
	if err != nil {
		return err
	}
	es, err := local.Enroll(ctx, bankPath, nil, local.EnrollOptions{Manifest: rows, Limits: fingerprint.DefaultLimits()}, func(r local.EnrollResult) {
		if r.Status == local.StatusError {
			a.msg("enroll %s: %s", r.Path, r.Error)
		}
	})
	if err != nil {
		return err
	}
	a.msg("enrolled %d captures into %s", es.Enrolled+es.LowQuality, bankPath)
	bank, err := fingerprint.LoadBank(bankPath)
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, filepath.Join(dir, "leakwatch.db"))
	if err != nil {
		return err
	}
	defer st.Close()
	hook, err := alerts.NewWebhook(hookURL+"/hook", sec, alerts.WithLogger(a.logger()))
	if err != nil {
		return err
	}
	key := outbox.EndpointKey("webhook", hookURL)
	sum, dres, err := a.scanAndDeliver(ctx, scan.Config{
		Seeds: []string{seedURL}, Bank: bank, Match: fingerprint.DefaultMatchOptions(), Store: st,
		Crawler:   copts,
		Endpoints: []string{key}, Logger: a.logger(),
	}, st, map[string]alerts.Notifier{key: hook}, 20*time.Second)
	if err != nil {
		return err
	}
	a.printSummary(sum, dres)

	found := map[string]bool{}
	incs, err := st.Incidents(ctx, "")
	if err != nil {
		return err
	}
	for _, inc := range incs {
		fmt.Fprintln(a.stdout)
		a.printIncident(inc)
		for _, id := range inc.Captures {
			found[id] = true
		}
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	got, err := recv.Wait(wctx, len(incs))
	if err != nil {
		return fmt.Errorf("webhook not received: %w", err)
	}
	for _, ev := range got {
		var p struct {
			Data store.EventData `json:"data"`
		}
		_ = json.Unmarshal(ev.Body, &p)
		fmt.Fprintf(a.stdout, "\nwebhook received: type=%s webhook-id=%s signature verified=%t\n  incident %s (%s), version %d, captures %s; new: %s\n",
			ev.Type, ev.ID, ev.Verified, p.Data.Incident.ID, p.Data.Incident.Source, p.Data.Incident.Version,
			strings.Join(p.Data.Incident.Captures, ", "), strings.Join(p.Data.NewCaptures, ", "))
		if !ev.Verified {
			return errors.New("webhook signature did not verify")
		}
	}
	if err := a.checkDemo(c.ExpectedLeaks(), found); err != nil {
		return err
	}
	return checkDemoCopies(c.Leaks, incs)
}

// checkDemoCopies checks that every planted copy, not just every capture,
// is in the evidence: a capture leaked twice must be found twice.
func checkDemoCopies(leaks []corpus.Leak, incs []store.Incident) error {
	seen := map[string]bool{}
	for _, inc := range incs {
		for _, m := range inc.Matches {
			if u, err := url.Parse(m.URL); err == nil {
				seen[m.CaptureID+"|"+u.Path+"|"+m.ArchivePath] = true
			}
		}
	}
	var missed []string
	for _, l := range leaks {
		for _, cp := range l.Copies {
			if !seen[cp.CaptureID+"|"+cp.File+"|"+cp.Entry] {
				missed = append(missed, fmt.Sprintf("%s (%s at %s%s)", cp.CaptureID, cp.Transform, cp.File, cp.Entry))
			}
		}
	}
	if len(missed) > 0 {
		sort.Strings(missed)
		return fmt.Errorf("demo check failed: planted copies not found: %s", strings.Join(missed, "; "))
	}
	return nil
}

// demoOnion starts a private Tor network in dir, publishes h as an onion
// service and returns its address and a transport that reaches it only
// through Tor.
func (a *app) demoOnion(ctx context.Context, dir string, h http.Handler) (string, http.RoundTripper, func(), error) {
	if err := privnet.Available(); err != nil {
		return "", nil, nil, fmt.Errorf("demo --tor needs Debian's tor package: %w", err)
	}
	a.msg("starting a private Tor network on 127.0.0.1 (about 15-30 s)")
	netw, err := privnet.Start(ctx, filepath.Join(dir, "tor"), privnet.WithLogger(a.logger()))
	if err != nil {
		return "", nil, nil, err
	}
	onion, closeOnion, err := netw.ServeOnion(ctx, h)
	if err != nil {
		netw.Stop()
		return "", nil, nil, err
	}
	tcfg, err := tor.ParseMode("socks5://" + netw.SOCKSAddr)
	if err != nil {
		closeOnion()
		netw.Stop()
		return "", nil, nil, err
	}
	tcfg.Logger = a.logger()
	tc, err := tor.Start(ctx, tcfg)
	if err != nil {
		closeOnion()
		netw.Stop()
		return "", nil, nil, err
	}
	a.msg("fixture dump site published as http://%s/ (Tor SOCKS %s)", onion, netw.SOCKSAddr)
	return onion, tc.Transport(), func() { tc.Close(); closeOnion(); netw.Stop() }, nil
}

// checkDemo compares what was found with what the fixture site leaks.
func (a *app) checkDemo(expected map[string][]string, found map[string]bool) error {
	want := map[string]bool{}
	for _, ids := range expected {
		for _, id := range ids {
			want[id] = true
		}
	}
	var missed, extra []string
	for id := range want {
		if !found[id] {
			missed = append(missed, id)
		}
	}
	for id := range found {
		if !want[id] {
			extra = append(extra, id)
		}
	}
	sort.Strings(missed)
	sort.Strings(extra)
	if len(missed)+len(extra) > 0 {
		return fmt.Errorf("demo check failed: missed %v, unexpected %v", missed, extra)
	}
	ids := make([]string, 0, len(want))
	for id := range want {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	a.msg("demo ok: every planted leak found (%s), nothing unrelated matched", strings.Join(ids, ", "))
	return nil
}
