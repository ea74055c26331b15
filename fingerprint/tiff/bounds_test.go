package tiff

import (
	"context"
	"encoding/binary"
	"errors"
	"hash/adler32"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/leakwatch/leakwatch/fingerprint/internal/ctxtest"
)

func TestLimits(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	strips, _ := generate(spec{ph: phRGB, bps: 8, spp: 3, comp: compDeflate, rps: 4}, 64, 48, rng)
	tiles, _ := generate(spec{ph: phRGB, bps: 8, spp: 3, comp: compLZW, tw: 48, th: 32}, 64, 48, rng)
	big, _ := generate(spec{ph: phRGB, bps: 8, spp: 3, comp: compPackBits, tw: 64, th: 64}, 40, 30, rng)
	var le *LimitError
	for _, c := range []struct {
		name  string
		data  []byte
		opt   Options
		limit string
		max   int64 // the bound the error names
	}{
		{"pixels", strips, Options{MaxPixels: 64*48 - 1}, "pixels", 64*48 - 1},
		{"output pixels", strips, Options{Denom: 2, MaxOutPixels: 32*24 - 1}, "output pixels", 32*24 - 1},
		{"row bytes", strips, Options{MaxRowBytes: 64*3 - 1}, "row bytes", 64*3 - 1},
		{"tile row bytes", tiles, Options{MaxRowBytes: 48*3 - 1}, "row bytes", 48*3 - 1},
		{"strips", strips, Options{MaxBlocks: 11}, "blocks", 11},
		// 64x64 decoded for 40x30.
		{"padded pixels", big, Options{MaxPixels: 64*64/2 - 1}, "padded pixels", 64*64 - 2},
		{"padded pixels set", big, Options{MaxPaddedPixels: 64*64 - 1}, "padded pixels", 64*64 - 1},
	} {
		_, err := Decode(context.Background(), c.data, c.opt)
		if !errors.As(err, &le) || !errors.Is(err, ErrLimit) || le.Limit != c.limit {
			t.Errorf("%s: %v, want a %q LimitError", c.name, err, c.limit)
			continue
		}
		if le.Max != c.max || le.Value <= c.max {
			t.Errorf("%s: %v, want a value over the limit %d", c.name, err, c.max)
		}
	}
	for _, data := range [][]byte{strips, tiles, big} {
		if _, err := Decode(context.Background(), data, Options{Denom: 2, MaxPixels: 64 * 48, MaxOutPixels: 32 * 24, MaxBlocks: 12, MaxRowBytes: 64 * 3}); err != nil {
			t.Errorf("within the bounds: %v", err)
		}
	}
}

