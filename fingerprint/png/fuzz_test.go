package png

import (
	"bytes"
	"context"
	"image"
	stdpng "image/png"
	"math/rand/v2"
	"testing"

	"github.com/leakwatch/leakwatch/fingerprint/internal/area/areatest"
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
		areatest.CheckReduced(t, func() (int, int, error) {
			c, err := DecodeConfig(data)
			return c.Width, c.Height, err
		},
			func(d int) (*image.Gray, error) {
				return Decode(context.Background(), data, Options{Denom: d, MaxPixels: 1 << 20, MaxChunks: 1000, MaxChunkBytes: 1 << 16})
			},
			func() (image.Image, error) { return stdpng.Decode(bytes.NewReader(data)) })
	})
}
