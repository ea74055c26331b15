package jpeg

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/leakwatch/leakwatch/fingerprint/jpeg/jpegtest"
)

// FuzzDecode feeds arbitrary bytes to the decoder at full and reduced
// scale: it must return an image of the size the header declares, or an
// error, within small bounds, and never panic.
func FuzzDecode(f *testing.F) {
	for _, name := range []string{"prog420-odd.jpg", "restart-rows.jpg", "gray-odd.jpg", "prog-gray-odd.jpg"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add(jpegtest.ScanBomb(64, 48, 3))
	f.Add(jpegtest.ProgressiveCMYK(40, 24))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, cerr := DecodeConfig(data)
		for _, o := range []Options{{}, {MinSide: 16, Luma: true}, {MinSide: 64, Luma: true}, {MinSide: 128}, {Denom: 4, Luma: true}} {
			o.MaxPixels, o.MaxCoefBytes, o.MaxScans = 1<<16, 1<<20, 20
			img, err := Decode(context.Background(), data, o)
			if err != nil {
				continue
			}
			if cerr != nil {
				t.Fatalf("decoded, but DecodeConfig failed: %v", cerr)
			}
			denom := o.Denom
			if denom == 0 {
				denom = ScaleFor(cfg.Width, cfg.Height, o.MinSide, 0)
			}
			w, h := ScaledSize(cfg.Width, cfg.Height, denom)
			if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
				t.Fatalf("bounds %v, header says %dx%d at this scale", b, w, h)
			}
		}
	})
}