// TestHostileHeaders: counts, offsets and sizes that point outside the
// file or past the bounds are errors found before anything large is
// allocated or decoded.
func TestHostileHeaders(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	good, _ := generate(spec{ph: phBlackIsZero, bps: 8, spp: 1, comp: compNone, rps: 8}, 40, 30, rng)
	// field finds an IFD entry of the little-endian file by tag.
	field := func(data []byte, tag uint16) []byte {
		n := int(binary.LittleEndian.Uint16(data[8:]))
		for i := range n {
			if e := data[10+12*i:][:12]; binary.LittleEndian.Uint16(e) == tag {
				return e
			}
		}
		t.Fatalf("no tag %d", tag)
		return nil
	}
	edit := func(tag uint16, f func(e []byte)) []byte {
		data := append([]byte{}, good...)
		f(field(data, tag))
		return data
	}
	setCount := func(tag uint16, n uint32) []byte {
		return edit(tag, func(e []byte) { binary.LittleEndian.PutUint32(e[4:], n) })
	}
	setValue := func(tag uint16, v uint32) []byte {
		return edit(tag, func(e []byte) { binary.LittleEndian.PutUint32(e[8:], v) })
	}
	for _, c := range []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrFormat},
		{"not TIFF", []byte("II*\x01xxxxxxxx"), ErrFormat},
		{"BigTIFF", []byte("II+\x00\x08\x00\x00\x00"), ErrUnsupported},
		{"IFD past the end", append([]byte("II*\x00"), 0xff, 0xff, 0xff, 0x7f), ErrFormat},
		{"truncated IFD", good[:20], ErrFormat},
		{"4 billion offsets", setCount(tagStripOffsets, 0xffffffff), ErrFormat},
		{"offsets past the end", setValue(tagStripOffsets, 0xfffffff0), ErrFormat},
		{"too few offsets", setCount(tagStripOffsets, 3), ErrFormat},
		{"too few byte counts", setCount(tagStripByteCounts, 3), ErrFormat},
		{"zero width", setValue(tagWidth, 0), ErrFormat},
		{"width of 2^31", setValue(tagWidth, 1<<31), ErrFormat},
		{"a billion pixels", setValue(tagWidth, 1<<25), ErrLimit},
		{"truncated data", good[:len(good)-100], ErrFormat},
		{"17-bit samples", setValue(tagBitsPerSample, 17), ErrUnsupported},
		{"JPEG", setValue(tagCompression, 7), ErrUnsupported},
		{"YCbCr", setValue(tagPhotometric, 6), ErrUnsupported},
		{"predictor 3", setValue(tagPredictor, 3), ErrUnsupported},
		{"65535 samples", setValue(tagSamplesPerPixel, 0xffff), ErrUnsupported},
	} {
		_, err := Decode(context.Background(), c.data, Options{})
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

// TestBlocksEndEarly: compressed blocks that end before their rows, or
// hold garbage, are format errors naming the block.
func TestBlocksEndEarly(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, comp := range []int{compNone, compPackBits, compLZW, compDeflate} {
		data, _ := generate(spec{ph: phRGB, bps: 8, spp: 3, comp: comp}, 30, 20, rng)
		// The one strip is at the end: cut it short, then spoil it.
		short := data[:len(data)-len(data)/8]
		if _, err := Decode(context.Background(), short, Options{}); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "block 0") {
			t.Errorf("compression %d, cut short: %v", comp, err)
		}
	}
}

// TestCancel stops a decode from its context.
func TestCancel(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	data, _ := generate(spec{ph: phBlackIsZero, bps: 8, spp: 1, comp: compDeflate}, 50, 50, rng)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Decode(ctx, data, Options{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("%v, want context.Canceled", err)
	}
}

// TestCancelInsideBlock: a deflate strip of megabytes of empty blocks
// yields its one row only at its end; the decode must still notice its
// context is done.
func TestCancelInsideBlock(t *testing.T) {
	z := []byte{0x78, 0x01}
	for range 2 << 20 {
		z = append(z, 0, 0, 0, 0xff, 0xff) // an empty stored block, not final
	}
	row := []byte{128}
	z = append(z, 1, 1, 0, 0xfe, 0xff)
	z = append(z, row...)
	z = binary.BigEndian.AppendUint32(z, adler32.Checksum(row))
	offsets, counts := make([]uint32, 1), make([]uint32, 1)
	data := assemble(false, []entry{
		{tagWidth, typeLong, []uint32{1}}, {tagHeight, typeLong, []uint32{1}},
		{tagBitsPerSample, typeShort, []uint32{8}}, {tagCompression, typeShort, []uint32{compDeflate}},
		{tagPhotometric, typeShort, []uint32{phBlackIsZero}}, {tagSamplesPerPixel, typeShort, []uint32{1}},
		{tagRowsPerStrip, typeLong, []uint32{1}},
		{tagStripOffsets, typeLong, offsets}, {tagStripByteCounts, typeLong, counts},
	}, [][]byte{z}, offsets, counts)
	if _, err := Decode(context.Background(), data, Options{}); err != nil {
		t.Fatalf("the file itself is valid: %v", err)
	}
	ctx := ctxtest.Countdown(50)
	if _, err := Decode(ctx, data, Options{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("%v, want context.Canceled", err)
	}
}
