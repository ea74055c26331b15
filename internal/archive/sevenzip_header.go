package archive

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/ulikunitz/xz/lzma"
)

// The 7z library allocates every table its header declares, sized by
// counts of up to 2^32 read before anything is validated: a 41-byte file
// declaring four billion files makes it request 500 GB and kills the
// process with an unrecoverable "out of memory". preflight7z therefore
// parses the header itself first, bounded, and refuses any count larger
// than the entry budget (or than the header could honestly describe)
// before the library sees it. It also checks the dictionary and model
// sizes of every coder, which decoders allocate up front. The grammar is
// 7-Zip's 7zFormat.txt; anything outside it is refused rather than
// guessed at.

// 7z property IDs.
const (
	k7zEnd                   = 0x00
	k7zHeader                = 0x01
	k7zArchiveProperties     = 0x02
	k7zAdditionalStreamsInfo = 0x03
	k7zMainStreamsInfo       = 0x04
	k7zFilesInfo             = 0x05
	k7zPackInfo              = 0x06
	k7zUnpackInfo            = 0x07
	k7zSubStreamsInfo        = 0x08
	k7zSize                  = 0x09
	k7zCRC                   = 0x0a
	k7zFolder                = 0x0b
	k7zCodersUnpackSize      = 0x0c
	k7zNumUnpackStream       = 0x0d
	k7zEmptyStream           = 0x0e
	k7zEncodedHeader         = 0x17
)

// 7z coder IDs whose properties declare memory to allocate, or that
// encrypt.
const (
	coderCopy  = "\x00"
	coderLZMA  = "\x03\x01\x01"
	coderLZMA2 = "\x21"
	coderPPMd  = "\x03\x04\x01"
	coderAES   = "\x06\xf1\x07\x01"
	// zstd (7-Zip forks): the frame declares its window, which the decoder
	// allocates (up to 512 MiB), past any header check.
	coderZstd = "\x04\xf7\x11\x01"
)

const (
	sevenZipSigLen     = 32
	maxSevenZipHeader  = 64 << 20 // ~600 bytes per file at the default entry limit
	maxSevenZipCoders  = 32
	maxSevenZipStreams = 32
)

// errBad7z is the sticky error of a header that does not parse.
var errBad7z = fmt.Errorf("%w: malformed 7z header", ErrCorrupt)

// preflight7z validates the header of the 7z archive in ra; budget is how
// many more members the walk may examine.
func preflight7z(ra io.ReaderAt, size int64, budget int) error {
	_, err := check7z(ra, size, budget)
	return err
}

// check7z is preflight7z that also reports, per file in header order,
// whether the file's data is in an encrypted folder: opening such an entry
// would only cost its key derivation (up to 2^24 SHA-256 rounds, once per
// folder) to fail for want of a password.
func check7z(ra io.ReaderAt, size int64, budget int) (encrypted []bool, err error) {
	var sig [sevenZipSigLen]byte
	if _, err := ra.ReadAt(sig[:], 0); err != nil {
		return nil, err
	}
	if !hasPrefix(sig[:], magic7z) {
		return nil, fmt.Errorf("%w: no 7z signature", ErrCorrupt)
	}
	if crc32.ChecksumIEEE(sig[12:]) != binary.LittleEndian.Uint32(sig[8:]) {
		return nil, fmt.Errorf("%w: 7z start header checksum", ErrCorrupt)
	}
	off := binary.LittleEndian.Uint64(sig[12:])
	n := binary.LittleEndian.Uint64(sig[20:])
	avail := uint64(size - sevenZipSigLen)
	if n == 0 {
		return nil, nil // empty archive
	}
	if off > avail || n > avail-off {
		return nil, fmt.Errorf("%w: 7z header lies beyond the end of the file", ErrCorrupt)
	}
	budget = min(max(budget, 0), 1<<30)
	maxHeader := min(maxSevenZipHeader, uint64(budget)*1024+1<<20)
	if n > maxHeader {
		return nil, fmt.Errorf("%w: 7z header of %d bytes, more than %d entries could need", ErrTooManyEntries, n, budget)
	}
	hdr := make([]byte, n)
	if _, err := ra.ReadAt(hdr, int64(sevenZipSigLen+off)); err != nil {
		return nil, err
	}
	if crc32.ChecksumIEEE(hdr) != binary.LittleEndian.Uint32(sig[28:]) {
		return nil, fmt.Errorf("%w: 7z header checksum", ErrCorrupt)
	}
	p := &hdrParser{b: hdr, budget: uint64(budget)}
	switch p.byte() {
	case k7zHeader:
		err := p.header()
		return p.encrypted, err
	case k7zEncodedHeader:
		plain, err := p.decodeHeader(ra, maxHeader)
		if err != nil {
			return nil, err
		}
		q := &hdrParser{b: plain, budget: p.budget}
		if q.byte() != k7zHeader {
			return nil, fmt.Errorf("%w: 7z encoded header does not decode to a header", ErrCorrupt)
		}
		err = q.header()
		return q.encrypted, err
	}
	return nil, errBad7z
}

