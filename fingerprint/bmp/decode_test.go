package bmp

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"math/rand/v2"
	"testing"

	"github.com/leakwatch/leakwatch/fingerprint/internal/area/areatest"

	xbmp "golang.org/x/image/bmp"
)

// spec is a BMP to generate.
type spec struct {
	bpp     int
	topDown bool
	info    int // header size: 40, 108 or 124
	colours int // palette entries written (0: the header says 0, meaning all)
	gap     int // bytes between the palette and the pixels
}

// generate writes a w x h BMP of s with smooth content plus noise and
// returns it with the image it holds, as x/image/bmp would return it.
func generate(s spec, w, h int, rng *rand.Rand) ([]byte, image.Image) {
	le := binary.LittleEndian
	n := s.colours
	if n == 0 && s.bpp <= 8 {
		n = 1 << s.bpp
	}
	row := (w*s.bpp + 31) / 32 * 4
	offset := fileHeader + s.info + 4*n + s.gap
	out := make([]byte, offset+row*h)
	copy(out, "BM")
	le.PutUint32(out[2:], uint32(len(out)))
	le.PutUint32(out[10:], uint32(offset))
	hd := out[fileHeader:]
	le.PutUint32(hd, uint32(s.info))
	le.PutUint32(hd[4:], uint32(w))
	ht := int32(h)
	if s.topDown {
		ht = -ht
	}
	le.PutUint32(hd[8:], uint32(ht))
	le.PutUint16(hd[12:], 1)
	le.PutUint16(hd[14:], uint16(s.bpp))
	le.PutUint32(hd[32:], uint32(s.colours))
	if s.info > infoHeader && s.bpp == 32 {
		le.PutUint32(hd[16:], 3) // bit fields, in the standard layout
		le.PutUint32(hd[40:], 0xff0000)
		le.PutUint32(hd[44:], 0xff00)
		le.PutUint32(hd[48:], 0xff)
		le.PutUint32(hd[52:], 0xff000000)
	}
	var pal color.Palette
	for i := range n {
		p := out[fileHeader+s.info+4*i:]
		p[0], p[1], p[2] = byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))
		pal = append(pal, color.RGBA{p[2], p[1], p[0], 0xff})
	}
	var img image.Image
	r := image.Rect(0, 0, w, h)
	sample := func(x, y, c int) int {
		v := float64(x*(c+1)+y*(3-c)) / float64(w+h) * 255
		return int(min(max(v+rng.NormFloat64()*16, 0), 255))
	}
	switch s.bpp {
	case 24:
		img = image.NewRGBA(r)
	case 32:
		img = image.NewNRGBA(r)
	default:
		img = image.NewPaletted(r, pal)
	}
	for y := range h {
		fy := h - 1 - y
		if s.topDown {
			fy = y
		}
		p := out[offset+fy*row:]
		for x := range w {
			switch m := img.(type) {
			case *image.Paletted:
				v := sample(x, y, 0) * n / 256
				if s.colours > 0 && x%7 == 0 {
					v = 0
				}
				m.Pix[y*m.Stride+x] = uint8(v)
				bit := x * s.bpp
				p[bit/8] |= byte(v) << (8 - s.bpp - bit%8)
			case *image.RGBA:
				c := color.RGBA{uint8(sample(x, y, 0)), uint8(sample(x, y, 1)), uint8(sample(x, y, 2)), 0xff}
				m.SetRGBA(x, y, c)
				p[3*x], p[3*x+1], p[3*x+2] = c.B, c.G, c.R
			case *image.NRGBA:
				c := color.NRGBA{uint8(sample(x, y, 0)), uint8(sample(x, y, 1)), uint8(sample(x, y, 2)), uint8(rng.IntN(256))}
				m.SetNRGBA(x, y, c)
				p[4*x], p[4*x+1], p[4*x+2], p[4*x+3] = c.B, c.G, c.R, c.A
			}
		}
	}
	return out, img
}

