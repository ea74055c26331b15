package demo

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/leakwatch/leakwatch/alerts"
	"github.com/leakwatch/leakwatch/crawler"
	"github.com/leakwatch/leakwatch/fingerprint"
	"github.com/leakwatch/leakwatch/fixtures/corpus"
	"github.com/leakwatch/leakwatch/internal/local"
	"github.com/leakwatch/leakwatch/internal/report"
	"github.com/leakwatch/leakwatch/internal/scan"
	"github.com/leakwatch/leakwatch/internal/store"
	"github.com/leakwatch/leakwatch/internal/tor"
	"github.com/leakwatch/leakwatch/internal/tor/privnet"
)

// Output renders what the demo found.
type Output interface {
	// Printf writes a message for the operator.
	Printf(format string, args ...any)
	// Finished reports the scan.
	Finished(report.Finished)
	// Incident shows one incident with its evidence.
	Incident(store.Incident)
}

// Options configure a demo run.
type Options struct {
	// Seed selects the generated fixtures.
	Seed uint64
	// Dir is a work directory to keep; "" uses a temporary one, of which
	// only the incident report is left.
	Dir string
	// Tor publishes the fixture site as an onion service on a private Tor
	// network and scans it through Tor.
	Tor bool
	// Stdout receives the incidents and the webhooks received.
	Stdout io.Writer
	Out    Output
	Logger *slog.Logger
}

// run is one demo in progress.
type run struct {
	o     Options
	dir   string
	c     *corpus.Corpus
	copts crawler.Options
	seed  string
	stops []func()
	// canary is the capture ID of the canary issued to Harbour, served
	// by the paste site (pasteSeed, empty in Tor mode).
	canary, canaryFile, pasteSeed string
}

func (r *run) stop() {
	for i := len(r.stops) - 1; i >= 0; i-- {
		r.stops[i]()
	}
}

// Run runs the demo and checks what it found.
func Run(ctx context.Context, o Options) error {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	r := &run{o: o, c: corpus.New(o.Seed)}
	defer r.stop()
	if err := r.workDir(); err != nil {
		return err
	}
	siteURL, err := r.startSite(ctx)
	if err != nil {
		return err
	}
	sec, recv, hookURL, err := r.startReceiver()
	if err != nil {
		return err
	}
	o.Out.Printf("fixture dump site on %s, webhook receiver on %s, work dir %s", siteURL, hookURL, r.dir)
	// As scan does by default: the incident is announced once, when the
	// scan ends, with everything it found.
	st, err := store.Open(ctx, filepath.Join(r.dir, "leakwatch.db"), store.WithAlertHold(10*time.Minute))
	if err != nil {
		return err
	}
	defer st.Close()
	bankPath := filepath.Join(r.dir, "bank.lwb")
	if err := r.enroll(ctx, bankPath); err != nil {
		return err
	}
	if r.canary, r.canaryFile, err = r.ledger(ctx, st, bankPath); err != nil {
		return err
	}
	if !o.Tor {
		// The paste site is on loopback, which the Tor transport cannot
		// reach.
		if r.pasteSeed, err = r.servePaste(r.canaryFile); err != nil {
			return err
		}
	}
	bank, err := fingerprint.LoadBank(bankPath)
	if err != nil {
		return err
	}
	if err := r.scan(ctx, bank, st, sec, hookURL); err != nil {
		return err
	}
	page, err := r.writeReport(ctx, st, bank)
	if err != nil {
		return err
	}
	err = r.check(ctx, st, recv)
	o.Out.Printf("incident report: %s (open it in a browser)", page)
	return err
}

// ReportName is the incident report the demo leaves in its work folder.
const ReportName = "report.html"

// writeReport writes the incident report (as leakwatch report does) into
// the work folder.
func (r *run) writeReport(ctx context.Context, st *store.Store, bank *fingerprint.Bank) (string, error) {
	page := filepath.Join(r.dir, ReportName)
	doc, err := report.Build(ctx, st, report.BuildOptions{Now: time.Now(), Capture: bank.Lookup, Store: filepath.Join(r.dir, "leakwatch.db"),
		Bank: filepath.Join(r.dir, "bank.lwb")})
	if err != nil {
		return "", err
	}
	return page, report.SaveFile(page, func(w io.Writer) error { return report.WriteHTML(w, doc) })
}

