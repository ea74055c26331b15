package scan

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/jpeg"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/leakwatch/leakwatch/fingerprint"
	"github.com/leakwatch/leakwatch/fixtures/photos"
	"github.com/leakwatch/leakwatch/internal/store"
	"golang.org/x/image/draw"
)

// TestWholeImageOnlyCameraSize: a whole-image-only scan decodes a camera
// sized JPEG at its smallest scale (ForWhole, 1/8 here) and still finds
// the enrolled photograph it shows, and not another one. The decode bound
// admits the 1/8 decode but not the working size's 1/4, so the scan fails
// if it decodes at the working size. With imported hashes in the bank it
// must decode at the working size (the reference hash resamples the
// decoded image as Meta's does), and then that bound refuses it.
func TestWholeImageOnlyCameraSize(t *testing.T) {
	ctx := context.Background()
	all := photos.All()
	if len(all) < 2 {
		t.Fatal("need two fixture photographs")
	}
	enrolled, other := all[0], all[1]
	bank := fingerprint.NewBank()
	e, err := fingerprint.EnrollImage(enrolled.Image)
	if err != nil {
		t.Fatal(err)
	}
	e.Capture = fingerprint.Capture{ID: enrolled.Name}
	if err := bank.Add(e); err != nil {
		t.Fatal(err)
	}
	withImported := fingerprint.NewBank()
	if err := withImported.Add(e); err != nil {
		t.Fatal(err)
	}
	if err := withImported.Add(fingerprint.Enrollment{Capture: fingerprint.Capture{ID: "ext"}, NoPHash: true,
		PDQ: []fingerprint.RegionHash{{Region: fingerprint.RegionImported, Quality: 100}}}); err != nil {
		t.Fatal(err)
	}
	lim := fingerprint.DefaultLimits()
	lim.MaxDecodedPixels = 200_000
	camera := func(img image.Image) []byte {
		b := img.Bounds()
		w := 3072
		h := w * b.Dy() / b.Dx()
		big := image.NewRGBA(image.Rect(0, 0, w, h))
		draw.CatmullRom.Scale(big, big.Bounds(), img, b, draw.Src, nil)
		var out bytes.Buffer
		if err := jpeg.Encode(&out, big, &jpeg.Options{Quality: 85}); err != nil {
			t.Fatal(err)
		}
		if d, err := fingerprint.DecodeBytes(out.Bytes(), lim, fingerprint.ForWhole()); err != nil || d.Scale != 8 {
			t.Fatalf("ForWhole decoded %dx%d at 1/%d (%v), want 1/8", w, h, d.Scale, err)
		}
		if _, err := fingerprint.DecodeBytes(out.Bytes(), lim, fingerprint.ForQuery()); !errors.Is(err, fingerprint.ErrDecodeLimit) {
			t.Fatalf("ForQuery within the test's decode bound (%v): the bound no longer tells the sizes apart", err)
		}
		return out.Bytes()
	}
	files := map[string][]byte{"/leak.jpg": camera(enrolled.Image), "/other.jpg": camera(other.Image)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "image/jpeg")
		_, _ = w.Write(data)
	}))
	defer srv.Close()
	for _, tc := range []struct {
		name          string
		path          string
		bank          *fingerprint.Bank
		hashed, match int64
		decodeLimit   int64
	}{
		{"copy", "/leak.jpg", bank, 1, 1, 0},
		{"other photograph", "/other.jpg", bank, 1, 0, 0},
		{"imported hashes: working size, over the bound", "/leak.jpg", withImported, 0, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := store.Open(ctx, filepath.Join(t.TempDir(), "lw.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			sum, err := Run(ctx, Config{Seeds: []string{srv.URL + tc.path}, Bank: tc.bank, Store: st, WholeImageOnly: true, Limits: lim})
			if err != nil {
				t.Fatal(err)
			}
			if sum.Images != 1 || sum.Hashed != tc.hashed || sum.Matches != tc.match || sum.ErrorsBy["decode_limit"] != tc.decodeLimit {
				t.Errorf("%+v; want 1 image, %d hashed, %d matches, %d decode_limit errors", sum, tc.hashed, tc.match, tc.decodeLimit)
			}
		})
	}
}
