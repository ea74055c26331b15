package scan

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/leakwatch/leakwatch/crawler"
	"github.com/leakwatch/leakwatch/fingerprint"
	"github.com/leakwatch/leakwatch/fingerprint/hamming"
	"github.com/leakwatch/leakwatch/internal/store"
)

// A bank of hashes imported from another PDQ system (Meta's reference
// front end) finds a leaked copy during a scan, rotated or not.
func TestScanMatchesImportedHashes(t *testing.T) {
	orig, err := os.ReadFile("../../fixtures/pdq/data/reg-test-input/dih/bridge-2-rotate-90.jpg")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/leak.jpg" {
			w.Header().Set("Content-Type", "image/jpeg")
			_, _ = w.Write(orig)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte(`<img src="/leak.jpg">`))
	}))
	defer srv.Close()
	// The reference hash of the upright bridge photo, as Meta's tools print it.
	h, _ := hamming.ParseHash256("f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22")
	bank := fingerprint.NewBank()
	if err := bank.Add(fingerprint.Enrollment{Capture: fingerprint.Capture{ID: "ext-bridge"}, NoPHash: true,
		PDQ: []fingerprint.RegionHash{{Hash: h, Region: fingerprint.RegionImported, Quality: 100}}}); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "lw.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sum, err := Run(context.Background(), Config{Seeds: []string{srv.URL + "/"}, Bank: bank, Store: st, Crawler: crawler.Options{RequestTimeout: 5 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Matches != 1 {
		t.Fatalf("summary %+v: the imported hash did not match the rotated copy", sum)
	}
}
