package demo

import (
	"bytes"
	"context"
	"fmt"
	"image/jpeg"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/leakwatch/leakwatch/fingerprint"
	"github.com/leakwatch/leakwatch/fixtures/transform"
	"github.com/leakwatch/leakwatch/internal/attribution"
	"github.com/leakwatch/leakwatch/internal/canary"
	"github.com/leakwatch/leakwatch/internal/local"
	"github.com/leakwatch/leakwatch/internal/store"
)

// The demo's two recipients. Northgate received most of what the fixture
// site leaks; Harbour received a few of the same captures among many
// others, and a canary, which a second dump site leaks.
const (
	northgate = "Northgate Logistics"
	harbour   = "Harbour Analytics"
	// registerSize is the number of the agency's other captures, known to
	// the demo bank by hash only, that the transfers also hold: without
	// them ten captures are too few for any chance probability to decide.
	registerSize = 330
)

// ledger records the demo's transfers and issues a canary to Harbour. It
// imports the register captures into the bank first, so every capture the
// ledger names is in the bank. It returns the canary's capture ID and
// image file.
func (r *run) ledger(ctx context.Context, st *store.Store, bankPath string) (string, string, error) {
	rng := rand.New(rand.NewPCG(r.o.Seed, 0x1ed9e7))
	var hashes strings.Builder
	reg := make([]string, registerSize)
	for i := range reg {
		reg[i] = fmt.Sprintf("register-%04d", i+1)
		// Random PDQ hashes stand for the agency's other captures: they
		// lie about 128 bits from anything, so they never match.
		fmt.Fprintf(&hashes, "%016x%016x%016x%016x,%s,face\n", rng.Uint64(), rng.Uint64(), rng.Uint64(), rng.Uint64(), reg[i])
	}
	if _, err := local.Import(bankPath, strings.NewReader(hashes.String()), local.ImportOptions{Algo: fingerprint.AlgoPDQ, Source: "register"}); err != nil {
		return "", "", err
	}
	ts := []store.Transfer{
		{ID: "NG-2019-07", Recipient: northgate, Date: "2019-07-01", Note: "checkpoint analytics, contract 7",
			Captures: append([]string{"traveler-0001", "traveler-0002", "traveler-0003", "traveler-0004", "plate-0001", "plate-0002"}, reg[:30]...)},
		{ID: "HB-2019-09", Recipient: harbour, Date: "2019-09-15", Note: "research sample",
			Captures: append([]string{"traveler-0003", "traveler-0006", "plate-0003", "plate-0004"}, reg[20:320]...)},
	}
	if _, err := st.AddTransfers(ctx, ts); err != nil {
		return "", "", err
	}
	// The canary's secret seed comes from the demo's seed, not from
	// crypto/rand: the demo is a fixed fixture, and one generated face in
	// a few hundred is a near twin of another (the paste site serves
	// generated strangers), which would make its outcome vary by run.
	var key [32]byte
	copy(key[:], fmt.Sprintf("leakwatch demo canary %d", r.o.Seed))
	issued, tr, err := canary.Issue(ctx, st, canary.Options{Recipient: harbour, Count: 1, Kind: "face", Date: "2019-09-15",
		Out: filepath.Join(r.dir, "canaries-for-harbour"), Bank: bankPath, IDPrefix: "traveler-", Rand: rand.NewChaCha8(key)})
	if err != nil {
		return "", "", err
	}
	r.o.Out.Printf("ledger: %s received %d captures (%s), %s %d (%s) and canary %s (%s)", northgate, len(ts[0].Captures), ts[0].ID,
		harbour, len(ts[1].Captures), ts[1].ID, issued[0].CaptureID, tr.ID)
	return issued[0].CaptureID, issued[0].Path, nil
}

// servePaste serves a second dump site, a paste page showing a resized
// copy of the canary, and returns its seed URL.
func (r *run) servePaste(canaryFile string) (string, error) {
	f, err := os.Open(canaryFile)
	if err != nil {
		return "", err
	}
	img, err := jpeg.Decode(f)
	f.Close()
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, transform.Resize(0.8)(img), &jpeg.Options{Quality: 80}); err != nil {
		return "", err
	}
	copyJPEG := buf.Bytes()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<html><body><h1>sample from a contractor share</h1><img src="/p/0001.jpg"></body></html>`)
	})
	mux.HandleFunc("GET /p/0001.jpg", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "image/jpeg")
		_, _ = w.Write(copyJPEG)
	})
	u, stop, err := serveLoopback(mux)
	if err != nil {
		return "", err
	}
	r.stops = append(r.stops, stop)
	return u + "/", nil
}

// checkAttribution requires the fixture site's leak to be attributed to
// Northgate and the paste site's to Harbour by its canary.
func checkAttribution(incs []store.Incident, pasteSeed string) error {
	for _, inc := range incs {
		a := inc.Attribution
		want, verdict := northgate, attribution.VerdictAttributed
		if strings.HasPrefix(pasteSeed, inc.Source) {
			want, verdict = harbour, attribution.VerdictCanary
		}
		if a == nil || a.Verdict != verdict || len(a.Named) != 1 || a.Named[0] != want {
			got := "none"
			if a != nil {
				got = a.Summary
			}
			return fmt.Errorf("demo check failed: incident %s (%s) attributed %s, want %s to %s", inc.ID, inc.Source, got, verdict, want)
		}
	}
	return nil
}

// seeds are the dump sites to scan: the fixture site and, off Tor, the
// paste site.
func (r *run) seeds() []string {
	if r.pasteSeed == "" {
		return []string{r.seed}
	}
	return []string{r.seed, r.pasteSeed}
}
