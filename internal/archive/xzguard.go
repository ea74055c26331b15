package archive

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
)

// xzGuard passes an xz file through to the decoder while following its
// framing, and refuses a block whose LZMA2 dictionary is larger than
// maxXZDict before the decoder has read the whole of that block's header.
// The decoder allocates a block's dictionary as soon as it has the header,
// and any block may ask for 4 GiB, not only the first. The framing can be
// followed without decompressing: every LZMA2 chunk states its packed
// size, and the index, padding and check fields have fixed or
// self-delimiting lengths. Bytes the framing does not allow are refused as
// corrupt; the decoder would refuse them too.
type xzGuard struct {
	r   io.Reader
	err error

	state     xzField
	want      int    // bytes of the field being collected
	buf       []byte // the field collected so far
	skip      int64  // bytes still to pass over before state
	checkSize int64  // of the current stream's blocks
	since     int64  // bytes since the current block or index began
	records   uint64 // index varints still to read, after the count
	varint    uint64
	shift     uint
	blocks    int // block headers checked
}

type xzField int

const (
	xzStreamHeader xzField = iota
	xzBlockStart           // a block header's size byte, or the index indicator
	xzBlockHeader
	xzChunkControl
	xzChunkHeader
	xzIndexCount
	xzIndexRecord
	xzStreamFooter
	xzStreamGap // stream padding, or the next stream's header
)

const xzStreamHeaderLen = 12

var xzMagic = []byte{0xfd, '7', 'z', 'X', 'Z', 0}

func newXZGuard(r io.Reader) *xzGuard {
	return &xzGuard{r: r, state: xzStreamHeader, want: xzStreamHeaderLen}
}

func (g *xzGuard) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	n, err := g.r.Read(p)
	if serr := g.scan(p[:n]); serr != nil {
		g.err = serr
		return 0, serr
	}
	return n, err
}

// scan follows the framing over b, the next bytes of the file.
func (g *xzGuard) scan(b []byte) error {
	for len(b) > 0 {
		if g.skip > 0 {
			k := min(int64(len(b)), g.skip)
			b = b[k:]
			g.skip -= k
			g.since += k
			continue
		}
		k := min(len(b), g.want-len(g.buf))
		g.buf = append(g.buf, b[:k]...)
		b = b[k:]
		g.since += int64(k)
		if len(g.buf) < g.want {
			continue
		}
		if err := g.field(); err != nil {
			return err
		}
	}
	return nil
}

// expect starts collecting a field of n bytes, after skipping skip bytes.
func (g *xzGuard) expect(f xzField, n int, skip int64) {
	g.state, g.want, g.buf, g.skip = f, n, g.buf[:0], skip
}

// field acts on a complete field and says what comes next.
func (g *xzGuard) field() error {
	b := g.buf
	switch g.state {
	case xzStreamHeader:
		if !bytes.Equal(b[:len(xzMagic)], xzMagic) {
			return errXZFraming("stream header magic")
		}
		g.checkSize = xzCheckSize(b[7] & 0x0f)
		g.expect(xzBlockStart, 1, 0)
	case xzBlockStart:
		g.since = 1
		if b[0] == 0 {
			g.varint, g.shift = 0, 0
			g.expect(xzIndexCount, 1, 0)
			return nil
		}
		g.state, g.want = xzBlockHeader, (int(b[0])+1)*4
	case xzBlockHeader:
		if err := checkXZBlockHeader(b); err != nil {
			return err
		}
		g.blocks++
		g.expect(xzChunkControl, 1, 0)
	case xzChunkControl:
		switch c := b[0]; {
		case c == 0: // end of the block's data: padding, then its check
			g.expect(xzBlockStart, 1, pad4(g.since)+g.checkSize)
		case c == 1 || c == 2: // stored chunk: 16-bit size - 1
			g.state, g.want = xzChunkHeader, 3
		case c >= 0x80: // LZMA chunk: sizes, and properties when c >= 0xc0
			g.state, g.want = xzChunkHeader, 5
			if c >= 0xc0 {
				g.want = 6
			}
		default:
			return errXZFraming(fmt.Sprintf("LZMA2 control byte %#x", c))
		}
	case xzChunkHeader:
		size := int64(binary.BigEndian.Uint16(b[1:3])) + 1
		if b[0] >= 0x80 {
			size = int64(binary.BigEndian.Uint16(b[3:5])) + 1
		}
		g.expect(xzChunkControl, 1, size)
	case xzIndexCount, xzIndexRecord:
		g.varint |= uint64(b[0]&0x7f) << g.shift
		g.shift += 7
		if b[0]&0x80 != 0 {
			if g.shift >= 63 {
				return errXZFraming("index integer")
			}
			g.expect(g.state, 1, 0)
			return nil
		}
		v := g.varint
		g.varint, g.shift = 0, 0
		if g.state == xzIndexCount {
			if v > 1<<62 {
				return errXZFraming("index record count")
			}
			g.records = 2 * v // unpadded and uncompressed size of each
		} else {
			g.records--
		}
		if g.records > 0 {
			g.expect(xzIndexRecord, 1, 0)
			return nil
		}
		g.expect(xzStreamFooter, xzStreamHeaderLen, pad4(g.since)+4) // padding, CRC32
	case xzStreamFooter:
		g.expect(xzStreamGap, 1, 0)
	case xzStreamGap:
		switch b[0] {
		case 0:
			g.expect(xzStreamGap, 1, 0)
		case xzMagic[0]:
			g.state, g.want = xzStreamHeader, xzStreamHeaderLen
		default:
			return errXZFraming("data after the stream")
		}
	}
	return nil
}

// errXZFraming reports bytes the xz framing does not allow at that point.
func errXZFraming(what string) error {
	return fmt.Errorf("%w: xz: unexpected %s", ErrCorrupt, what)
}

// checkXZBlockHeader parses a block header (size byte to CRC32) and
// refuses an LZMA2 dictionary over maxXZDict. A header it cannot parse is
// refused too: the decoder would not read past it.
func checkXZBlockHeader(b []byte) error {
	flags := b[1]
	h := b[2 : len(b)-4]
	uvarint := func() (uint64, bool) {
		v, n := binary.Uvarint(h)
		if n <= 0 {
			return 0, false
		}
		h = h[n:]
		return v, true
	}
	for _, present := range []bool{flags&0x40 != 0, flags&0x80 != 0} { // compressed, uncompressed size
		if !present {
			continue
		}
		if _, ok := uvarint(); !ok {
			return errXZFraming("block header size field")
		}
	}
	for range int(flags&0x03) + 1 {
		id, ok := uvarint()
		if !ok {
			return errXZFraming("block header filter")
		}
		size, ok := uvarint()
		if !ok || size > uint64(len(h)) {
			return errXZFraming("block header filter properties")
		}
		props := h[:size]
		h = h[size:]
		if id != 0x21 {
			continue
		}
		if len(props) != 1 {
			return errXZFraming("LZMA2 properties")
		}
		if d := xzDictSize(props[0]); d > maxXZDict {
			return fmt.Errorf("%w: xz dictionary of %d bytes, limit %d", ErrUnsupported, d, maxXZDict)
		}
	}
	return nil
}

// xzCheckSize is the length of a block's check field for a check type.
func xzCheckSize(t byte) int64 {
	if t == 0 {
		return 0
	}
	return 4 << ((t - 1) / 3)
}

// pad4 is the padding that brings n to a multiple of four.
func pad4(n int64) int64 { return -n & 3 }
