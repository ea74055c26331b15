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
// no pixels to read: the refusal must come with it, and a fingerprint
// cached by a scan that read nothing must not be used by one that reads.
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

	// A scan without the feature route reads nothing and refuses nothing:
	// the look-alike matches there, and the fingerprint it caches must not
	// serve a later scan that reads, which hashes the image again.
	st2, err := store.Open(ctx, filepath.Join(t.TempDir(), "lw.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	noFeatures := fingerprint.DefaultMatchOptions()
	noFeatures.NoFeatures = true
	for _, tc := range []struct {
		path    string
		match   fingerprint.MatchOptions
		matches int64
		cached  int64
	}{
		{"/b.jpg", noFeatures, 1, 0},
		{"/copy-of-b.jpg", fingerprint.DefaultMatchOptions(), 0, 0},
		{"/again-b.jpg", fingerprint.DefaultMatchOptions(), 0, 1},
	} {
		sum, err := Run(ctx, Config{Seeds: []string{srv.URL + tc.path}, Bank: bank, Store: st2, Match: tc.match})
		if err != nil {
			t.Fatal(err)
		}
		if sum.Images != 1 || sum.Matches != tc.matches || sum.Cached != tc.cached {
			t.Errorf("%s (no features %v): %+v, want %d matches, %d cached", tc.path, tc.match.NoFeatures, sum, tc.matches, tc.cached)
		}
	}
}