// hdrParser reads 7z header structures with a sticky error.
type hdrParser struct {
	b      []byte
	err    error
	budget uint64 // member budget: bounds files, folders and streams
	// encrypted is header's result: per file, whether its data is in a
	// folder with an AES coder (nil when none is).
	encrypted []bool
}

func (p *hdrParser) fail(err error) {
	if p.err == nil {
		p.err = err
	}
}

func (p *hdrParser) byte() byte {
	if p.err != nil || len(p.b) == 0 {
		p.fail(errBad7z)
		return 0xff
	}
	c := p.b[0]
	p.b = p.b[1:]
	return c
}

func (p *hdrParser) bytes(n uint64) []byte {
	if p.err != nil || n > uint64(len(p.b)) {
		p.fail(errBad7z)
		return nil
	}
	b := p.b[:n]
	p.b = p.b[n:]
	return b
}

// number reads 7z's variable-length UINT64: the count of leading one bits
// of the first byte is the count of little-endian bytes that follow.
func (p *hdrParser) number() uint64 {
	first := p.byte()
	var v uint64
	mask := byte(0x80)
	for i := range 8 {
		if first&mask == 0 {
			return v | uint64(first&(mask-1))<<(8*i)
		}
		v |= uint64(p.byte()) << (8 * i)
		mask >>= 1
	}
	return v
}

// count reads a number that sizes a table and refuses it above limit.
func (p *hdrParser) count(limit uint64, what string) int {
	v := p.number()
	if p.err != nil {
		return 0
	}
	if v > limit {
		p.fail(fmt.Errorf("%w: 7z header declares %d %s, limit %d", ErrTooManyEntries, v, what, limit))
		return 0
	}
	return int(v)
}

// tableLimit bounds a table by the member budget and by what the header's
// remaining bytes could describe.
func (p *hdrParser) tableLimit(perMember uint64) uint64 {
	return min(p.budget*perMember+16, uint64(len(p.b)))
}

func (p *hdrParser) expect(id byte) {
	if got := p.byte(); p.err == nil && got != id {
		p.fail(fmt.Errorf("%w: 7z header has property %#x where %#x belongs", ErrCorrupt, got, id))
	}
}

// bits reads a bit vector of n flags, optionally preceded by an
// "all defined" byte, and returns the flags.
func (p *hdrParser) bits(n int, allDefinedByte bool) []bool {
	out := make([]bool, n)
	if allDefinedByte && p.byte() != 0 {
		for i := range out {
			out[i] = true
		}
		return out
	}
	var cur byte
	for i := range out {
		if i%8 == 0 {
			cur = p.byte()
		}
		out[i] = cur&(0x80>>(i%8)) != 0
	}
	return out
}

