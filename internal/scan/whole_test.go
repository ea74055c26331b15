package scan

import (
	"bytes"
	"context"
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
// the enrolled photograph it shows, and not another one.
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
		d, err := fingerprint.DecodeBytes(out.Bytes(), fingerprint.DefaultLimits(), fingerprint.ForWhole())
		if err != nil || d.Scale != 8 {
			t.Fatalf("ForWhole decoded %dx%d at 1/%d (%v), want 1/8", w, h, d.Scale, err)
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
		path    string
		matches int64
	}{{"/leak.jpg", 1}, {"/other.jpg", 0}} {
		st, err := store.Open(ctx, filepath.Join(t.TempDir(), "lw.db"))
		if err != nil {
			t.Fatal(err)
		}
		sum, err := Run(ctx, Config{Seeds: []string{srv.URL + tc.path}, Bank: bank, Store: st, WholeImageOnly: true})
		st.Close()
		if err != nil {
			t.Fatal(err)
		}
		if sum.Images != 1 || sum.Matches != tc.matches {
			t.Errorf("%s: %d images, %d matches, want 1 image and %d matches", tc.path, sum.Images, sum.Matches, tc.matches)
		}
	}
}
