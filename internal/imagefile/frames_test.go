package imagefile

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/color/palette"
	"image/draw"
	"image/gif"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/image/webp"
)

var pngDir = flag.String("png-dir", "", "write the source frames of the WebP fixtures as PNG files here (testdata/gen.sh)")

// frame is source frame i of the fixtures: a distinct pattern per frame.
func frame(i int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, 96, 64))
	for y := 0; y < 64; y++ {
		for x := 0; x < 96; x++ {
			v := uint8((x*(i+1)*7 + y*(3-i)*5) & 0xff)
			if (x/8+y/8+i)%2 == 0 {
				v = 255 - v
			}
			img.SetNRGBA(x, y, color.NRGBA{v, uint8(i * 80), 255 - v, 255})
		}
	}
	return img
}

// alphaFrame is frame i with an alpha that varies across it (opaque,
// transparent and in between), for animations that blend.
func alphaFrame(i int) *image.NRGBA {
	img := frame(i)
	for y := range 64 {
		for x := range 96 {
			a := uint8((x*3 + y*(i+1)*2) & 0xff)
			if (x/16+y/16+i)%3 == 0 {
				a = 0xff
			}
			img.Pix[img.PixOffset(x, y)+3] = a
		}
	}
	return img
}

// TestWritePNGs writes the source frames when -png-dir is given.
func TestWritePNGs(t *testing.T) {
	if *pngDir == "" {
		t.Skip("only with -png-dir")
	}
	for i := 0; i < 3; i++ {
		for name, img := range map[string]image.Image{"frame": frame(i), "alpha": alphaFrame(i)} {
			var b bytes.Buffer
			if err := png.Encode(&b, img); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(*pngDir, name+string(rune('0'+i))+".png"), b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// animatedGIF encodes the frames; frame 1 covers only a corner and frame
// 2 is disposed of with "restore to previous".
func animatedGIF(t testing.TB, n int) []byte {
	t.Helper()
	a := &gif.GIF{}
	for i := 0; i < n; i++ {
		src := frame(i % 3)
		b := src.Bounds()
		if i%3 == 1 {
			b = image.Rect(16, 8, 80, 48)
		}
		p := image.NewPaletted(b, palette.Plan9)
		draw.Draw(p, b, src, b.Min, draw.Src)
		a.Image = append(a.Image, p)
		a.Delay = append(a.Delay, 10)
		a.Disposal = append(a.Disposal, []byte{gif.DisposalNone, gif.DisposalNone, gif.DisposalPrevious}[i%3])
	}
	var buf bytes.Buffer
	if err := gif.EncodeAll(&buf, a); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// meanDiff is the mean absolute difference of two images' luma (the
// canvas holds nothing else).
func meanDiff(a, b image.Image) float64 {
	var sum, n float64
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			d := float64(lumaAt(a, x, y)) - float64(lumaAt(b, x, y))
			sum += max(d, -d)
			n++
		}
	}
	return sum / n
}

// lumaAt is the luma of one pixel of any image, as the canvas holds it.
func lumaAt(img image.Image, x, y int) uint8 {
	c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
	return toByte(lumaOf(c.R, c.G, c.B))
}

// referenceGIF composes a GIF's frames as an RGBA canvas did before the
// luma canvas: each frame cut out as a one-frame GIF for image/gif (those
// it refuses skipped), drawn over the canvas, disposal 2 cleared, 3
// restored from a copy. It returns the luma of each rendered canvas.
func referenceGIF(data []byte, maxFrames int) []*image.Gray {
	w, h := int(data[6])|int(data[7])<<8, int(data[8])|int(data[9])<<8
	c := image.NewNRGBA(image.Rect(0, 0, w, h))
	screen := data[:gifScreen(data)]
	var out []*image.Gray
	_ = walkGIF(data, func(f gifFrame) bool {
		if len(out) >= maxFrames {
			return false
		}
		one := append(append(append(append([]byte{}, screen...), f.gce...), f.image...), 0x3b)
		img, err := gif.Decode(bytes.NewReader(one))
		if err != nil || !img.Bounds().In(c.Rect) {
			return true
		}
		saved := append([]byte{}, c.Pix...)
		draw.Draw(c, img.Bounds(), img, img.Bounds().Min, draw.Over)
		g := image.NewGray(c.Rect)
		for i := range g.Pix {
			g.Pix[i] = toByte(lumaOf(c.Pix[4*i], c.Pix[4*i+1], c.Pix[4*i+2]))
		}
		out = append(out, g)
		switch f.disposal {
		case 2:
			draw.Draw(c, img.Bounds(), image.Transparent, image.Point{}, draw.Src)
		case 3:
			copy(c.Pix, saved)
		}
		return true
	})
	return out
}

// sameAsReference composes data with both ways of undoing a "restore to
// previous" frame and checks every canvas against referenceGIF's.
func sameAsReference(t *testing.T, name string, data []byte) {
	t.Helper()
	want := referenceGIF(data, 16)
	for _, limit := range []int{maxSaved, 0} {
		n := 0
		res, err := composeGIF(context.Background(), data, Options{MaxFrames: 16, MaxPixels: 1 << 24, MaxRedraw: 1 << 20}, limit, func(i int, img image.Image) error {
			n++
			if i >= len(want) {
				t.Fatalf("%s: frame %d rendered, the reference renders %d", name, i, len(want))
			}
			if g := img.(*image.Gray); !bytes.Equal(g.Pix, want[i].Pix) {
				t.Errorf("%s (save limit %d): frame %d's canvas differs from the reference's", name, limit, i)
			}
			return nil
		})
		// A broken structure ends the walk with an error after the frames
		// before it, which the reference renders too.
		if err != nil && !errors.Is(err, ErrCorrupt) || n != len(want) || res.Rendered != n {
			t.Errorf("%s: %d frames, %+v, %v; the reference renders %d", name, n, res, err, len(want))
		}
	}
}

func TestFramesGIF(t *testing.T) {
	data := animatedGIF(t, 3)
	if Animated(data) != GIF {
		t.Fatalf("Detect = %v, want GIF", Animated(data))
	}
	// What a viewer shows: frame 0; frame 1's corner over frame 0; frame 2.
	want := []image.Image{frame(0), nil, frame(2)}
	f1 := image.NewNRGBA(frame(0).Bounds())
	draw.Draw(f1, f1.Rect, frame(0), image.Point{}, draw.Src)
	draw.Draw(f1, image.Rect(16, 8, 80, 48), frame(1), image.Pt(16, 8), draw.Src)
	want[1] = f1
	var got []float64
	res, err := Frames(context.Background(), data, Options{}, func(i int, img image.Image) error {
		got = append(got, meanDiff(want[i], img))
		return nil
	})
	if err != nil || res.Rendered != 3 || res.More || res.Skipped != 0 {
		t.Fatalf("Frames = %+v, %v", res, err)
	}
	for i, d := range got {
		if d > 12 { // the Plan 9 palette quantises
			t.Errorf("frame %d differs from what a viewer shows by %.1f per channel", i, d)
		}
	}
	if meanDiff(frame(0), frame(2)) < 30 {
		t.Fatal("test frames too alike to tell apart")
	}
}

func TestFramesLimits(t *testing.T) {
	data := animatedGIF(t, 7)
	res, err := Frames(context.Background(), data, Options{MaxFrames: 4}, func(int, image.Image) error { return nil })
	if err != nil || res.Rendered != 4 || !res.More {
		t.Errorf("MaxFrames 4 of 7: %+v, %v", res, err)
	}
	if _, err := Frames(context.Background(), data, Options{MaxPixels: 96*64 - 1}, func(int, image.Image) error { return nil }); !errors.Is(err, ErrTooManyPixels) {
		t.Errorf("canvas over MaxPixels: %v", err)
	}
	stop := errors.New("stop")
	if _, err := Frames(context.Background(), data, Options{}, func(int, image.Image) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("fn's error: %v", err)
	}
	// A truncated file renders the frames it holds.
	res, err = Frames(context.Background(), data[:len(data)*2/3], Options{}, func(int, image.Image) error { return nil })
	if err != nil || res.Rendered == 0 || res.Rendered >= 7 {
		t.Errorf("truncated: %+v, %v", res, err)
	}
	still := animatedGIF(t, 1)
	if Animated(still) != None {
		t.Errorf("a one-frame GIF is not animated")
	}
	if Animated([]byte("GIF89a")) != None || Animated(nil) != None {
		t.Errorf("short input detected as animated")
	}
}

func TestFramesWebP(t *testing.T) {
	for _, tt := range []struct {
		file    string
		maxDiff float64
	}{
		{"anim-lossless.webp", 0},
		{"anim-lossy.webp", 25}, // fine checkers lose their colour in 4:2:0
	} {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if Animated(data) != WebP {
				t.Fatalf("Detect = %v, want WebP", Animated(data))
			}
			res, err := Frames(context.Background(), data, Options{}, func(i int, img image.Image) error {
				d := meanDiff(frame(i), img)
				if d > tt.maxDiff {
					t.Errorf("frame %d differs from its source by %.2f per channel", i, d)
				}
				for j := 0; j < 3; j++ {
					if j != i && meanDiff(frame(j), img) < 2*d {
						t.Errorf("frame %d is as close to source frame %d as to its own", i, j)
					}
				}
				return nil
			})
			if err != nil || res.Rendered != 3 || res.Skipped != 0 {
				t.Errorf("Frames = %+v, %v", res, err)
			}
		})
	}
}