// workDir creates the work directory, or a temporary one, of which only
// the incident report is left at the end.
func (r *run) workDir() error {
	if r.o.Dir != "" {
		r.dir = r.o.Dir
		return os.MkdirAll(r.dir, 0o700)
	}
	tmp, err := os.MkdirTemp("", "leakwatch-demo-")
	if err != nil {
		return err
	}
	r.stops = append(r.stops, func() {
		entries, _ := os.ReadDir(tmp)
		for _, e := range entries {
			if e.Name() != ReportName {
				os.RemoveAll(filepath.Join(tmp, e.Name()))
			}
		}
		os.Remove(tmp) // only if no report was written
	})
	r.dir = tmp
	return nil
}

// startSite writes the captures and serves the fixture dump site, on
// loopback or as an onion service. It returns the loopback URL.
func (r *run) startSite(ctx context.Context) (string, error) {
	if err := r.c.WriteCaptures(filepath.Join(r.dir, "captures")); err != nil {
		return "", err
	}
	siteURL, stopSite, err := serveLoopback(r.c.Handler())
	if err != nil {
		return "", err
	}
	r.stops = append(r.stops, stopSite)
	r.seed = siteURL + "/"
	r.copts = crawler.Options{Parallelism: 4, RequestTimeout: 20 * time.Second, Logger: r.o.Logger}
	if r.o.Tor {
		onion, tr, stop, err := r.onion(ctx, r.c.Handler())
		if err != nil {
			return "", err
		}
		r.stops = append(r.stops, stop)
		r.seed = "http://" + onion + "/"
		r.copts.Transport, r.copts.CheckRedirect = tr, tor.CheckRedirect(tor.ModeSOCKS, r.o.Logger)
		r.copts.RequestTimeout, r.copts.Parallelism = 90*time.Second, 2
	}
	return siteURL, nil
}

// startReceiver serves a webhook receiver with a fresh secret.
func (r *run) startReceiver() (alerts.Secret, *alerts.Receiver, string, error) {
	var raw [32]byte
	_, _ = rand.Read(raw[:])
	sec, err := alerts.ParseSecret("whsec_" + base64.StdEncoding.EncodeToString(raw[:]))
	if err != nil {
		return alerts.Secret{}, nil, "", err
	}
	recv := alerts.NewReceiver(sec)
	hookURL, stopHook, err := serveLoopback(recv)
	if err != nil {
		return alerts.Secret{}, nil, "", err
	}
	r.stops = append(r.stops, stopHook)
	return sec, recv, hookURL, nil
}

// enroll enrolls the captures into a new bank.
func (r *run) enroll(ctx context.Context, bankPath string) error {
	capDir := filepath.Join(r.dir, "captures")
	rows, err := local.ReadManifest(filepath.Join(capDir, "manifest.csv"))
	if err != nil {
		return err
	}
	es, err := local.Enroll(ctx, bankPath, nil, local.EnrollOptions{Manifest: rows, Limits: fingerprint.DefaultLimits()}, func(res local.EnrollResult) {
		if res.Status == local.StatusError {
			r.o.Out.Printf("enroll %s: %s", res.Path, res.Error)
		}
	})
	if err != nil {
		return err
	}
	r.o.Out.Printf("enrolled %d captures into %s", es.Enrolled+es.LowQuality, bankPath)
	return nil
}

// scan scans the site, delivering to the receiver.
func (r *run) scan(ctx context.Context, bank *fingerprint.Bank, st *store.Store, sec alerts.Secret, hookURL string) error {
	hook, err := alerts.NewWebhook(hookURL+"/hook", sec, alerts.WithLogger(r.o.Logger))
	if err != nil {
		return err
	}
	key := alerts.EndpointKey("webhook", hookURL)
	sum, dres, err := scan.RunAndDeliver(ctx, scan.Config{
		Seeds: r.seeds(), Bank: bank, Match: fingerprint.DefaultMatchOptions(), Store: st,
		Crawler:   r.copts,
		Endpoints: []string{key}, Logger: r.o.Logger,
	}, scan.Delivery{Notifiers: map[string]alerts.Notifier{key: hook}, Wait: 20 * time.Second, Logger: r.o.Logger,
		OnError: func(err error) { r.o.Out.Printf("alert delivery: %v", err) }})
	if err != nil {
		return err
	}
	r.o.Out.Finished(report.Finished{Summary: sum, Alerts: &dres})
	return nil
}

