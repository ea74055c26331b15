package tiff

import (
	"bytes"
	"context"
	"image"
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
		areatest.CheckReduced(t, func() (int, int, error) {
			c, err := DecodeConfig(data)
			return c.Width, c.Height, err
		},
			func(d int) (*image.Gray, error) {
				return Decode(context.Background(), data, Options{Denom: d, MaxPixels: 1 << 16, MaxBlocks: 1 << 10})
			},
			func() (image.Image, error) { return xtiff.Decode(bytes.NewReader(data)) })
	})
}