// digests skips n optional CRCs and returns which are defined.
func (p *hdrParser) digests(n int) []bool {
	defined := p.bits(n, true)
	for _, d := range defined {
		if d {
			p.bytes(4)
		}
	}
	return defined
}

// header checks a plain header, which starts after its k7zHeader byte.
func (p *hdrParser) header() error {
	id := p.byte()
	if id == k7zArchiveProperties {
		for p.err == nil {
			if p.byte() == k7zEnd {
				break
			}
			p.bytes(p.number())
		}
		id = p.byte()
	}
	if id == k7zAdditionalStreamsInfo {
		p.streamsInfo()
		id = p.byte()
	}
	var main *sevenZipStreams
	if id == k7zMainStreamsInfo {
		main = p.streamsInfo()
		id = p.byte()
	}
	var files int
	var empty []byte // the emptyStream bit vector
	if id == k7zFilesInfo {
		files = p.count(min(p.budget, uint64(len(p.b))), "files")
		for p.err == nil {
			prop := p.byte()
			if prop == k7zEnd {
				break
			}
			data := p.bytes(p.number()) // every file property carries its size
			if prop == k7zEmptyStream {
				empty = data
			}
		}
		id = p.byte()
	}
	if p.err == nil && id != k7zEnd {
		p.fail(errBad7z)
	}
	if p.err == nil && main != nil {
		p.encrypted = encryptedFiles(main, files, empty)
	}
	return p.err
}

// encryptedFiles maps the files to the folders their data is in (files
// with data take the folders' streams in order) and reports which are in
// a folder with an AES coder; nil when no folder has one.
func encryptedFiles(s *sevenZipStreams, files int, empty []byte) []bool {
	aes := false
	for _, f := range s.folders {
		aes = aes || f.aes()
	}
	if !aes {
		return nil
	}
	out := make([]bool, files)
	fi, left := 0, uint64(0)
	if len(s.streams) > 0 {
		left = s.streams[0]
	}
	for i := range out {
		if i/8 < len(empty) && empty[i/8]&(0x80>>(i%8)) != 0 {
			continue
		}
		for fi < len(s.folders) && left == 0 {
			if fi++; fi < len(s.streams) {
				left = s.streams[fi]
			}
		}
		if fi >= len(s.folders) {
			break
		}
		out[i] = s.folders[fi].aes()
		left--
	}
	return out
}

// folder7z is what preflight needs to know about a folder.
type folder7z struct {
	coders   []coder7z
	outTotal int
}

// aes reports whether the folder is encrypted.
func (f folder7z) aes() bool {
	for _, c := range f.coders {
		if string(c.id) == coderAES {
			return true
		}
	}
	return false
}

type coder7z struct{ id, props []byte }

// sevenZipStreams is a parsed StreamsInfo.
type sevenZipStreams struct {
	packPos     uint64
	packSizes   []uint64
	folders     []folder7z
	unpackSizes [][]uint64
	// streams are the files' data streams in each folder (one each
	// without a SubStreamsInfo).
	streams []uint64
}

