package scan

import (
	"bytes"
	"context"
	"image/color"
	"image/jpeg"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/leakwatch/leakwatch/fingerprint"
	"github.com/leakwatch/leakwatch/fixtures/photos"
	"github.com/leakwatch/leakwatch/fixtures/transform"
	"github.com/leakwatch/leakwatch/internal/store"
)

// TestPixelMatchNotLostToCache: a copy only the pixels find (the feature
// route, here a turned photograph) reposted with the same bytes on a
// second site must raise the second site's incident too; the cached
// fingerprint of the first sighting holds no features to find it with.
func TestPixelMatchNotLostToCache(t *testing.T) {
	ctx := context.Background()
	photo := photos.All()[0]
	bank := fingerprint.NewBank()
	e, err := fingerprint.EnrollImage(photo.Image)
	if err != nil {
		t.Fatal(err)
	}
	e.Capture = fingerprint.Capture{ID: photo.Name, Kind: "photo"}
	if err := bank.Add(e); err != nil {
		t.Fatal(err)
	}
	bank.BuildIndex()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, transform.RotateKeep(17, color.Gray{128})(photo.Image), &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	copyJPEG := buf.Bytes()
	// The premise: this copy is found through the features only.
	d, err := fingerprint.DecodeBytes(copyJPEG, fingerprint.DefaultLimits(), fingerprint.ForQuery())
	if err != nil {
		t.Fatal(err)
	}
	fp, err := fingerprint.Compute(d.Image, fingerprint.SourceSize(d.Width, d.Height))
	if err != nil {
		t.Fatal(err)
	}
	ms, err := fingerprint.NewMatcher(bank, fingerprint.DefaultMatchOptions()).Match(fp)
	if err != nil || len(ms) != 1 || ms[0].Via != fingerprint.ViaFeatures {
		t.Fatalf("premise: the turned copy matches %+v (%v), want one feature-route match", ms, err)
	}
	site := func() *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/":
				w.Header().Set("Content-Type", "text/html")
				_, _ = w.Write([]byte(`<img src="/turned.jpg">`))
			case "/turned.jpg":
				w.Header().Set("Content-Type", "image/jpeg")
				_, _ = w.Write(copyJPEG)
			default:
				http.NotFound(w, r)
			}
		}))
	}
	a, b := site(), site()
	defer a.Close()
	defer b.Close()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "lw.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, srv := range []*httptest.Server{a, b} {
		if _, err := Run(ctx, Config{Seeds: []string{srv.URL + "/"}, Bank: bank, Store: st}); err != nil {
			t.Fatal(err)
		}
	}
	incs, err := st.Incidents(ctx, "")
	if err != nil || len(incs) != 2 {
		t.Fatalf("incidents: %d (%v), want one per site", len(incs), err)
	}
}
