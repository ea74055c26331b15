package hamming

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math/bits"
	"strings"
)

// ErrBadHash reports a hash string that is not well-formed hex of the right
// length; test with errors.Is.
var ErrBadHash = errors.New("malformed hash")

// Hash256 is a 256-bit hash (PDQ). Word 0 holds the first 16 hex digits of
// the canonical hex form, most significant bit first, so Hex and ParseHash256
// round-trip with the representation used by Meta's reference tools.
type Hash256 [4]uint64

// Hex returns the 64-digit lower-case hex form.
func (h Hash256) Hex() string {
	return fmt.Sprintf("%016x%016x%016x%016x", h[0], h[1], h[2], h[3])
}

// String implements fmt.Stringer.
func (h Hash256) String() string { return h.Hex() }

// Distance returns the Hamming distance between two 256-bit hashes.
func (h Hash256) Distance(o Hash256) int {
	return bits.OnesCount64(h[0]^o[0]) + bits.OnesCount64(h[1]^o[1]) +
		bits.OnesCount64(h[2]^o[2]) + bits.OnesCount64(h[3]^o[3])
}

// Bit reports bit i, where bit 0 is the least significant bit of the last
// hex digit (the reference implementations' numbering).
func (h Hash256) Bit(i int) bool {
	return h[3-i/64]>>(uint(i)%64)&1 == 1
}

// SetBit sets bit i (numbered as in Bit).
func (h *Hash256) SetBit(i int) {
	h[3-i/64] |= 1 << (uint(i) % 64)
}

// ParseHash256 parses 64 hex digits.
func ParseHash256(s string) (Hash256, error) {
	var h Hash256
	s = strings.TrimSpace(s)
	if len(s) != 64 {
		return h, fmt.Errorf("%w: want 64 hex digits, got %d characters", ErrBadHash, len(s))
	}
	var b [32]byte
	if _, err := hex.Decode(b[:], []byte(s)); err != nil {
		return h, fmt.Errorf("%w: %v", ErrBadHash, err)
	}
	for w := 0; w < 4; w++ {
		for i := 0; i < 8; i++ {
			h[w] = h[w]<<8 | uint64(b[w*8+i])
		}
	}
	return h, nil
}

// Hash64 is a 64-bit hash (pHash, dHash).
type Hash64 uint64

// Hex returns the 16-digit lower-case hex form.
func (h Hash64) Hex() string { return fmt.Sprintf("%016x", uint64(h)) }

// String implements fmt.Stringer.
func (h Hash64) String() string { return h.Hex() }

// Distance returns the Hamming distance between two 64-bit hashes.
func (h Hash64) Distance(o Hash64) int { return bits.OnesCount64(uint64(h ^ o)) }

// ParseHash64 parses 16 hex digits.
func ParseHash64(s string) (Hash64, error) {
	s = strings.TrimSpace(s)
	if len(s) != 16 {
		return 0, fmt.Errorf("%w: want 16 hex digits, got %d characters", ErrBadHash, len(s))
	}
	var b [8]byte
	if _, err := hex.Decode(b[:], []byte(s)); err != nil {
		return 0, fmt.Errorf("%w: %v", ErrBadHash, err)
	}
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return Hash64(v), nil
}
