package imagefile

import (
	"bytes"
	"errors"
	"flag"
	"image"
	"image/color"
	"image/color/palette"
	"image/draw"
	"image/gif"
	"image/png"
	"os"
	"path/filepath"
	"testing"
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

// TestWritePNGs writes the source frames when -png-dir is given.
func TestWritePNGs(t *testing.T) {
	if *pngDir == "" {
		t.Skip("only with -png-dir")
	}
	for i := 0; i < 3; i++ {
		var b bytes.Buffer
		if err := png.Encode(&b, frame(i)); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(*pngDir, "frame"+string(rune('0'+i))+".png"), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
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

// meanDiff is the mean absolute difference of two images' RGB channels.
func meanDiff(a, b image.Image) float64 {
	var sum, n float64
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			ar, ag, ab, _ := a.At(x, y).RGBA()
			br, bg, bb, _ := b.At(x, y).RGBA()
			for _, d := range []int{int(ar>>8) - int(br>>8), int(ag>>8) - int(bg>>8), int(ab>>8) - int(bb>>8)} {
				sum += float64(max(d, -d))
				n++
			}
		}
	}
	return sum / n
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
	res, err := Frames(data, Options{}, func(i int, img image.Image) error {
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
	res, err := Frames(data, Options{MaxFrames: 4}, func(int, image.Image) error { return nil })
	if err != nil || res.Rendered != 4 || !res.More {
		t.Errorf("MaxFrames 4 of 7: %+v, %v", res, err)
	}
	if _, err := Frames(data, Options{MaxPixels: 96*64 - 1}, func(int, image.Image) error { return nil }); !errors.Is(err, ErrTooManyPixels) {
		t.Errorf("canvas over MaxPixels: %v", err)
	}
	stop := errors.New("stop")
	if _, err := Frames(data, Options{}, func(int, image.Image) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("fn's error: %v", err)
	}
	// A truncated file renders the frames it holds.
	res, err = Frames(data[:len(data)*2/3], Options{}, func(int, image.Image) error { return nil })
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
			res, err := Frames(data, Options{}, func(i int, img image.Image) error {
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
