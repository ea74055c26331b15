package tiff

import (
	"bytes"
	"context"
	"math/rand/v2"
	"testing"

	"github.com/leakwatch/leakwatch/fingerprint/internal/area/areatest"

	xtiff "golang.org/x/image/tiff"
)

// FuzzDecode feeds arbitrary bytes to the reader at full size and
// reduced, within small bounds: it must return an image of the reduced
// size the header declares, or an error, and never panic; when
// x/image/tiff decodes the same bytes, the pixels must agree within one
// level.
func FuzzDecode(f *testing.F) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, s := range []spec{
		{ph: phPalette, bps: 4, spp: 1, colours: 16, comp: compPackBits, rps: 3},
		{ph: phRGB, bps: 16, spp: 4, extra: 1, comp: compDeflate, pred: 2, be: true},
		{ph: phWhiteIsZero, bps: 1, spp: 1, comp: compLZW, tw: 16, th: 8},
	} {
		data, _ := generate(s, 13, 9, rng)
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, cerr := DecodeConfig(data)
		for _, d := range []int{1, 3} {
			img, err := Decode(context.Background(), data, Options{Denom: d, MaxPixels: 1 << 16, MaxBlocks: 1 << 10})
			if err != nil {
				continue
			}
			if cerr != nil {
				t.Fatalf("decoded, but DecodeConfig failed: %v", cerr)
			}
			if b := img.Bounds(); b.Dx() != (cfg.Width+d-1)/d || b.Dy() != (cfg.Height+d-1)/d {
				t.Fatalf("bounds %v, header says %dx%d", b, cfg.Width, cfg.Height)
			}
			ref, err := xtiff.Decode(bytes.NewReader(data))
			if err != nil {
				continue
			}
			if n, err := areatest.Worst(img, areatest.Reduce(ref, d)); err != nil || n > 1 {
				t.Fatalf("1/%d: %v, a pixel differs from x/image/tiff's by %d levels", d, err, n)
			}
		}
	})
}
