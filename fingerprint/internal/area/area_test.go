package area

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestAddPacked: a row added a chunk at a time gives what adding its
// whole luma at once gives, for every packing, reduction and stride (an
// interlace pass's), rows much wider than a chunk included.
func TestAddPacked(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, bits := range []int{1, 2, 4, 8, 16, 24} {
		// luma reads the first byte-aligned sample of each pixel.
		luma := func(dst []float32, row []byte) {
			for i := range dst {
				bit := i * bits
				if bits >= 8 {
					dst[i] = float32(row[bit/8])
				} else {
					top := 1<<bits - 1
					dst[i] = float32(int(row[bit/8]>>(8-bits-bit%8))&top) * 255 / float32(top)
				}
			}
		}
		for _, d := range []int{1, 2, 8} {
			for _, pass := range [][2]int{{0, 1}, {1, 2}} {
				w, h := 3*chunk+77, 3
				n := (w - pass[0] + pass[1] - 1) / pass[1]
				a, b := New(w, h, d), New(w, h, d)
				for y := range h {
					row := make([]byte, (n*bits+7)/8)
					for i := range row {
						row[i] = byte(rng.IntN(256))
					}
					a.AddPacked(row, n, bits, pass[0], pass[1], y, luma)
					lum := make([]float32, n)
					luma(lum, row)
					b.Row(lum, pass[0], pass[1], y)
				}
				if !bytes.Equal(a.Gray().Pix, b.Gray().Pix) {
					t.Errorf("%d bits, 1/%d, pass %v: chunked rows differ", bits, d, pass)
				}
			}
		}
	}
}
