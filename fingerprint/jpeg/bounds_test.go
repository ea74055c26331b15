package jpeg

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"image"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
)

// stream writes JPEG marker segments and entropy-coded data, to build the
// hostile files the bounds are for without storing megabytes of them.
type stream struct{ bytes.Buffer }

func (s *stream) segment(m byte, payload ...byte) {
	s.Write([]byte{0xFF, m})
	if m == 0xD8 || m == 0xD9 {
		return
	}
	_ = binary.Write(s, binary.BigEndian, uint16(len(payload)+2))
	s.Write(payload)
}

// frame writes a frame header of n components sampled 1x1, all using
// quantization table 0 (all ones).
func (s *stream) frame(sof byte, w, h, n int) {
	q := append([]byte{0}, bytes.Repeat([]byte{1}, 64)...)
	s.segment(0xDB, q...)
	p := []byte{8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), byte(n)}
	for i := range n {
		p = append(p, byte(i+1), 0x11, 0)
	}
	s.segment(sof, p...)
}

// table writes a Huffman table holding one symbol with the one-bit code 0.
func (s *stream) table(class, id, sym byte) {
	p := append([]byte{class<<4 | id, 1}, make([]byte, 15)...)
	s.segment(0xC4, append(p, sym)...)
}

func (s *stream) scan(comps []int, ss, se, ah, al int) {
	p := []byte{byte(len(comps))}
	for _, c := range comps {
		p = append(p, byte(c+1), 0)
	}
	s.segment(0xDA, append(p, byte(ss), byte(se), byte(ah<<4|al))...)
}

// bits writes entropy-coded bits ('0'/'1' runes), stuffing 0xFF bytes and
// padding the last byte with ones.
func (s *stream) bits(b []byte) {
	var acc byte
	n := 0
	put := func(c byte) {
		s.WriteByte(c)
		if c == 0xFF {
			s.WriteByte(0)
		}
	}
	for _, c := range b {
		acc = acc<<1 | (c - '0')
		if n++; n == 8 {
			put(acc)
			acc, n = 0, 0
		}
	}
	if n > 0 {
		put(acc<<(8-n) | (1<<(8-n) - 1))
	}
}

// hugeCMYK builds a w x h four-component progressive file: one DC scan in
// which every block is zero and, per component, one AC scan that ends
// every block with runs of 32767 empty blocks. It is a few hundred
// kilobytes however large it claims to be.
func hugeCMYK(w, h int) []byte {
	var s stream
	s.segment(0xD8)
	s.segment(0xEE, []byte("Adobe\x00\x64\x00\x00\x00\x00\x00")...) // transform 0: CMYK
	s.frame(0xC2, w, h, 4)
	s.table(0, 0, 0)    // DC: magnitude class 0
	s.table(1, 0, 0xE0) // AC: EOB run with 14 extra bits
	s.scan([]int{0, 1, 2, 3}, 0, 0, 0, 0)
	blocks := ((w + 7) / 8) * ((h + 7) / 8)
	s.Write(make([]byte, (4*blocks+7)/8))
	for c := range 4 {
		s.scan([]int{c}, 1, 63, 0, 0)
		run := []byte("011111111111111") // EOB run of 2^14-1 + 16383 + 1 blocks
		s.bits(bytes.Repeat(run, (blocks+32767)/32768))
	}
	s.segment(0xD9)
	return s.Bytes()
}

// scanBomb builds a w x h greyscale progressive file with one DC scan and
// then n empty DC refinement scans, each of which makes a naive decoder
// visit every block.
func scanBomb(w, h, n int) []byte {
	var s stream
	s.segment(0xD8)
	s.frame(0xC2, w, h, 1)
	s.table(0, 0, 0)
	s.scan([]int{0}, 0, 0, 0, 1)
	s.Write(make([]byte, ((w+7)/8*((h+7)/8)+7)/8))
	for range n {
		s.scan([]int{0}, 0, 0, 1, 0)
		s.WriteByte(0)
	}
	s.segment(0xD9)
	return s.Bytes()
}

