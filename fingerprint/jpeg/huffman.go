package jpeg

import (
	"encoding/binary"
	"fmt"
)

// lutBits is the code length the lookup table resolves in one step; longer
// codes (rare in real files) take the canonical slow path.
const lutBits = 9

// fastBits is how many bits the AC coefficient table resolves at once: a
// run/size code and its magnitude bits together (most coefficients of a
// photograph take 3 to 8 bits).
const fastBits = 10

// huffman is one decoding table.
type huffman struct {
	// lut[peek] is length<<8 | symbol for codes up to lutBits long, 0 for
	// longer codes.
	lut [1 << lutBits]uint16
	// fast[peek], for a code whose run/size symbol has a non-zero size
	// and whose bits and magnitude fit in fastBits, is value<<16 | run<<8
	// | bits used; 0 otherwise (then lut and the magnitude are read as
	// usual). Read only for AC tables.
	fast [1 << fastBits]int32
	// maxCode[l] is the largest code of length l (-1 if none); valPtr[l]
	// the index in vals of the first code of length l, minus that code.
	maxCode [17]int32
	valPtr  [17]int32
	vals    [256]uint8
	counts  [16]uint8
	nvals   int
	defined bool
	built   bool
}

// parse reads one table definition (after the class/id byte) from p and
// returns the bytes it used.
func (h *huffman) parse(p []byte) (int, error) {
	if len(p) < 16 {
		return 0, fmt.Errorf("%w: short huffman table", ErrFormat)
	}
	n := 0
	for i := range 16 {
		h.counts[i] = p[i]
		n += int(p[i])
	}
	if n == 0 || n > 256 || len(p) < 16+n {
		return 0, fmt.Errorf("%w: huffman table with %d symbols", ErrFormat, n)
	}
	copy(h.vals[:], p[16:16+n])
	h.nvals = n
	h.defined, h.built = true, false
	return 16 + n, nil
}

// build fills the lookup structures; tables are built lazily, at the
// scan that uses them, so that a file of a million DHT segments costs
// parsing only.
func (h *huffman) build() error {
	if h.built {
		return nil
	}
	clear(h.lut[:])
	code, k := int32(0), int32(0)
	for l := 1; l <= 16; l++ {
		c := int32(h.counts[l-1])
		if c == 0 {
			h.maxCode[l] = -1
		} else {
			h.valPtr[l] = k - code
			for range c {
				if code >= 1<<l {
					return fmt.Errorf("%w: over-subscribed huffman table", ErrFormat)
				}
				if l <= lutBits {
					shift := lutBits - l
					base := code << shift
					v := uint16(l)<<8 | uint16(h.vals[k])
					for j := int32(0); j < 1<<shift; j++ {
						h.lut[base+j] = v
					}
				}
				code++
				k++
			}
			h.maxCode[l] = code - 1
		}
		code <<= 1
	}
	h.buildFast()
	h.built = true
	return nil
}

// buildFast fills fast from lut: each peek whose code is short enough to
// be followed by its whole magnitude gets the coefficient it decodes to.
func (h *huffman) buildFast() {
	for peek := range int32(1 << fastBits) {
		h.fast[peek] = 0
		v := h.lut[peek>>(fastBits-lutBits)]
		l, rs := int32(v>>8), int32(v&0xFF)
		run, sz := rs>>4, rs&15
		if v == 0 || sz == 0 || l+sz > fastBits {
			continue
		}
		bits := peek >> (fastBits - l - sz) & (1<<sz - 1)
		if bits < 1<<(sz-1) {
			bits += -1<<sz + 1
		}
		h.fast[peek] = bits<<16 | run<<8 | (l + sz)
	}
}

// bitReader reads entropy-coded bits, removing stuffed zero bytes. At a
// marker or the end of the data it supplies zero bits and remembers how
// many, so that reading into them can be detected.
type bitReader struct {
	data []byte
	pos  int    // next byte to load
	acc  uint64 // bits, most significant first
	n    int    // valid bits in acc
	pad  int    // how many of the last n bits are padding
	// marker reports that pos is at a marker (not a stuffed 0xFF00).
	marker bool
	// eof reports padding because the data ended.
	eof bool
}

func (b *bitReader) reset(data []byte, pos int) {
	*b = bitReader{data: data, pos: pos}
}

// fill loads bytes until at least 57 bits are available.
func (b *bitReader) fill() {
	// Fast path: the next 8 bytes hold no 0xFF (no stuffing, no marker),
	// so as many whole bytes as fit are taken at once.
	if b.pos+8 <= len(b.data) && !b.marker {
		w := binary.BigEndian.Uint64(b.data[b.pos:])
		// A byte of w is 0xFF exactly when that byte of ^w is zero.
		x := ^w
		if (x-0x0101010101010101)&^x&0x8080808080808080 == 0 {
			k := (64 - b.n) >> 3 // whole bytes that fit
			b.acc |= w >> (64 - 8*k) << (64 - 8*k - b.n)
			b.pos += k
			b.n += 8 * k
			return
		}
	}
	for b.n <= 56 {
		if b.marker || b.pos >= len(b.data) {
			if !b.marker {
				b.eof = true
			}
			b.n += 8
			b.pad += 8
			continue
		}
		c := b.data[b.pos]
		if c == 0xFF {
			if b.pos+1 < len(b.data) && b.data[b.pos+1] == 0 {
				b.pos += 2
			} else {
				b.marker = true
				continue
			}
		} else {
			b.pos++
		}
		b.acc |= uint64(c) << (56 - b.n)
		b.n += 8
	}
}

// overread reports whether padding bits were consumed.
func (b *bitReader) overread() bool { return b.n < b.pad }

func (b *bitReader) bits(s int) int32 {
	if b.n < s {
		b.fill()
	}
	v := int32(b.acc >> (64 - s))
	b.acc <<= s
	b.n -= s
	return v
}

func (b *bitReader) bit() bool {
	if b.n < 1 {
		b.fill()
	}
	v := b.acc>>63 != 0
	b.acc <<= 1
	b.n--
	return v
}

// receiveExtend reads s bits and sign-extends them (JPEG F.2.2.1).
func (b *bitReader) receiveExtend(s int) int32 {
	if s == 0 {
		return 0
	}
	v := b.bits(s)
	if v < 1<<(s-1) {
		v += -1<<s + 1
	}
	return v
}

// decode reads one Huffman-coded symbol.
func (b *bitReader) decode(h *huffman) (uint8, error) {
	if b.n < 16 {
		b.fill()
	}
	if v := h.lut[b.acc>>(64-lutBits)]; v != 0 {
		l := int(v >> 8)
		b.acc <<= l
		b.n -= l
		return uint8(v), nil
	}
	code := int32(0)
	for l := 1; l <= 16; l++ {
		code = code<<1 | int32(b.acc>>63)
		b.acc <<= 1
		b.n--
		if code <= h.maxCode[l] {
			return h.vals[(h.valPtr[l]+code)&0xFF], nil
		}
	}
	return 0, fmt.Errorf("%w: bad huffman code", ErrFormat)
}
