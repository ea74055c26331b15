package jpegtest

import (
	"bytes"
	"encoding/binary"
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

// ProgressiveCMYK builds a w x h four-component progressive file: one DC scan in
// which every block is zero and, per component, one AC scan that ends
// every block with runs of 32767 empty blocks. It is a few hundred
// kilobytes however large it claims to be.
func ProgressiveCMYK(w, h int) []byte {
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

// ScanBomb builds a w x h greyscale progressive file with one DC scan and
// then n empty DC refinement scans, each of which makes a naive decoder
// visit every block.
func ScanBomb(w, h, n int) []byte {
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

// SlowScans builds a w x h greyscale progressive file with one DC scan
// and then n AC scans of the whole band, each of which ends every block
// with runs of 32767 empty blocks: about 25 bytes a scan, each of which
// makes a decoder visit every block. Within a raised scan bound it holds a
// decoder for a long time (a 4000x3000 file of 100,000 scans is 2.5 MB).
func SlowScans(w, h, n int) []byte {
	var s stream
	s.segment(0xD8)
	s.frame(0xC2, w, h, 1)
	s.table(0, 0, 0)
	s.table(1, 0, 0xE0)
	s.scan([]int{0}, 0, 0, 0, 0)
	blocks := ((w + 7) / 8) * ((h + 7) / 8)
	s.Write(make([]byte, (blocks+7)/8))
	var run bytes.Buffer
	for range (blocks + 32767) / 32768 {
		run.WriteString("011111111111111")
	}
	var one stream
	one.bits(run.Bytes())
	for range n {
		s.scan([]int{0}, 1, 63, 0, 0)
		s.Write(one.Bytes())
	}
	s.segment(0xD9)
	return s.Bytes()
}

// WithOrientation returns a copy of a JPEG with an EXIF APP1 segment
// giving orientation o (1..8) right after its SOI marker.
func WithOrientation(data []byte, o int) []byte {
	tiff := []byte{'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, byte(o), 0, 0, 0, 0, 0, 0}
	var s stream
	s.Write(data[:2])
	s.segment(0xE1, append([]byte("Exif\x00\x00"), tiff...)...)
	s.Write(data[2:])
	return s.Bytes()
}
