package scan

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/leakwatch/leakwatch/crawler"
	"github.com/leakwatch/leakwatch/fixtures/corpus"
	"github.com/leakwatch/leakwatch/internal/tor"
	"github.com/leakwatch/leakwatch/internal/tor/privnet"
)

// TestScanOverTor publishes the fixture dump site as a v3 onion service on a
// private Tor network on 127.0.0.1 and scans it in Tor mode: the planted
// leaks must be found through Tor. Skipped without tor or with -short.
func TestScanOverTor(t *testing.T) {
	if testing.Short() {
		t.Skip("private Tor network takes ~20 s")
	}
	if err := privnet.Available(); err != nil {
		t.Skipf("tor not installed: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	net, err := privnet.Start(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer net.Stop()
	c := corpus.New(3)
	onion, closeOnion, err := net.ServeOnion(ctx, c.Handler())
	if err != nil {
		t.Fatal(err)
	}
	defer closeOnion()

	tcfg, err := tor.ParseMode("socks5://" + net.SOCKSAddr)
	if err != nil {
		t.Fatal(err)
	}
	tc, err := tor.Start(ctx, tcfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	bank, st := setup(t, c.WriteCaptures)
	sum, err := Run(ctx, Config{
		Seeds: []string{"http://" + onion + "/"}, Bank: bank, Store: st,
		Crawler: crawler.Options{Transport: tc.Transport(), CheckRedirect: tor.CheckRedirect(tor.ModeSOCKS, nil), RequestTimeout: 90 * time.Second, Parallelism: 2},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("summary over Tor: %+v", sum)
	incs, err := st.Incidents(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(incs) != 1 || incs[0].Source != "http://"+onion {
		t.Fatalf("incidents %+v, want one for the onion", incs)
	}
	var want []string
	for _, ids := range c.ExpectedLeaks() {
		want = append(want, ids...)
	}
	for _, id := range incs[0].Captures {
		if !slices.Contains(want, id) {
			t.Errorf("unrelated capture %s matched", id)
		}
	}
	if len(incs[0].Captures) < 4 {
		t.Errorf("only %v found over Tor, want most of %v", incs[0].Captures, want)
	}
}