// randomGIF is an animation of n frames of random rectangles, palettes
// (some with a transparent colour, some shared), disposals and
// interlacing.
func randomGIF(t testing.TB, rng *rand.Rand, w, h, n int) []byte {
	t.Helper()
	a := &gif.GIF{Config: image.Config{Width: w, Height: h}}
	var shared color.Palette
	for range 1 + rng.IntN(255) {
		shared = append(shared, color.RGBA{uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256)), 255})
	}
	a.Config.ColorModel = shared
	var interlaced []bool
	for i := range n {
		r := image.Rect(0, 0, w, h)
		if i > 0 && rng.IntN(3) > 0 {
			x0, y0 := rng.IntN(w), rng.IntN(h)
			r = image.Rect(x0, y0, x0+1+rng.IntN(w-x0), y0+1+rng.IntN(h-y0))
		}
		pal := shared
		if rng.IntN(2) == 0 {
			pal = nil
			for range 2 + rng.IntN(60) {
				pal = append(pal, color.RGBA{uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256)), 255})
			}
			if rng.IntN(2) == 0 {
				pal[rng.IntN(len(pal))] = color.RGBA{}
			}
		}
		p := image.NewPaletted(r, pal)
		for k := range p.Pix {
			if k == 0 || rng.IntN(4) == 0 {
				p.Pix[k] = uint8(rng.IntN(len(pal)))
			} else {
				p.Pix[k] = p.Pix[k-1]
			}
		}
		a.Image = append(a.Image, p)
		a.Delay = append(a.Delay, 5)
		a.Disposal = append(a.Disposal, byte(rng.IntN(4)))
		interlaced = append(interlaced, rng.IntN(3) == 0)
	}
	var buf bytes.Buffer
	if err := gif.EncodeAll(&buf, a); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	k := 0
	_ = walkGIF(data, func(f gifFrame) bool {
		if interlaced[k] {
			f.image[9] |= 0x40 // both decoders read the rows in pass order
		}
		k++
		return true
	})
	return data
}

