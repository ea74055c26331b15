package png

import (
	"context"
	"math/rand/v2"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to the reader at full size and
// reduced, within small bounds: it must return an image of the reduced
// size the header declares, or an error, and never panic; when image/png
// decodes the same bytes, the pixels must agree within one level.
func FuzzDecode(f *testing.F) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, s := range []spec{{ct: ctPalette, depth: 2, trns: true, interlace: true}, {ct: ctRGBA, depth: 16}, {ct: ctGray, depth: 1, trns: true}} {
		f.Add(encode(s, 13, 9, rng, 40))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, cerr := DecodeConfig(data)
		for _, d := range []int{1, 3} {
			img, err := Decode(context.Background(), data, Options{Denom: d, MaxPixels: 1 << 20, MaxChunks: 1000, MaxChunkBytes: 1 << 16})
			if err != nil {
				continue
			}
			if cerr != nil {
				t.Fatalf("decoded, but DecodeConfig failed: %v", cerr)
			}
			if b := img.Bounds(); b.Dx() != (cfg.Width+d-1)/d || b.Dy() != (cfg.Height+d-1)/d {
				t.Fatalf("bounds %v, header says %dx%d", b, cfg.Width, cfg.Height)
			}
			want, err := reference(t, data, d)
			if err != nil {
				continue
			}
			for i := range img.Pix {
				if diff := abs(int(img.Pix[i]) - int(want.Pix[i])); diff > 1 {
					t.Fatalf("1/%d: pixel %d differs from image/png's by %d", d, i, diff)
				}
			}
		}
	})
}
