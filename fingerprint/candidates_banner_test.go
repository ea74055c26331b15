package fingerprint

import (
	"image"
	"image/color"
	"image/draw"
	"math"
	"testing"

	"github.com/leakwatch/leakwatch/fixtures/imagegen"
	"github.com/leakwatch/leakwatch/fixtures/transform"
)

// A caption bar whose colour matches the picture's own dark edge: the
// rectangle detector sees no edge there, the banner profile must still put
// the picture's boundary within 1% of the height of the truth (about what
// PDQ tolerates).
func TestBannerRectsDarkEdge(t *testing.T) {
	src := imagegen.Street(4)
	b := src.Bounds()
	dark := image.NewRGBA(b)
	draw.Draw(dark, b, src, b.Min, draw.Src)
	// The bottom sixth of the picture is as dark as the bar.
	draw.Draw(dark, image.Rect(0, b.Dy()*5/6, b.Dx(), b.Dy()), image.NewUniform(color.RGBA{22, 22, 26, 255}), image.Point{}, draw.Src)
	tests := []struct {
		name string
		edge transform.Edge
		img  image.Image
	}{
		{"bottom, dark edge", transform.Bottom, dark},
		{"top, plain picture", transform.Top, src},
		{"bottom, plain picture", transform.Bottom, src},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := transform.CaptionBanner("LEAKED BORDER DATA 2019", 0.15, tt.edge)(tt.img)
			p, ok := planeFromImage(q)
			if !ok {
				t.Fatal("no plane")
			}
			scale := float64(p.h) / float64(q.Bounds().Dy())
			bar := float64(q.Bounds().Dy()-b.Dy()) * scale
			want := rectF{0, 0, float64(p.w), float64(p.h) - bar}
			if tt.edge == transform.Top {
				want = rectF{0, bar, float64(p.w), float64(p.h)}
			}
			rs := bannerRects(p)
			best := math.Inf(1)
			for _, r := range rs {
				best = math.Min(best, math.Max(math.Abs(r.y0-want.y0), math.Abs(r.y1-want.y1)))
			}
			if tol := 0.01 * float64(p.h); best > tol {
				t.Errorf("banner rects %v, want one within %.1f rows of %v", rs, tol, want)
			}
		})
	}
	// A picture without a caption yields no banner rectangle.
	if p, _ := planeFromImage(imagegen.Texture(3)); len(bannerRects(p)) != 0 {
		t.Errorf("banner found in a texture")
	}
}