// TestFramesGIFReference composes random animations, and the fixtures',
// exactly as the RGBA canvas did, read as luma, with the area under a
// "restore to previous" frame saved or drawn again.
func TestFramesGIFReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	sameAsReference(t, "fixture", animatedGIF(t, 7))
	for i := range 40 {
		w, h := 1+rng.IntN(50), 1+rng.IntN(40)
		sameAsReference(t, fmt.Sprintf("random %d (%dx%d)", i, w, h), randomGIF(t, rng, w, h, 2+rng.IntN(8)))
	}
}

// referenceWebP composes a WebP animation's frames as the RGBA canvas did
// (x/image/webp's frames drawn with draw.Over or draw.Src, disposed
// rectangles cleared) and returns the luma of each rendered canvas.
func referenceWebP(t *testing.T, data []byte) []*image.Gray {
	vp8x, _ := webpChunk(data, "VP8X")
	c := image.NewNRGBA(image.Rect(0, 0, u24(vp8x[4:])+1, u24(vp8x[7:])+1))
	var out []*image.Gray
	webpChunks(data[12:], func(id string, d []byte) bool {
		if id != "ANMF" {
			return true
		}
		x, y, w, h := 2*u24(d[0:]), 2*u24(d[3:]), u24(d[6:])+1, u24(d[9:])+1
		alph, bits, lossless := anmfBitstream(d)
		img, err := webp.Decode(bytes.NewReader(webpFrame(w, h, alph, bits, lossless)))
		if err != nil {
			t.Fatal(err)
		}
		r, op := image.Rect(x, y, x+w, y+h), draw.Src
		if d[15]&0x02 == 0 {
			op = draw.Over
		}
		draw.Draw(c, r, img, img.Bounds().Min, op)
		g := image.NewGray(c.Rect)
		for i := range g.Pix {
			g.Pix[i] = toByte(lumaOf(c.Pix[4*i], c.Pix[4*i+1], c.Pix[4*i+2]))
		}
		out = append(out, g)
		if d[15]&0x01 != 0 {
			draw.Draw(c, r, image.Transparent, image.Point{}, draw.Src)
		}
		return true
	})
	return out
}