// check shows the incidents and the webhooks and compares them with what
// the site leaks.
func (r *run) check(ctx context.Context, st *store.Store, recv *alerts.Receiver) error {
	found := map[string]bool{}
	incs, err := st.Incidents(ctx, "")
	if err != nil {
		return err
	}
	for _, inc := range incs {
		fmt.Fprintln(r.o.Stdout)
		r.o.Out.Incident(inc)
		for _, id := range inc.Captures {
			found[id] = true
		}
	}
	if err := r.showWebhooks(ctx, recv, len(incs)); err != nil {
		return err
	}
	if r.pasteSeed != "" {
		if !found[r.canary] {
			return fmt.Errorf("demo check failed: canary %s not found on %s", r.canary, r.pasteSeed)
		}
		delete(found, r.canary)
	}
	if err := checkAttribution(incs, r.pasteSeed); err != nil {
		return err
	}
	if err := r.checkCaptures(r.c.ExpectedLeaks(), found); err != nil {
		return err
	}
	return checkCopies(r.c.Leaks, incs)
}

// showWebhooks waits for n webhooks and prints them.
func (r *run) showWebhooks(ctx context.Context, recv *alerts.Receiver, n int) error {
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	got, err := recv.Wait(wctx, n)
	if err != nil {
		return fmt.Errorf("webhook not received: %w", err)
	}
	for _, ev := range got {
		var p struct {
			Data store.EventData `json:"data"`
		}
		_ = json.Unmarshal(ev.Body, &p)
		fmt.Fprintf(r.o.Stdout, "\nwebhook received: type=%s webhook-id=%s signature verified=%t\n  incident %s (%s), version %d, captures %s; new: %s\n",
			ev.Type, ev.ID, ev.Verified, p.Data.Incident.ID, p.Data.Incident.Source, p.Data.Incident.Version,
			strings.Join(p.Data.Incident.Captures, ", "), strings.Join(p.Data.NewCaptures, ", "))
		if a := p.Data.Incident.Attribution; a != nil {
			fmt.Fprintf(r.o.Stdout, "  attribution: %s\n", a.Summary)
		}
		if !ev.Verified {
			return errors.New("webhook signature did not verify")
		}
	}
	return nil
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

// onion starts a private Tor network in the work directory, publishes h
// as an onion service and returns its address and a transport that
// reaches it only through Tor.
func (r *run) onion(ctx context.Context, h http.Handler) (string, http.RoundTripper, func(), error) {
	if err := privnet.Available(); err != nil {
		return "", nil, nil, fmt.Errorf("demo --tor needs Debian's tor package: %w", err)
	}
	r.o.Out.Printf("starting a private Tor network on 127.0.0.1 (about 15-30 s)")
	netw, err := privnet.Start(ctx, filepath.Join(r.dir, "tor"), privnet.WithLogger(r.o.Logger))
	if err != nil {
		return "", nil, nil, err
	}
	onion, closeOnion, err := netw.ServeOnion(ctx, h)
	if err != nil {
		netw.Stop()
		return "", nil, nil, err
	}
	stop := func() { closeOnion(); netw.Stop() }
	tcfg, err := tor.ParseMode("socks5://" + netw.SOCKSAddr)
	if err != nil {
		stop()
		return "", nil, nil, err
	}
	tcfg.Logger = r.o.Logger
	tc, err := tor.Start(ctx, tcfg)
	if err != nil {
		stop()
		return "", nil, nil, err
	}
	r.o.Out.Printf("fixture dump site published as http://%s/ (Tor SOCKS %s)", onion, netw.SOCKSAddr)
	return onion, tc.Transport(), func() { tc.Close(); stop() }, nil
}

// checkCaptures compares the captures found with those the site leaks.
func (r *run) checkCaptures(expected map[string][]string, found map[string]bool) error {
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
	r.o.Out.Printf("demo ok: every planted leak found (%s), nothing unrelated matched", strings.Join(ids, ", "))
	return nil
}

// checkCopies checks that every planted copy, not just every capture, is
// in the evidence: a capture leaked twice must be found twice.
func checkCopies(leaks []corpus.Leak, incs []store.Incident) error {
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
