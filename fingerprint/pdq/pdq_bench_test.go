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

// benchEachSize runs, for each size, setup on the bench image and then the
// operation it returns as a sub-benchmark (which it is given, to fail).
func benchEachSize(b *testing.B, setup func(img *image.YCbCr) func(*testing.B)) {
	for _, sz := range pdqBenchSizes {
		op := setup(benchImage(b, sz.w, sz.h))
		b.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(b *testing.B) {
			for b.Loop() {
				op(b)
			}
		})
	}
}

func BenchmarkPDQ(b *testing.B) {
	benchEachSize(b, func(img *image.YCbCr) func(*testing.B) { return func(*testing.B) { Hash(img) } })
}

func BenchmarkPDQAll(b *testing.B) {
	benchEachSize(b, func(img *image.YCbCr) func(*testing.B) { return func(*testing.B) { HashAll(img) } })
}

// BenchmarkPDQFromLuma measures the path of callers that convert the whole
// image to luma once (for several hashes) and then hash the plane.
func BenchmarkPDQFromLuma(b *testing.B) {
	benchEachSize(b, func(img *image.YCbCr) func(*testing.B) {
		return func(*testing.B) {
			luma, w, h := Luma(img)
			HashAllLuma(luma, w, h)
		}
	})
}

// BenchmarkJPEGDecode is the yardstick: hashing should cost well under the
// decode of the same image.
func BenchmarkJPEGDecode(b *testing.B) {
	benchEachSize(b, func(img *image.YCbCr) func(*testing.B) {
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
			b.Fatal(err)
		}
		return func(b *testing.B) {
			if _, err := jpeg.Decode(bytes.NewReader(buf.Bytes())); err != nil {
				b.Fatal(err)
			}
		}
	})
}