// streamsInfo parses a StreamsInfo and checks its coders.
func (p *hdrParser) streamsInfo() *sevenZipStreams {
	s := &sevenZipStreams{}
	id := p.byte()
	if id == k7zPackInfo {
		s.packPos = p.number()
		n := p.count(p.tableLimit(4), "pack streams")
		id = p.byte()
		if id == k7zSize {
			s.packSizes = make([]uint64, n)
			for i := range s.packSizes {
				s.packSizes[i] = p.number()
			}
			id = p.byte()
		}
		if id == k7zCRC {
			p.digests(n)
			id = p.byte()
		}
		if p.err == nil && id != k7zEnd {
			p.fail(errBad7z)
		}
		id = p.byte()
	}
	var folderCRC []bool
	if id == k7zUnpackInfo {
		p.expect(k7zFolder)
		n := p.count(p.tableLimit(1), "folders")
		if p.byte() != 0 && p.err == nil {
			p.fail(fmt.Errorf("%w: 7z folders stored outside the header", ErrUnsupported))
		}
		s.folders = make([]folder7z, 0, n)
		for range n {
			if p.err != nil {
				break
			}
			s.folders = append(s.folders, p.folder())
		}
		p.expect(k7zCodersUnpackSize)
		s.unpackSizes = make([][]uint64, len(s.folders))
		for i, f := range s.folders {
			s.unpackSizes[i] = make([]uint64, f.outTotal)
			for j := range s.unpackSizes[i] {
				s.unpackSizes[i][j] = p.number()
			}
		}
		id = p.byte()
		if id == k7zCRC {
			folderCRC = p.digests(len(s.folders))
			id = p.byte()
		}
		if p.err == nil && id != k7zEnd {
			p.fail(errBad7z)
		}
		id = p.byte()
	}
	s.streams = make([]uint64, len(s.folders))
	for i := range s.streams {
		s.streams[i] = 1
	}
	if id == k7zSubStreamsInfo {
		s.streams = p.subStreamsInfo(len(s.folders), folderCRC)
		id = p.byte()
	}
	if p.err == nil && id != k7zEnd {
		p.fail(errBad7z)
	}
	return s
}

func (p *hdrParser) folder() folder7z {
	var f folder7z
	n := p.count(maxSevenZipCoders, "coders in a folder")
	inTotal := 0
	for range n {
		flags := p.byte()
		if flags&0x80 != 0 && p.err == nil {
			p.fail(fmt.Errorf("%w: 7z alternative coder methods", ErrUnsupported))
		}
		c := coder7z{id: p.bytes(uint64(flags & 0x0f))}
		in, out := 1, 1
		if flags&0x10 != 0 {
			in = p.count(maxSevenZipStreams, "coder input streams")
			out = p.count(maxSevenZipStreams, "coder output streams")
		}
		if flags&0x20 != 0 {
			c.props = p.bytes(p.number())
		}
		inTotal += in
		f.outTotal += out
		if err := checkCoder(c); err != nil {
			p.fail(err)
		}
		f.coders = append(f.coders, c)
	}
	if p.err != nil {
		return f
	}
	if f.outTotal == 0 || inTotal < f.outTotal-1 {
		p.fail(errBad7z)
		return f
	}
	for range f.outTotal - 1 { // bind pairs
		p.number()
		p.number()
	}
	if packed := inTotal - (f.outTotal - 1); packed > 1 {
		for range packed {
			p.number()
		}
	}
	return f
}

// checkCoder refuses coders that would allocate more than maxXZDict, and
// marks encryption.
func checkCoder(c coder7z) error {
	switch {
	case string(c.id) == coderLZMA && len(c.props) >= 5:
		if d := binary.LittleEndian.Uint32(c.props[1:]); d > maxXZDict {
			return fmt.Errorf("%w: 7z LZMA dictionary of %d bytes, limit %d", ErrUnsupported, d, maxXZDict)
		}
	case string(c.id) == coderLZMA2 && len(c.props) >= 1:
		if d := xzDictSize(c.props[0]); d > maxXZDict {
			return fmt.Errorf("%w: 7z LZMA2 dictionary of %d bytes, limit %d", ErrUnsupported, d, maxXZDict)
		}
	case string(c.id) == coderPPMd && len(c.props) >= 5:
		if m := binary.LittleEndian.Uint32(c.props[1:]); m > maxXZDict {
			return fmt.Errorf("%w: 7z PPMd model of %d bytes, limit %d", ErrUnsupported, m, maxXZDict)
		}
	case string(c.id) == coderZstd:
		return fmt.Errorf("%w: 7z zstd coder (its window, up to 512 MiB, is declared inside the stream)", ErrUnsupported)
	}
	return nil
}

