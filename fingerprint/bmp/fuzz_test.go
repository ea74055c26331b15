package bmp

import (
	"bytes"
	"context"
	"image"
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
		areatest.CheckReduced(t, func() (int, int, error) {
			c, err := DecodeConfig(data)
			return c.Width, c.Height, err
		},
			func(d int) (*image.Gray, error) {
				return Decode(context.Background(), data, Options{Denom: d, MaxPixels: 1 << 16})
			},
			func() (image.Image, error) { return xbmp.Decode(bytes.NewReader(data)) })
	})
}