// TestGenerated compares with the expected luma, and with x/image/bmp
// where it decodes the file, at 1/1, 1/2, 1/3 and 1/8.
func TestGenerated(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	files, byXImage := 0, 0
	for _, bpp := range []int{1, 2, 4, 8, 24, 32} {
		for _, info := range []int{infoHeader, v4Header, v5Header} {
			for _, td := range []bool{false, true} {
				for _, sz := range [][2]int{{1, 1}, {3, 2}, {37, 29}, {64, 17}} {
					s := spec{bpp: bpp, topDown: td, info: info}
					if bpp <= 8 && sz[0] == 37 {
						s.colours, s.gap = 1<<bpp-1, 4*(bpp%3) // fewer colours; a gap x/image refuses
					}
					name := fmt.Sprintf("%+v %dx%d", s, sz[0], sz[1])
					data, want := generate(s, sz[0], sz[1], rng)
					files++
					ref, xerr := xbmp.Decode(bytes.NewReader(data))
					if xerr == nil {
						byXImage++
					}
					for _, d := range []int{1, 2, 3, 8} {
						got, err := Decode(context.Background(), data, Options{Denom: d})
						if err != nil {
							t.Fatalf("%s 1/%d: %v", name, d, err)
						}
						if n, err := areatest.Worst(got, areatest.Reduce(want, d)); err != nil || n > 1 {
							t.Fatalf("%s 1/%d: %v, a pixel differs by %d levels", name, d, err, n)
						}
						if xerr != nil {
							continue
						}
						if n, err := areatest.Worst(got, areatest.Reduce(ref, d)); err != nil || n > 1 {
							t.Errorf("%s 1/%d: %v, a pixel differs from x/image/bmp's by %d levels", name, d, err, n)
						}
					}
				}
			}
		}
	}
	t.Logf("%d files, %d of them decoded by x/image/bmp too", files, byXImage)
	if byXImage < files/2 {
		t.Errorf("only %d files compared with x/image/bmp", byXImage)
	}
}

// TestXImageEncoder reads what x/image/bmp writes: 8-bit palette, 24-bit
// and 32-bit with alpha.
func TestXImageEncoder(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	_, rgb := generate(spec{bpp: 24, info: infoHeader}, 45, 31, rng)
	_, pal := generate(spec{bpp: 8, info: infoHeader}, 45, 31, rng)
	_, nrgba := generate(spec{bpp: 32, info: v4Header}, 45, 31, rng)
	for name, img := range map[string]image.Image{"rgb": rgb, "palette": pal, "nrgba": nrgba} {
		var b bytes.Buffer
		if err := xbmp.Encode(&b, img); err != nil {
			t.Fatal(err)
		}
		ref, err := xbmp.Decode(bytes.NewReader(b.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range []int{1, 4} {
			got, err := Decode(context.Background(), b.Bytes(), Options{Denom: d})
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if n, err := areatest.Worst(got, areatest.Reduce(ref, d)); err != nil || n > 1 {
				t.Errorf("%s 1/%d: %v, a pixel differs from x/image/bmp's by %d levels", name, d, err, n)
			}
		}
	}
}

func TestLimitsAndBadData(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	data, _ := generate(spec{bpp: 24, info: infoHeader}, 64, 48, rng)
	var le *LimitError
	for _, c := range []struct {
		opt   Options
		limit string
	}{{Options{MaxPixels: 64*48 - 1}, "pixels"}, {Options{Denom: 2, MaxOutPixels: 32*24 - 1}, "output pixels"}} {
		if _, err := Decode(context.Background(), data, c.opt); !errors.As(err, &le) || le.Limit != c.limit {
			t.Errorf("%+v: %v, want a %q LimitError", c.opt, err, c.limit)
		}
	}
	edit := func(at int, v uint32) []byte {
		b := append([]byte{}, data...)
		binary.LittleEndian.PutUint32(b[at:], v)
		return b
	}
	for _, c := range []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrFormat},
		{"truncated", data[:len(data)-1], ErrFormat},
		{"offset past the end", edit(10, 0xfffffff0), ErrFormat},
		{"2^31 rows", edit(22, 0x7fffffff), ErrFormat},
		{"zero width", edit(18, 0), ErrFormat},
		{"run-length", edit(30, 1), ErrUnsupported},
		{"16 bits", edit(28, 16), ErrUnsupported},
		{"OS/2 header", edit(14, 12), ErrUnsupported},
	} {
		if _, err := Decode(context.Background(), c.data, Options{}); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Decode(ctx, data, Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