// subStreamsInfo reads a SubStreamsInfo, bounding the number of streams,
// and returns each folder's stream count.
func (p *hdrParser) subStreamsInfo(folders int, folderCRC []bool) []uint64 {
	per := make([]uint64, folders)
	for i := range per {
		per[i] = 1
	}
	id := p.byte()
	if id == k7zNumUnpackStream {
		var total uint64
		for i := range per {
			per[i] = uint64(p.count(p.tableLimit(1), "streams in a folder"))
			total += per[i]
			if p.err == nil && total > p.tableLimit(1) {
				p.fail(fmt.Errorf("%w: 7z header declares %d streams", ErrTooManyEntries, total))
			}
		}
		id = p.byte()
	}
	if id == k7zSize {
		for _, n := range per {
			for j := uint64(1); j < n && p.err == nil; j++ {
				p.number()
			}
		}
		id = p.byte()
	}
	unknownCRCs := 0
	for i, n := range per {
		if n != 1 || i >= len(folderCRC) || !folderCRC[i] {
			unknownCRCs += int(n)
		}
	}
	for p.err == nil && id != k7zEnd {
		if id == k7zCRC {
			p.digests(unknownCRCs)
		} else {
			p.bytes(p.number())
		}
		id = p.byte()
	}
	return per
}

// decodeHeader decodes an encoded header (after its k7zEncodedHeader
// byte): one folder, LZMA, LZMA2 or stored, at most maxHeader bytes.
func (p *hdrParser) decodeHeader(ra io.ReaderAt, maxHeader uint64) ([]byte, error) {
	s := p.streamsInfo()
	if p.err == nil && len(p.b) != 0 {
		p.fail(errBad7z)
	}
	if p.err != nil {
		return nil, p.err
	}
	for _, f := range s.folders {
		for _, c := range f.coders {
			if string(c.id) == coderAES {
				return nil, fmt.Errorf("%w: 7z file list is encrypted", ErrEncrypted)
			}
		}
	}
	if len(s.folders) != 1 || len(s.packSizes) != 1 || len(s.unpackSizes[0]) != 1 {
		return nil, fmt.Errorf("%w: 7z encoded header layout", ErrUnsupported)
	}
	f := s.folders[0]
	if len(f.coders) != 1 {
		return nil, fmt.Errorf("%w: 7z encoded header with %d coders", ErrUnsupported, len(f.coders))
	}
	unpacked, packed := s.unpackSizes[0][0], s.packSizes[0]
	if unpacked > maxHeader {
		return nil, fmt.Errorf("%w: 7z header of %d bytes, more than %d entries could need", ErrTooManyEntries, unpacked, p.budget)
	}
	if s.packPos > 1<<62 || packed > 1<<62 {
		return nil, errBad7z
	}
	src := io.NewSectionReader(ra, int64(sevenZipSigLen+s.packPos), int64(packed))
	var dec io.Reader
	var err error
	c := f.coders[0]
	switch {
	case string(c.id) == coderCopy:
		dec = src
	case string(c.id) == coderLZMA && len(c.props) == 5:
		// The classic .lzma header is the 5 property bytes and the size.
		h := binary.LittleEndian.AppendUint64(bytes.Clone(c.props), unpacked)
		dec, err = lzma.ReaderConfig{DictCap: maxXZDict}.NewReader(io.MultiReader(bytes.NewReader(h), src))
	case string(c.id) == coderLZMA2 && len(c.props) == 1:
		dec, err = lzma.Reader2Config{DictCap: int(max(xzDictSize(c.props[0]), lzma.MinDictCap))}.NewReader2(src)
	default:
		return nil, fmt.Errorf("%w: 7z header coder %x", ErrUnsupported, c.id)
	}
	if err != nil {
		return nil, corrupt("7z header", err)
	}
	out := make([]byte, unpacked)
	if _, err := io.ReadFull(&safeReader{r: dec, what: "7z header"}, out); err != nil {
		if errors.Is(err, ErrCorrupt) {
			return nil, err
		}
		return nil, corrupt("7z header", err)
	}
	return out, nil
}
