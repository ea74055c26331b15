package bmp

import (
	"bytes"
	"context"
	"math/rand/v2"
	"testing"

	"github.com/leakwatch/leakwatch/fingerprint/internal/area/areatest"

	xbmp "golang.org/x/image/bmp"
)

// FuzzDecode feeds arbitrary bytes to the reader at full size and
// reduced, within small bounds: it must return an image of the reduced
// size the header declares, or an error, and never panic; when
// x/image/bmp decodes the same bytes, the pixels must agree within one
// level.
func FuzzDecode(f *testing.F) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, s := range []spec{{bpp: 4, info: infoHeader, colours: 9, topDown: true}, {bpp: 24, info: v5Header}, {bpp: 32, info: v4Header}} {
		data, _ := generate(s, 13, 9, rng)
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, cerr := DecodeConfig(data)
		for _, d := range []int{1, 3} {
			img, err := Decode(context.Background(), data, Options{Denom: d, MaxPixels: 1 << 16})
			if err != nil {
				continue
			}
			if cerr != nil {
				t.Fatalf("decoded, but DecodeConfig failed: %v", cerr)
			}
			if b := img.Bounds(); b.Dx() != (cfg.Width+d-1)/d || b.Dy() != (cfg.Height+d-1)/d {
				t.Fatalf("bounds %v, header says %dx%d", b, cfg.Width, cfg.Height)
			}
			ref, err := xbmp.Decode(bytes.NewReader(data))
			if err != nil {
				continue
			}
			if n, err := areatest.Worst(img, areatest.Reduce(ref, d)); err != nil || n > 1 {
				t.Fatalf("1/%d: %v, a pixel differs from x/image/bmp's by %d levels", d, err, n)
			}
		}
	})
}