// TestFramesWebPReference: frames blended by their alpha onto the luma
// canvas read as the RGBA canvas did, within rounding.
func TestFramesWebPReference(t *testing.T) {
	for _, f := range []string{"anim-lossless.webp", "anim-lossy.webp", "anim-alpha-lossless.webp", "anim-alpha-lossy.webp"} {
		orig, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		// As written, and with every frame blended over the one before
		// and every other one disposed of.
		blended := append([]byte{}, orig...)
		k := 0
		webpChunks(blended[12:], func(id string, d []byte) bool {
			if id == "ANMF" {
				d[15] = d[15]&^3 | byte(k&1)
				k++
			}
			return true
		})
		for _, data := range [][]byte{orig, blended} {
			webPSameAsReference(t, f, data)
		}
	}
}

// webPSameAsReference checks every canvas of an animated WebP against
// referenceWebP's, within two levels.
func webPSameAsReference(t *testing.T, f string, data []byte) {
	t.Helper()
	want := referenceWebP(t, data)
	res, err := Frames(context.Background(), data, Options{}, func(i int, img image.Image) error {
		g := img.(*image.Gray)
		worst := 0
		for k, v := range g.Pix {
			worst = max(worst, int(v)-int(want[i].Pix[k]), int(want[i].Pix[k])-int(v))
		}
		if worst > 2 {
			t.Errorf("%s frame %d: a pixel differs from the RGBA canvas's by %d levels", f, i, worst)
		}
		return nil
	})
	if err != nil || res.Rendered != len(want) {
		t.Errorf("%s: %+v, %v; the reference renders %d", f, res, err, len(want))
	}
}

// TestFramesGIFRedrawLimit: undoing frames by drawing the ones before them
// again is bounded by Options.MaxRedraw; past the bound the animation ends
// as at MaxFrames, with Result.Limit naming the bound and its value.
func TestFramesGIFRedrawLimit(t *testing.T) {
	data := animatedGIF(t, 7) // frames 2 and 5 are undone, after 2 and 4 drawn frames
	canvas := int64(binary.LittleEndian.Uint16(data[6:])) * int64(binary.LittleEndian.Uint16(data[8:]))
	for _, c := range []struct {
		limit    int
		rendered int
		more     bool
	}{{100, 7, false}, {3, 6, true}, {1, 3, true}} {
		res, err := composeGIF(context.Background(), data, Options{MaxFrames: 16, MaxPixels: 1 << 20, MaxRedraw: c.limit}, 0, func(int, image.Image) error { return nil })
		if err != nil || res.Rendered != c.rendered || res.More != c.more {
			t.Errorf("redraw limit %d canvases: %+v, %v; want %d rendered, more %v", c.limit, res, err, c.rendered, c.more)
		}
		if !c.more {
			if res.Limit != nil {
				t.Errorf("redraw limit %d canvases: limit %v reported, want none", c.limit, res.Limit)
			}
			continue
		}
		want := int64(c.limit) * canvas
		if l := res.Limit; l == nil || l.Limit != "redrawn pixels" || l.Max != want || l.Value <= want ||
			!strings.Contains(l.Error(), fmt.Sprintf("redrawn pixels, limit %d", want)) {
			t.Errorf("redraw limit %d canvases: limit %v, want redrawn pixels over %d", c.limit, res.Limit, want)
		}
	}
}

// countdownCtx is done after its Err has been asked n times: a
// cancellation that arrives in the middle of a walk, at the same point on
// every run.
type countdownCtx struct {
	context.Context
	n int
}