func TestScanBomb(t *testing.T) {
	data := scanBomb(4000, 3000, 5000)
	t.Logf("scan bomb: %d bytes", len(data))
	cfg, err := DecodeConfig(data)
	if err != nil || cfg.Scans != 5001 {
		t.Fatalf("DecodeConfig: %+v, %v; want 5001 scans", cfg, err)
	}
	_, err = Decode(context.Background(), data, Options{MinSide: 512})
	var le *LimitError
	if !errors.As(err, &le) || !errors.Is(err, ErrLimit) || le.Limit != "scans" || le.Max != DefaultMaxScans {
		t.Fatalf("Decode: %v, want a scans LimitError", err)
	}
	// Within the bound it decodes.
	img, err := Decode(context.Background(), scanBomb(400, 300, DefaultMaxScans-1), Options{})
	if err != nil || img.Bounds().Dx() != 400 {
		t.Fatalf("decode within the scan bound: %v", err)
	}
}

// allocated returns the bytes fn allocates.
func allocated(fn func()) uint64 {
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	fn()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

func TestHugeCMYKProgressive(t *testing.T) {
	const w, h = 8000, 6000 // 48 megapixels
	data := hugeCMYK(w, h)
	t.Logf("%dx%d CMYK progressive: %d bytes", w, h, len(data))
	var img image.Image
	var err error
	alloc := allocated(func() { img, err = Decode(context.Background(), data, Options{MinSide: 512, Luma: true}) })
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != w/8 || b.Dy() != h/8 {
		t.Fatalf("bounds %v, want 1/8 scale", b)
	}
	// Coefficients: 4 components x 750,000 blocks x 10 bytes.
	t.Logf("allocated %.1f MB", float64(alloc)/1e6)
	if alloc > 40<<20 {
		t.Errorf("allocated %d bytes, want at most 40 MiB", alloc)
	}
	// At full size the coefficients would need 408 MB: refused up front.
	alloc = allocated(func() { _, err = Decode(context.Background(), data, Options{MaxPixels: 64 << 20}) })
	var le *LimitError
	if !errors.As(err, &le) || le.Limit != "coefficient bytes" || le.Value < 400e6 {
		t.Fatalf("full-size decode: %v, want a coefficient LimitError", err)
	}
	if alloc > 1<<20 {
		t.Errorf("a refused decode allocated %d bytes", alloc)
	}
}

func TestPixelLimit(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "base444.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Decode(context.Background(), data, Options{MaxPixels: 320*240 - 1})
	var le *LimitError
	if !errors.As(err, &le) || le.Limit != "pixels" || le.Value != 320*240 {
		t.Fatalf("got %v, want a pixels LimitError for 76800", err)
	}
	// At half size it fits.
	if _, err := Decode(context.Background(), data, Options{MaxPixels: 160 * 120, MinSide: 160}); err != nil {
		t.Fatal(err)
	}
}

// countdown is a context that reports cancellation after n checks, so
// that a test can stop a decode at a chosen point without timing.
type countdown struct {
	context.Context
	n atomic.Int64
}

func (c *countdown) Err() error {
	if c.n.Add(-1) < 0 {
		return context.Canceled
	}
	return nil
}

func TestCancel(t *testing.T) {
	for name, data := range map[string][]byte{
		"progressive": hugeCMYK(4000, 3000),
		"scans":       scanBomb(4000, 3000, DefaultMaxScans-1),
	} {
		for _, checks := range []int64{0, 3, 50, 150} {
			ctx := &countdown{Context: context.Background()}
			ctx.n.Store(checks)
			_, err := Decode(ctx, data, Options{MinSide: 512})
			if !errors.Is(err, context.Canceled) {
				t.Errorf("%s, cancelled after %d checks: %v, want context.Canceled", name, checks, err)
			}
		}
	}
}
