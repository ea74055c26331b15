package tiff

import (
	"bytes"
	"compress/bzip2"
	"context"
	"fmt"
	"image/png"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leakwatch/leakwatch/fingerprint/internal/area/areatest"

	xtiff "golang.org/x/image/tiff"
)

// compareXImage decodes data with Decode and with x/image/tiff followed by
// the reduction, at each of 1, 2, 3, 4 and 8, and checks that every pixel
// is within one level. It reports whether x/image decoded the file.
func compareXImage(t *testing.T, name string, data []byte) bool {
	t.Helper()
	ref, xerr := xtiff.Decode(bytes.NewReader(data))
	for _, d := range []int{1, 2, 3, 4, 8} {
		got, err := Decode(context.Background(), data, Options{Denom: d})
		if xerr != nil {
			return false
		}
		if err != nil {
			t.Errorf("%s 1/%d: %v (x/image/tiff decodes it)", name, d, err)
			return true
		}
		if n, err := areatest.Worst(got, areatest.Reduce(ref, d)); err != nil || n > 1 {
			t.Errorf("%s 1/%d: %v, a pixel differs from x/image/tiff's by %d levels", name, d, err, n)
		}
	}
	return true
}

// allSpecs is every kind of file generated: each photometric
// interpretation and depth, with extra samples, each compression,
// predictor, byte order, strips and tiles.
func allSpecs() []spec {
	var out []spec
	kinds := []spec{
		{ph: phBlackIsZero, bps: 1, spp: 1}, {ph: phWhiteIsZero, bps: 1, spp: 1},
		{ph: phBlackIsZero, bps: 2, spp: 1}, {ph: phWhiteIsZero, bps: 4, spp: 1},
		{ph: phBlackIsZero, bps: 8, spp: 1}, {ph: phWhiteIsZero, bps: 8, spp: 1},
		{ph: phBlackIsZero, bps: 16, spp: 1}, {ph: phWhiteIsZero, bps: 16, spp: 1},
		{ph: phBlackIsZero, bps: 8, spp: 2, extra: 2},
		{ph: phPalette, bps: 1, spp: 1, colours: 2}, {ph: phPalette, bps: 4, spp: 1, colours: 16},
		{ph: phPalette, bps: 8, spp: 1, colours: 256}, {ph: phPalette, bps: 8, spp: 1, colours: 200},
		{ph: phRGB, bps: 8, spp: 3}, {ph: phRGB, bps: 16, spp: 3},
		{ph: phRGB, bps: 8, spp: 4, extra: 1}, {ph: phRGB, bps: 8, spp: 4, extra: 2},
		{ph: phRGB, bps: 16, spp: 4, extra: 1}, {ph: phRGB, bps: 16, spp: 4, extra: 2},
		{ph: phRGB, bps: 8, spp: 4}, {ph: phRGB, bps: 8, spp: 5, extra: 2},
		{ph: phCMYK, bps: 8, spp: 4},
	}
	for _, k := range kinds {
		for _, comp := range []int{compNone, compPackBits, compLZW, compDeflate, compDeflateOld} {
			s := k
			s.comp, s.be = comp, comp%2 == 0
			out = append(out, s)
		}
		if k.bps >= 8 {
			s := k
			s.comp, s.pred, s.be = compDeflate, 2, k.bps == 16
			out = append(out, s)
			s.comp, s.be = compLZW, !s.be
			out = append(out, s)
		}
	}
	return out
}

// layouts are the strip and tile shapes each kind is written in.
var layouts = []struct {
	name        string
	rps, tw, th int
}{
	{"one strip", 0, 0, 0}, {"strips of 1", 1, 0, 0}, {"strips of 5", 5, 0, 0},
	{"tiles 16x16", 0, 16, 16}, {"tiles 8x24", 0, 8, 24},
}

