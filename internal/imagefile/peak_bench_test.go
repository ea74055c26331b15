package imagefile

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/gif"
	"os"
	"sync"
	"testing"

	"github.com/leakwatch/leakwatch/fixtures/heappeak"
)

// bigGIF is a 7000x7000 (49-megapixel) animation of three frames
// covering the canvas: the second disposed of with "restore to
// previous", the third with a transparent colour.
var bigGIF = sync.OnceValue(func() []byte {
	const w, h = 7000, 7000
	a := &gif.GIF{}
	for i := range 3 {
		pal := color.Palette{color.RGBA{0, 0, 0, 255}, color.RGBA{200, 80, uint8(60 * i), 255}, color.RGBA{}}
		p := image.NewPaletted(image.Rect(0, 0, w, h), pal)
		for y := range h {
			for x := range w {
				p.Pix[y*w+x] = uint8((x>>7 + y>>7 + i) % 3)
			}
		}
		a.Image = append(a.Image, p)
		a.Delay = append(a.Delay, 10)
		a.Disposal = append(a.Disposal, []byte{gif.DisposalNone, gif.DisposalPrevious, gif.DisposalBackground}[i])
	}
	var b bytes.Buffer
	if err := gif.EncodeAll(&b, a); err != nil {
		panic(err)
	}
	return b.Bytes()
})

// BenchmarkFramesPeak renders every frame of 49-megapixel animations
// (the largest canvas within --max-pixels) and reports the peak live heap
// sampled during Frames (peak-MB) beside what it allocated (B/op). An
// animated WebP is read from $LEAKWATCH_BENCH_WEBP when set (see
// BENCHMARKS.md for how it was made).
func BenchmarkFramesPeak(b *testing.B) {
	files := map[string][]byte{"gif-7000x7000-3-frames": bigGIF()}
	if p := os.Getenv("LEAKWATCH_BENCH_WEBP"); p != "" {
		data, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		files["webp"] = data
	}
	for name, data := range files {
		b.Run(name, func(b *testing.B) {
			b.Logf("%d bytes", len(data))
			var peak uint64
			for b.Loop() {
				peak = max(peak, heappeak.Of(func() {
					res, err := Frames(context.Background(), data, Options{}, func(int, image.Image) error { return nil })
					if err != nil || res.Rendered != 3 {
						b.Fatalf("%+v, %v", res, err)
					}
				}))
			}
			b.ReportMetric(float64(peak)/1e6, "peak-MB")
		})
	}
}
