// Package areatest gives the tests of fingerprint's own readers their
// reference: what the fingerprint reads from a full-size image another
// decoder returns, area-averaged as package area reduces it.
package areatest

import (
	"fmt"
	"image"
	"math"
	"testing"

	"github.com/leakwatch/leakwatch/fingerprint/pdq"
)

// Reduce is the fingerprint's luma of img area-averaged over d x d
// blocks (fewer pixels at the right and bottom edges), in float64, rounded.
func Reduce(img image.Image, d int) *image.Gray {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	ow, oh := (w+d-1)/d, (h+d-1)/d
	sum := make([]float64, ow*oh)
	row := make([]float32, w)
	lr := pdq.NewLumaRows(img)
	for y := range h {
		lr.Read(row, y)
		for x, v := range row {
			sum[(y/d)*ow+x/d] += float64(v)
		}
	}
	g := image.NewGray(image.Rect(0, 0, ow, oh))
	for oy := range oh {
		for ox := range ow {
			n := min(d, w-ox*d) * min(d, h-oy*d)
			g.Pix[oy*ow+ox] = uint8(math.Min(255, sum[oy*ow+ox]/float64(n)+0.5))
		}
	}
	return g
}

// Worst is the largest difference between two images' pixels, or an error
// when their bounds differ.
func Worst(got, want *image.Gray) (int, error) {
	if got.Bounds() != want.Bounds() {
		return 0, fmt.Errorf("bounds %v, want %v", got.Bounds(), want.Bounds())
	}
	n := 0
	for i := range got.Pix {
		n = max(n, abs(int(got.Pix[i])-int(want.Pix[i])))
	}
	return n, nil
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// CheckReduced is the fuzz check of a bounded luma reader on one input:
// decoded at full size and at 1/3, an image has the reduced size the
// header (size) declares, and, where the reference decoder (ref, full
// size) reads the same bytes, its pixels are within one level of the
// reference's, reduced. An input the reader refuses is not checked.
func CheckReduced(t *testing.T, size func() (w, h int, err error), decode func(denom int) (*image.Gray, error), ref func() (image.Image, error)) {
	t.Helper()
	w, h, cerr := size()
	for _, d := range []int{1, 3} {
		img, err := decode(d)
		if err != nil {
			continue
		}
		if cerr != nil {
			t.Fatalf("decoded, but the header read failed: %v", cerr)
		}
		if b := img.Bounds(); b.Dx() != (w+d-1)/d || b.Dy() != (h+d-1)/d {
			t.Fatalf("bounds %v, header says %dx%d", b, w, h)
		}
		want, err := ref()
		if err != nil {
			continue
		}
		if n, err := Worst(img, Reduce(want, d)); err != nil || n > 1 {
			t.Fatalf("1/%d: %v, a pixel differs from the reference decoder's by %d levels", d, err, n)
		}
	}
}
