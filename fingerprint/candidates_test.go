package fingerprint

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
	"math/rand/v2"
	"testing"

	xdraw "golang.org/x/image/draw"

	"github.com/leakwatch/leakwatch/fixtures/imagegen"
	"github.com/leakwatch/leakwatch/fixtures/transform"
)

// pasted returns a w x h page of colour bg with img scaled by s pasted at
// (x, y), and the pasted rectangle.
func pasted(img image.Image, w, h int, bg color.Color, s float64, x, y int) (image.Image, image.Rectangle) {
	page := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(page, page.Bounds(), image.NewUniform(bg), image.Point{}, draw.Src)
	b := img.Bounds()
	r := image.Rect(x, y, x+int(math.Round(float64(b.Dx())*s)), y+int(math.Round(float64(b.Dy())*s)))
	xdraw.CatmullRom.Scale(page, r, img, b, draw.Src, nil)
	return page, r
}

// rectsInImage runs the detector on img and returns the rectangles in its
// pixels.
func rectsInImage(t *testing.T, img image.Image) []rectF {
	t.Helper()
	p, ok := planeFromImage(img)
	if !ok {
		t.Fatal("no plane")
	}
	b := img.Bounds()
	sx, sy := float64(b.Dx())/float64(p.w), float64(b.Dy())/float64(p.h)
	var out []rectF
	for _, r := range subImageRects(p) {
		out = append(out, rectF{r.x0 * sx, r.y0 * sy, r.x1 * sx, r.y1 * sy})
	}
	return out
}

func nearest(rs []rectF, want image.Rectangle) (rectF, float64) {
	w := rectF{float64(want.Min.X), float64(want.Min.Y), float64(want.Max.X), float64(want.Max.Y)}
	best, bestD := rectF{}, math.Inf(1)
	for _, r := range rs {
		d := math.Max(math.Max(math.Abs(r.x0-w.x0), math.Abs(r.y0-w.y0)), math.Max(math.Abs(r.x1-w.x1), math.Abs(r.y1-w.y1)))
		if d < bestD {
			best, bestD = r, d
		}
	}
	return best, bestD
}

func TestSubImageRectsFindsPastedCapture(t *testing.T) {
	plate, _ := imagegen.Plate(11)
	tests := []struct {
		name string
		img  image.Image
		w, h int
		bg   color.Color
		x, y int
	}{
		{"face on light page", imagegen.Face(3), 1200, 1500, color.RGBA{246, 246, 244, 255}, 311, 402},
		{"plate on dark page", plate, 1600, 1200, color.RGBA{24, 26, 30, 255}, 857, 133},
		{"street on white, near a border", imagegen.Street(4), 1600, 1200, color.White, 9, 700},
		{"texture on a dark page", imagegen.Texture(8), 1600, 1200, color.RGBA{30, 30, 34, 255}, 600, 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, want := pasted(tt.img, tt.w, tt.h, tt.bg, 0.4*float64(tt.w)/float64(tt.img.Bounds().Dx()), tt.x, tt.y)
			got, d := nearest(rectsInImage(t, page), want)
			// The working plane is 512 pixels across, about 3 image
			// pixels each; refinement should land within one of them.
			if d > 3 {
				t.Errorf("nearest rectangle %+v is %.1f px from the pasted %v", got, d, want)
			}
		})
	}
}

func TestSubImageRectsCaptionAndCollage(t *testing.T) {
	face := imagegen.Face(21)
	fb := face.Bounds()
	tests := []struct {
		name string
		img  image.Image
		want image.Rectangle
	}{
		{"banner below", transform.CaptionBanner("leaked set 2019", 0.12, transform.Bottom)(face), fb},
		{"banner above", transform.CaptionBanner("leaked set 2019", 0.15, transform.Top)(face), fb.Add(image.Pt(0, int(math.Round(0.15*float64(fb.Dy())))))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, d := nearest(rectsInImage(t, tt.img), tt.want)
			if d > 3 {
				t.Errorf("nearest rectangle %+v is %.1f px from %v", got, d, tt.want)
			}
		})
	}
}

func TestDetectRectsNothingToFind(t *testing.T) {
	flat := make([]float32, 300*200)
	for i := range flat {
		flat[i] = 128
	}
	if got := detectRects(flat, 300, 200); len(got) != 0 {
		t.Errorf("flat plane: %d rectangles", len(got))
	}
	if got := detectRects(flat, 10, 10); got != nil {
		t.Errorf("tiny plane: %v", got)
	}
	if got := detectRects(flat[:10], 300, 200); got != nil {
		t.Errorf("short slice: %v", got)
	}
}