func (c *countdownCtx) Err() error {
	if c.n--; c.n < 0 {
		return context.Canceled
	}
	return nil
}

// TestFramesGIFRedrawStops: undoing a "restore to previous" frame draws
// the frames before it again, each up to a canvas; a context done by then
// stops it, even when that frame is the last.
func TestFramesGIFRedrawStops(t *testing.T) {
	data := animatedGIF(t, 3) // the last frame is undone, after 2 drawn
	opts := Options{MaxFrames: 16, MaxPixels: 1 << 20, MaxRedraw: 100}
	if _, err := composeGIF(context.Background(), data, opts, 0, func(int, image.Image) error { return nil }); err != nil {
		t.Fatal(err)
	}
	ctx := &countdownCtx{Context: context.Background(), n: 3} // done after the three frames' own checks
	if _, err := composeGIF(ctx, data, opts, 0, func(int, image.Image) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("redraw after the context is done: %v, want context.Canceled", err)
	}
}

// TestFramesWebPDecodeBytes: a WebP animation's canvas and each frame's
// full-size decode must fit Options.MaxDecodeBytes: a canvas over it is
// refused, a frame over it ends the animation there, naming the bound.
func TestFramesWebPDecodeBytes(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "anim-lossless.webp"))
	if err != nil {
		t.Fatal(err)
	}
	vp8x, _ := webpChunk(data, "VP8X")
	canvas := 2 * int64(u24(vp8x[4:])+1) * int64(u24(vp8x[7:])+1)
	count := func(max int64) (Result, error) {
		return Frames(context.Background(), data, Options{MaxDecodeBytes: max}, func(int, image.Image) error { return nil })
	}
	all, err := count(0)
	if err != nil || all.Rendered < 2 || all.Limit != nil {
		t.Fatalf("default bound: %+v, %v", all, err)
	}
	if _, err := count(canvas - 1); !errors.Is(err, ErrDecodeLimit) {
		t.Errorf("bound under the canvas: %v, want ErrDecodeLimit", err)
	}
	res, err := count(canvas + 1)
	if err != nil || res.Rendered != 0 || !res.More || res.Limit == nil || res.Limit.Limit != "decode bytes" || res.Limit.Max != canvas+1 {
		t.Errorf("bound under canvas and frame: %+v, %v; want the animation ended naming decode bytes", res, err)
	}
}

// brokenFramesWebP is anim-lossy.webp with its frames replaced by n copies
// of its first frame cut short: each passes the header checks and fails in
// the decoder, after the decoder has done its work.
func brokenFramesWebP(t *testing.T, n int) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "anim-lossy.webp"))
	if err != nil {
		t.Fatal(err)
	}
	var body, broken []byte
	webpChunks(data[12:], func(id string, d []byte) bool {
		if id != "ANMF" {
			body = riffChunk(body, id, d)
			return true
		}
		if broken == nil {
			_, bits, _ := anmfBitstream(d)
			broken = riffChunk(append([]byte(nil), d[:16]...), "VP8 ", bits[:len(bits)/2])
		}
		return true
	})
	for range n {
		body = riffChunk(body, "ANMF", broken)
	}
	out := []byte("RIFF")
	out = binary.LittleEndian.AppendUint32(out, uint32(4+len(body)))
	return append(append(out, "WEBP"...), body...)
}

// Frames that fail to decode count against MaxFrames as rendered ones do:
// a file of a million broken frames costs MaxFrames decodes, not a
// million. A done context stops the walk before the next frame.
func TestFramesBoundsFailedFrames(t *testing.T) {
	data := brokenFramesWebP(t, 200)
	res, err := Frames(context.Background(), data, Options{MaxFrames: 5}, func(int, image.Image) error { return nil })
	if err != nil || res.Rendered != 0 || res.Skipped != 5 || !res.More {
		t.Errorf("200 broken frames, MaxFrames 5: %+v, %v; want 5 tried, the rest left", res, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, f := range [][]byte{data, animatedGIF(t, 3)} {
		res, err := Frames(ctx, f, Options{}, func(int, image.Image) error { return nil })
		if !errors.Is(err, context.Canceled) || res.Rendered+res.Skipped != 0 {
			t.Errorf("cancelled: %+v, %v; want context.Canceled before any frame", res, err)
		}
	}
}
