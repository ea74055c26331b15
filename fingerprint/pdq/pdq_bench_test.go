package pdq

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"
)

// benchImage returns a w x h 4:2:0 YCbCr photo, as image/jpeg returns
// them, made by nearest-neighbour resampling of the reference bridge photo.
func benchImage(b *testing.B, w, h int) *image.YCbCr {
	b.Helper()
	f, err := os.Open(filepath.Join(pdqFixtures, "data/bridge-mods/aaa-orig.jpg"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	src, err := jpeg.Decode(f)
	if err != nil {
		b.Fatal(err)
	}
	sb := src.Bounds()
	dst := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	s := src.(*image.YCbCr)
	for y := range h {
		for x := range w {
			sx, sy := sb.Min.X+x*sb.Dx()/w, sb.Min.Y+y*sb.Dy()/h
			dst.Y[dst.YOffset(x, y)] = s.Y[s.YOffset(sx, sy)]
			ci, sci := dst.COffset(x, y), s.COffset(sx, sy)
			dst.Cb[ci], dst.Cr[ci] = s.Cb[sci], s.Cr[sci]
		}
	}
	return dst
}

var pdqBenchSizes = []struct{ w, h int }{{640, 480}, {1920, 1080}}

func BenchmarkPDQ(b *testing.B) {
	for _, sz := range pdqBenchSizes {
		img := benchImage(b, sz.w, sz.h)
		b.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(b *testing.B) {
			for b.Loop() {
				Hash(img)
			}
		})
	}
}

func BenchmarkPDQAll(b *testing.B) {
	for _, sz := range pdqBenchSizes {
		img := benchImage(b, sz.w, sz.h)
		b.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(b *testing.B) {
			for b.Loop() {
				HashAll(img)
			}
		})
	}
}

// BenchmarkPDQFromLuma measures the path of callers that convert the whole
// image to luma once (for several hashes) and then hash the plane.
func BenchmarkPDQFromLuma(b *testing.B) {
	for _, sz := range pdqBenchSizes {
		img := benchImage(b, sz.w, sz.h)
		b.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(b *testing.B) {
			for b.Loop() {
				luma, w, h := Luma(img)
				HashAllLuma(luma, w, h)
			}
		})
	}
}

// BenchmarkJPEGDecode is the yardstick: hashing should cost well under the
// decode of the same image.
func BenchmarkJPEGDecode(b *testing.B) {
	for _, sz := range pdqBenchSizes {
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, benchImage(b, sz.w, sz.h), &jpeg.Options{Quality: 90}); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(b *testing.B) {
			for b.Loop() {
				if _, err := jpeg.Decode(bytes.NewReader(buf.Bytes())); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