// TestGenerated compares with the expected luma (and with x/image/tiff
// where it decodes the file) on generated files of every kind and
// layout, at sizes that leave partial blocks and partial tiles.
func TestGenerated(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	files, byXImage := 0, 0
	for _, s := range allSpecs() {
		for _, l := range layouts {
			s.rps, s.tw, s.th = l.rps, l.tw, l.th
			for _, sz := range [][2]int{{1, 1}, {3, 2}, {37, 29}, {64, 17}} {
				name := fmt.Sprintf("%+v %s %dx%d", s, l.name, sz[0], sz[1])
				data, want := generate(s, sz[0], sz[1], rng)
				files++
				for _, d := range []int{1, 2, 3, 8} {
					got, err := Decode(context.Background(), data, Options{Denom: d})
					if err != nil {
						t.Fatalf("%s 1/%d: %v", name, d, err)
					}
					if n, err := areatest.Worst(got, areatest.Reduce(want, d)); err != nil || n > 1 {
						t.Fatalf("%s 1/%d: %v, a pixel differs by %d levels", name, d, err, n)
					}
				}
				if compareXImage(t, name, data) {
					byXImage++
				}
			}
		}
	}
	t.Logf("%d files, %d of them decoded by x/image/tiff too", files, byXImage)
	if byXImage == 0 {
		t.Error("no file was compared with x/image/tiff")
	}
}

// TestXImageTestdata compares with x/image/tiff on its own test files
// (tiled files of every kind it reads), found in the module cache.
func TestXImageTestdata(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(xImageDir(t), "tiff", "testdata", "*.tiff*"))
	if len(files) == 0 {
		t.Skip("no x/image/tiff test files in the module cache")
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(f, ".bz2") {
			if raw, err = io.ReadAll(bzip2.NewReader(bytes.NewReader(raw))); err != nil {
				t.Fatal(err)
			}
		}
		compareXImage(t, filepath.Base(f), raw)
	}
	t.Logf("%d files", len(files))
}

// xImageDir is golang.org/x/image's directory in the module cache.
func xImageDir(t *testing.T) string {
	dir, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "golang.org/x/image").Output()
	if err != nil {
		t.Skipf("golang.org/x/image's directory: %v", err)
	}
	return strings.TrimSpace(string(dir))
}

// TestCCITT wraps x/image/ccitt's test streams (group 3 and 4, a
// 1-bit gopher) in one-strip TIFFs, both ways of coding black, and
// compares with x/image/tiff and with the gopher itself.
func TestCCITT(t *testing.T) {
	dir := filepath.Join(xImageDir(t), "ccitt", "testdata")
	f, err := os.Open(filepath.Join(dir, "bw-gopher.png"))
	if err != nil {
		t.Skipf("x/image/ccitt's test files: %v", err)
	}
	gopher, err := png.Decode(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	w, h := gopher.Bounds().Dx(), gopher.Bounds().Dy()
	for _, name := range []string{"bw-gopher.ccitt_group3", "bw-gopher.ccitt_group4", "bw-gopher-inverted.ccitt_group4"} {
		stream, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		comp := compCCITT3
		if strings.HasSuffix(name, "4") {
			comp = compCCITT4
		}
		for _, ph := range []int{phWhiteIsZero, phBlackIsZero} {
			offsets, counts := []uint32{0}, []uint32{0}
			data := assemble(ph == phBlackIsZero, []entry{
				{tagWidth, typeShort, []uint32{uint32(w)}}, {tagHeight, typeShort, []uint32{uint32(h)}},
				{tagCompression, typeShort, []uint32{uint32(comp)}}, {tagPhotometric, typeShort, []uint32{uint32(ph)}},
				{tagStripOffsets, typeLong, offsets}, {tagStripByteCounts, typeLong, counts},
			}, [][]byte{stream}, offsets, counts)
			label := fmt.Sprintf("%s photometric %d", name, ph)
			if !compareXImage(t, label, data) {
				t.Errorf("%s: x/image/tiff refused it", label)
			}
			got, err := Decode(context.Background(), data, Options{})
			if err != nil {
				t.Fatal(err)
			}
			// The inverted stream codes black as white.
			want := areatest.Reduce(gopher, 1)
			if strings.Contains(name, "inverted") {
				for i, v := range want.Pix {
					want.Pix[i] = 255 - v
				}
			}
			if n, err := areatest.Worst(got, want); err != nil || n > 1 {
				t.Errorf("%s: %v, a pixel differs from the gopher by %d levels", label, err, n)
			}
		}
	}
}