func TestDetectRectsBounds(t *testing.T) {
	// A page of ruled lines is the worst case for the enumeration: it
	// must stay bounded and return at most maxRects valid rectangles.
	const w, h = 512, 512
	pix := make([]float32, w*h)
	for y := range h {
		for x := range w {
			if x%9 == 0 || y%7 == 0 {
				pix[y*w+x] = 20
			} else {
				pix[y*w+x] = 230
			}
		}
	}
	rs := detectRects(pix, w, h)
	if len(rs) == 0 || len(rs) > maxRects {
		t.Fatalf("%d rectangles", len(rs))
	}
	checkRects(t, rs, w, h)
}

func checkRects(t *testing.T, rs []rectF, w, h int) {
	t.Helper()
	if len(rs) > maxRects {
		t.Errorf("%d rectangles, more than %d", len(rs), maxRects)
	}
	for _, r := range rs {
		if r.x0 < 0 || r.y0 < 0 || r.x1 > float64(w) || r.y1 > float64(h) || r.x1-r.x0 < minRectPx || r.y1-r.y0 < minRectPx {
			t.Errorf("rectangle %+v outside %dx%d or too small", r, w, h)
		}
		if r.x0 == 0 && r.y0 == 0 && r.x1 == float64(w) && r.y1 == float64(h) {
			t.Errorf("the whole plane was returned")
		}
	}
}

// FuzzDetectRects drives the detector with arbitrary sizes and values.
func FuzzDetectRects(f *testing.F) {
	f.Add(uint16(64), uint16(48), []byte{0, 255, 0, 255})
	f.Add(uint16(300), uint16(200), []byte("gutter"))
	f.Add(uint16(513), uint16(5), []byte{1})
	f.Add(uint16(0), uint16(0), []byte{})
	f.Fuzz(func(t *testing.T, w16, h16 uint16, data []byte) {
		w, h := int(w16%600), int(h16%600)
		pix := make([]float32, w*h)
		r := rand.New(rand.NewPCG(uint64(len(data)), 7))
		for i := range pix {
			if len(data) > 0 {
				// Blocks of the fuzzer's bytes, so that edges and
				// rectangles occur, with some noise.
				pix[i] = float32(data[(i/w1(w)/8*8+i%w1(w)/8)%len(data)]) + float32(r.NormFloat64())
			}
		}
		rs := detectRects(pix, w, h)
		checkRects(t, rs, w, h)
		if len(rs) > 0 {
			p, ok := planeFromLuma(pix, w, h)
			if !ok {
				t.Fatal("no plane for a plane with rectangles")
			}
			for _, r := range rs {
				rr := p.refineRect(r, 3)
				if rr.x0 < 0 || rr.y0 < 0 || rr.x1 > float64(p.w) || rr.y1 > float64(p.h) || rr.x1 <= rr.x0 || rr.y1 <= rr.y0 {
					t.Fatalf("refined %+v to %+v", r, rr)
				}
				p.hashQuad(rectQuad(rr.x0, rr.y0, rr.x1, rr.y1))
			}
		}
	})
}

func w1(w int) int { return max(w, 1) }

func TestStraightenedFitsAndTargetsARegion(t *testing.T) {
	for _, size := range [][2]int{{512, 384}, {384, 480}, {512, 512}, {40, 400}} {
		p := &plane{w: size[0], h: size[1]}
		for deg := -straightenSteps; deg <= straightenSteps; deg++ {
			if deg == 0 {
				continue
			}
			t.Run(fmt.Sprintf("%dx%d/%d", size[0], size[1], deg), func(t *testing.T) {
				q, r, ok := straightened(p, float64(deg)*straightenStep)
				if !ok {
					return // no region is small enough; nothing to test
				}
				if !p.inside(q, 1e-6) {
					t.Errorf("quad %+v leaves the plane", q)
				}
				k, valid := regionKeep(r)
				if !valid {
					t.Fatalf("region %d", r)
				}
				// The quad is the region's image: its size is z*k times
				// the plane's, with z >= 1.
				if z := q.w / (k * float64(p.w)); z < 1 || math.Abs(q.h/(k*float64(p.h))-z) > 1e-9 {
					t.Errorf("quad %+v is not region %d (keep %.3f) zoomed", q, r, k)
				}
			})
		}
	}
}
