package fingerprint

import (
	"bytes"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"sync"
	"testing"

	"github.com/leakwatch/leakwatch/fixtures/imagegen"
	"github.com/leakwatch/leakwatch/fixtures/photos"
	"github.com/leakwatch/leakwatch/fixtures/transform"
)

// pngBenchFiles are the PNG benchmark files: the photograph of
// robustBenchJPEGs at 1920x1080 and 4000x3000 with sensor-like noise, as
// 8-bit RGB (what screenshots and converted photos are) and, at 12
// megapixels, 16-bit RGBA (image/png's largest full-size image).
var pngBenchFiles = sync.OnceValue(func() map[string][]byte {
	var src image.Image = imagegen.Street(1)
	for _, p := range photos.All() {
		if p.Name == "power-lines" {
			src = p.Image
		}
	}
	out := map[string][]byte{}
	for _, sz := range [][2]int{{1920, 1080}, {4000, 3000}} {
		img := transform.Chain(transform.ResizeTo(sz[0], sz[1]), transform.Noise(3, 1))(src)
		rgb := image.NewRGBA(img.Bounds()) // opaque: encoded as 8-bit RGB
		draw.Draw(rgb, rgb.Bounds(), img, img.Bounds().Min, draw.Src)
		var buf bytes.Buffer
		if err := png.Encode(&buf, rgb); err != nil {
			panic(err)
		}
		out[fmt.Sprintf("%dx%d-rgb8", sz[0], sz[1])] = buf.Bytes()
		if sz[0] == 4000 {
			deep := image.NewNRGBA64(img.Bounds())
			draw.Draw(deep, deep.Bounds(), img, img.Bounds().Min, draw.Src)
			var buf16 bytes.Buffer
			if err := png.Encode(&buf16, deep); err != nil {
				panic(err)
			}
			out["4000x3000-rgba16"] = buf16.Bytes()
		}
	}
	return out
})

// BenchmarkPNGDecode compares image/png (the full-size decode PNGs had
// before) with the row-by-row reduced reader (ForQuery), alone and
// followed by the whole-image fingerprint, which from a full-size image
// must first reduce it. B/op bounds one decode's peak memory.
func BenchmarkPNGDecode(b *testing.B) {
	for _, name := range []string{"1920x1080-rgb8", "4000x3000-rgb8", "4000x3000-rgba16"} {
		data := pngBenchFiles()[name]
		b.Logf("%s: %d bytes", name, len(data))
		b.Run(name+"/image-png", func(b *testing.B) {
			cpuLoop(b, func() {
				if _, err := png.Decode(bytes.NewReader(data)); err != nil {
					b.Fatal(err)
				}
			})
		})
		b.Run(name+"/reduced", func(b *testing.B) {
			cpuLoop(b, func() {
				if _, err := DecodeBytes(data, DefaultLimits(), ForQuery()); err != nil {
					b.Fatal(err)
				}
			})
		})
		for _, o := range []struct {
			name string
			opts []DecodeOption
		}{{"image-png+fingerprint-whole", nil}, {"reduced+fingerprint-whole", []DecodeOption{ForQuery()}}} {
			b.Run(name+"/"+o.name, func(b *testing.B) {
				cpuLoop(b, func() {
					d, err := DecodeBytes(data, DefaultLimits(), o.opts...)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := ComputeWhole(d.Image, SourceSize(d.Width, d.Height)); err != nil {
						b.Fatal(err)
					}
				})
			})
		}
	}
}
