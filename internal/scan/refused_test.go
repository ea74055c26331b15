package scan

import (
	"bytes"
	"context"
	"image/jpeg"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/leakwatch/leakwatch/fingerprint"
	"github.com/leakwatch/leakwatch/fixtures/imagegen"
	"github.com/leakwatch/leakwatch/internal/store"
)

// TestCachedFingerprintKeepsRefusals: a generated plate on the same car
// body as an enrolled one is within PDQ's radius of it, and the reading
// of the enrolled plate's features refuses the match. The same file found
// again at another URL is matched from the cached fingerprint, which has
// no pixels to read: the refusal must come with it.
func TestCachedFingerprintKeepsRefusals(t *testing.T) {
	ctx := context.Background()
	plate := func(i uint64) []byte {
		img, _ := imagegen.Plate(i*7919 + 13)
		var b bytes.Buffer
		if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 92}); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	enrolled, lookalike := plate(71), plate(241)
	d, err := fingerprint.DecodeBytes(enrolled, fingerprint.DefaultLimits(), fingerprint.ForEnroll())
	if err != nil {
		t.Fatal(err)
	}
	e, err := fingerprint.EnrollImage(d.Image)
	if err != nil {
		t.Fatal(err)
	}
	e.Capture = fingerprint.Capture{ID: "plate-71", Kind: "plate"}
	bank := fingerprint.NewBank()
	if err := bank.Add(e); err != nil {
		t.Fatal(err)
	}
	q, err := fingerprint.DecodeBytes(lookalike, fingerprint.DefaultLimits(), fingerprint.ForQuery())
	if err != nil {
		t.Fatal(err)
	}
	if fp, err := fingerprint.Compute(q.Image, fingerprint.SourceSize(q.Width, q.Height)); err != nil || fp.PDQ.Hashes[0].Distance(e.PDQ[0].Hash) > fingerprint.DefaultMatchOptions().PDQRadius {
		t.Fatalf("the look-alike is not within PDQ's radius of the enrolled plate (%v): the generator changed, pick another pair", err)
	}
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "lw.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/jpeg")
		_, _ = w.Write(lookalike)
	}))
	defer srv.Close()
	for i, path := range []string{"/a.jpg", "/copy-of-a.jpg"} {
		sum, err := Run(ctx, Config{Seeds: []string{srv.URL + path}, Bank: bank, Store: st})
		if err != nil {
			t.Fatal(err)
		}
		if sum.Matches != 0 || sum.Images != 1 || (i == 1) != (sum.Cached == 1) {
			t.Errorf("%s: %+v, want the image (from the cache the second time) and no match", path, sum)
		}
	}
}
