package imagefile

import (
	"context"
	"flag"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"testing"
)

var writeSeeds = flag.Bool("write-seeds", false, "rewrite testdata/fuzz/FuzzFrames")

func frameSeeds(t testing.TB) map[string][]byte {
	seeds := map[string][]byte{"gif-3": animatedGIF(t, 3), "gif-1": animatedGIF(t, 1)}
	for _, f := range []string{"anim-lossless.webp", "anim-lossy.webp", "anim-alpha-lossless.webp", "anim-alpha-lossy.webp"} {
		b, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		seeds[f] = b
	}
	return seeds
}

func FuzzFrames(f *testing.F) {
	for _, b := range frameSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		opts := Options{MaxFrames: 8, MaxPixels: 1 << 20}
		kind := Animated(data)
		res, err := Frames(context.Background(), data, opts, func(i int, img image.Image) error {
			if b := img.Bounds(); int64(b.Dx())*int64(b.Dy()) > opts.MaxPixels {
				t.Fatalf("frame %d of %dx%d over the pixel limit", i, b.Dx(), b.Dy())
			}
			return nil
		})
		if res.Rendered > opts.MaxFrames {
			t.Fatalf("rendered %d frames, limit %d", res.Rendered, opts.MaxFrames)
		}
		_, _ = kind, err
		// A GIF's canvases are an RGBA canvas's luma, frame by frame.
		// (The reference allocates its canvas unchecked.)
		if kind == GIF && (int(data[6])|int(data[7])<<8)*(int(data[8])|int(data[9])<<8) <= 1<<16 {
			sameAsReference(t, "input", data)
		}
	})
}

// TestWriteFuzzSeeds rewrites the seed corpus with -write-seeds and
// otherwise checks that it is there.
func TestWriteFuzzSeeds(t *testing.T) {
	for _, target := range []string{"FuzzFrames", "FuzzEnd"} {
		dir := filepath.Join("testdata", "fuzz", target)
		if !*writeSeeds {
			if e, err := os.ReadDir(dir); err != nil || len(e) == 0 {
				t.Errorf("no committed seeds in %s (run with -write-seeds): %v", dir, err)
			}
			continue
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, b := range frameSeeds(t) {
			if err := os.WriteFile(filepath.Join(dir, "seed-"+name), fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", b), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
