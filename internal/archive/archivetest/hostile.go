package archivetest

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"

	"github.com/ulikunitz/xz"
)

// Fixture is a hostile archive with a file name to serve it under.
type Fixture struct {
	Name string // suggested file name, e.g. "overlap.zip"
	Data []byte
	What string // one line: what it attacks
}

// Hostile returns every hostile fixture, built with sizes that stay small
// on disk (under 1 MiB each) but expand far beyond any sane limit.
func Hostile() []Fixture {
	return []Fixture{
		{"nested-bomb.zip", NestedZipBomb(3, 8), "42.zip-style nesting: 8^3 zips of 1 MiB of zeros each"},
		{"overlap-bomb.zip", OverlapZipBomb(), "Fifield overlapping entries: 100 entries share one 1 MiB kernel"},
		{"corrupt-directory.zip", CorruptCentralDirectory(), "central directory record with a broken signature"},
		{"zip-slip.zip", ZipSlip(), "entry names that climb out, are absolute, or hold terminal escapes"},
		{"pixel-bomb.tar.gz", PNGBombTarGz(), "PNG declaring 100000x100000 pixels, 10^10 pixels in a few KB"},
		{"truncated.tar.gz", TruncatedTarGz(), "tar.gz cut off in the middle of an entry"},
		{"dict-bomb.tar.xz", XZDictBomb(), "xz header asking for a 4 GiB LZMA2 dictionary"},
		{"zeros.gz", GzipBomb(256 << 20), "256 MiB of zeros gzipped to about 256 KB"},
		{"file-count-bomb.7z", SevenZipFileCountBomb(), "41-byte 7z declaring 4 billion files"},
		{"encrypted.7z", SevenZipEncrypted(), "7z with encrypted entries"},
		{"encrypted-headers.7z", SevenZipEncryptedHeaders(), "7z whose file list is encrypted"},
		{"dict-bomb.rar", RAR5DictBomb(), "RAR 5 entry asking for a 4 GiB dictionary"},
		{"encrypted.rar", RAR5(File{Name: "secret.jpg", Body: []byte("\xff\xd8\xff"), Encrypted: true}), "RAR 5 with an encrypted entry"},
	}
}

// leafSize is the size of each file of zeros at the bottom of a bomb.
const leafSize = 1 << 20

// NestedZipBomb builds a 42.zip-style bomb: depth levels of zips, each
// holding fanout copies of the level below, with fanout files of 1 MiB of
// zeros at the bottom: fanout^depth MiB in all. depth 1 is a plain zip of
// zero files.
func NestedZipBomb(depth, fanout int) []byte {
	if depth < 1 || fanout < 1 {
		panic("archivetest: NestedZipBomb needs depth and fanout >= 1")
	}
	// Deflate the leaf once and copy the raw stream into every entry.
	leaf := deflate(make([]byte, leafSize))
	leafCRC := crc32.ChecksumIEEE(make([]byte, leafSize))
	var level []byte
	for d := 1; d <= depth; d++ {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for i := range fanout {
			if d == 1 {
				w, err := zw.CreateRaw(&zip.FileHeader{
					Name: fmt.Sprintf("zeros-%d.bin", i), Method: zip.Deflate, Modified: modTime(),
					CRC32: leafCRC, CompressedSize64: uint64(len(leaf)), UncompressedSize64: leafSize,
				})
				must(err)
				_, err = w.Write(leaf)
				must(err)
				continue
			}
			w, err := zw.CreateHeader(&zip.FileHeader{
				Name: fmt.Sprintf("level%d-%d.zip", d-1, i), Method: zip.Store, Modified: modTime(),
			})
			must(err)
			_, err = w.Write(level)
			must(err)
		}
		must(zw.Close())
		level = buf.Bytes()
	}
	return level
}

// overlapFiles and overlapKernel size OverlapZipBomb.
const (
	overlapFiles  = 100
	overlapKernel = 1 << 20
)

// OverlapZipBomb builds David Fifield's "better zip bomb" (USENIX WOOT
// 2019): entries whose data overlap. Every entry's deflate stream begins
// with a stored block that quotes the next entry's local header and then
// runs on into that entry's data, so all 100 entries end in the same
// 1 MiB kernel. Entry i decompresses to the local headers of the entries
// after it followed by 1 MiB of zeros, each with a valid CRC: a
// conforming reader that does not check for overlap will decompress
// ~100 MiB from ~15 KB, and the construction scales quadratically.
func OverlapZipBomb() []byte {
	const nameLen = 8
	name := func(i int) string { return fmt.Sprintf("f%07d", i) }
	const lhLen = 30 + nameLen
	const quoteLen = 5
	kernel := deflate(make([]byte, overlapKernel))

	type entry struct {
		off          int64
		crc          uint32
		csize, usize uint32
		localHeader  []byte
		dataStart    int64
	}
	e := make([]entry, overlapFiles)
	for i := range e {
		e[i].off = int64(i) * (lhLen + quoteLen)
		e[i].dataStart = e[i].off + lhLen
	}
	kernelAt := e[overlapFiles-1].dataStart
	end := kernelAt + int64(len(kernel))
	zeros := make([]byte, overlapKernel)
	// Back to front: entry i's content is LH[i+1] ... LH[n-1] + zeros, so
	// its header depends on every header after it.
	for i := overlapFiles - 1; i >= 0; i-- {
		h := crc32.NewIEEE()
		usize := overlapKernel
		for j := i + 1; j < overlapFiles; j++ {
			h.Write(e[j].localHeader)
			usize += lhLen
		}
		h.Write(zeros)
		e[i].crc = h.Sum32()
		e[i].usize = uint32(usize)
		e[i].csize = uint32(end - e[i].dataStart)
		e[i].localHeader = overlapHeader(false, name(i), e[i].crc, e[i].csize, e[i].usize, 0)
	}
	var buf bytes.Buffer
	for i := range e {
		buf.Write(e[i].localHeader)
		if i < overlapFiles-1 {
			// Non-final stored block quoting the next local header.
			var q [quoteLen]byte
			binary.LittleEndian.PutUint16(q[1:], lhLen)
			binary.LittleEndian.PutUint16(q[3:], ^uint16(lhLen))
			buf.Write(q[:])
		}
	}
	buf.Write(kernel)
	dirAt := buf.Len()
	for i := range e {
		buf.Write(overlapHeader(true, name(i), e[i].crc, e[i].csize, e[i].usize, uint32(e[i].off)))
	}
	dirLen := buf.Len() - dirAt
	var eocd [22]byte
	binary.LittleEndian.PutUint32(eocd[0:], 0x06054b50)
	binary.LittleEndian.PutUint16(eocd[8:], overlapFiles)
	binary.LittleEndian.PutUint16(eocd[10:], overlapFiles)
	binary.LittleEndian.PutUint32(eocd[12:], uint32(dirLen))
	binary.LittleEndian.PutUint32(eocd[16:], uint32(dirAt))
	buf.Write(eocd[:])
	return buf.Bytes()
}

// overlapHeader writes a local (central=false) or central directory header
// for a deflated entry, per APPNOTE.TXT.
func overlapHeader(central bool, name string, crc, csize, usize, off uint32) []byte {
	const dosDate = (2024-1980)<<9 | 1<<5 | 1
	le := binary.LittleEndian
	var b []byte
	if central {
		b = le.AppendUint32(b, 0x02014b50)
		b = le.AppendUint16(b, 20) // version made by
	} else {
		b = le.AppendUint32(b, 0x04034b50)
	}
	b = le.AppendUint16(b, 20) // version needed
	b = le.AppendUint16(b, 0)  // flags
	b = le.AppendUint16(b, zip.Deflate)
	b = le.AppendUint16(b, 0) // time
	b = le.AppendUint16(b, dosDate)
	b = le.AppendUint32(b, crc)
	b = le.AppendUint32(b, csize)
	b = le.AppendUint32(b, usize)
	b = le.AppendUint16(b, uint16(len(name)))
	b = le.AppendUint16(b, 0) // extra length
	if central {
		b = le.AppendUint16(b, 0) // comment length
		b = le.AppendUint16(b, 0) // disk number
		b = le.AppendUint16(b, 0) // internal attributes
		b = le.AppendUint32(b, 0) // external attributes
		b = le.AppendUint32(b, off)
	}
	return append(b, name...)
}

// CorruptCentralDirectory is a zip of three small files whose first central
// directory record has a broken signature: the local headers are intact,
// but a reader that trusts the directory must refuse it.
func CorruptCentralDirectory() []byte {
	z := Zip(
		File{Name: "one.txt", Body: []byte("one\n")},
		File{Name: "two.txt", Body: []byte("two\n")},
		File{Name: "three.txt", Body: []byte("three\n")},
	)
	dir := bytes.Index(z, []byte("PK\x01\x02")) // first record
	if dir < 0 {
		panic("archivetest: no central directory")
	}
	out := bytes.Clone(z)
	copy(out[dir:], "PK\x09\x09")
	return out
}

// ZipSlipNames are the entry names of ZipSlip, in order.
func ZipSlipNames() []string {
	return []string{
		"../../etc/passwd",
		"/etc/cron.d/leakwatch",
		`..\..\Windows\System32\evil.dll`,
		"C:/Users/Public/evil.txt",
		"ok/photo.txt",
		"term\x1b]0;pwned\x07\u202etxt.exe",
	}
}

// ZipSlip is a zip whose entries are named ZipSlipNames: path traversal,
// absolute paths, a drive letter, and a name holding a terminal escape and
// a right-to-left override. Every body is "slip <i>\n".
func ZipSlip() []byte {
	var files []File
	for i, n := range ZipSlipNames() {
		files = append(files, File{Name: n, Body: fmt.Appendf(nil, "slip %d\n", i)})
	}
	return Zip(files...)
}

// HugePNGHeader returns a PNG that declares w x h RGB pixels but holds only
// a few hundred bytes: a valid signature and IHDR (so image.DecodeConfig
// reports w x h), a short complete IDAT stream and IEND. A decoder that
// allocates from the header before reading pixels is the target.
func HugePNGHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 2, 0, 0, 0) // 8-bit RGB, deflate, no interlace
	pngChunk(&b, "IHDR", ihdr)
	var z bytes.Buffer
	z.Write([]byte{0x78, 0x9c}) // zlib header, default compression
	raw := make([]byte, 4096)
	z.Write(deflate(raw))
	z.Write(binary.BigEndian.AppendUint32(nil, adler32Zeros(len(raw))))
	pngChunk(&b, "IDAT", z.Bytes())
	pngChunk(&b, "IEND", nil)
	return b.Bytes()
}

func pngChunk(b *bytes.Buffer, typ string, data []byte) {
	b.Write(binary.BigEndian.AppendUint32(nil, uint32(len(data))))
	b.WriteString(typ)
	b.Write(data)
	crc := crc32.NewIEEE()
	crc.Write([]byte(typ))
	crc.Write(data)
	b.Write(binary.BigEndian.AppendUint32(nil, crc.Sum32()))
}

// adler32Zeros is the Adler-32 of n zero bytes: a = 1, b = n.
func adler32Zeros(n int) uint32 { return uint32(n%65521)<<16 | 1 }

// PNGBombTarGz is a tar.gz holding "leak/huge.png", a 100000 x 100000
// pixel HugePNGHeader.
func PNGBombTarGz() []byte {
	return TarGz(File{Name: "leak/huge.png", Body: HugePNGHeader(100000, 100000)})
}

// TruncatedTarGz is a tar.gz of "first.txt" ("first\n"), "second.bin"
// (64 KiB of random bytes) and "third.txt", cut off in the middle of
// second.bin's data.
func TruncatedTarGz() []byte {
	noise := make([]byte, 64<<10)
	rng := rand.NewChaCha8([32]byte{1})
	_, _ = rng.Read(noise)
	full := TarGz(
		File{Name: "first.txt", Body: []byte("first\n")},
		File{Name: "second.bin", Body: noise},
		File{Name: "third.txt", Body: []byte("third\n")},
	)
	return full[:len(full)/2]
}

// XZDictBomb is a tar.xz of one small file whose block header asks for a
// 4 GiB LZMA2 dictionary, which decoders allocate before decoding a byte.
func XZDictBomb() []byte {
	x := Xz(Tar(File{Name: "small.txt", Body: []byte("small\n")}))
	hugeXZDict(x, 12) // the first block follows the stream header
	return x
}

// hugeXZDict makes the block whose header starts at at ask for a 4 GiB
// LZMA2 dictionary, its header's CRC32 recomputed.
func hugeXZDict(x []byte, at int) {
	hdrLen := (int(x[at]) + 1) * 4
	hdr := x[at : at+hdrLen]
	i := bytes.Index(hdr, []byte{0x21, 0x01}) // LZMA2 filter id, 1 property byte
	if i < 0 {
		panic("archivetest: no LZMA2 filter in xz block header")
	}
	hdr[i+2] = 40 // 4 GiB - 1
	binary.LittleEndian.PutUint32(hdr[hdrLen-4:], crc32.ChecksumIEEE(hdr[:hdrLen-4]))
}

// XZLaterBlockDictBomb is a tar.xz of several blocks, each with its own
// LZMA2 dictionary, whose last block asks for a 4 GiB dictionary: a check
// of the first block header alone lets it through to the decoder, which
// allocates the dictionary when it reaches that block.
func XZLaterBlockDictBomb() []byte {
	rng := rand.New(rand.NewPCG(7, 7))
	body := make([]byte, 24<<10)
	for i := range body {
		body[i] = byte('a' + rng.IntN(4)) // compressible, but not to nothing
	}
	var buf bytes.Buffer
	zw, err := xz.WriterConfig{BlockSize: 8 << 10}.NewWriter(&buf)
	must(err)
	_, err = zw.Write(Tar(File{Name: "first.txt", Body: body}, File{Name: "second.txt", Body: body}))
	must(err)
	must(zw.Close())
	x := buf.Bytes()
	starts := xzBlockStarts(x)
	if len(starts) < 3 {
		panic(fmt.Sprintf("archivetest: %d xz blocks, want 3 or more", len(starts)))
	}
	hugeXZDict(x, starts[len(starts)-1])
	return x
}

// xzBlockStarts reads a single-stream xz file's index (from its footer)
// and returns where each block begins.
func xzBlockStarts(x []byte) []int {
	footer := x[len(x)-12:]
	index := x[len(x)-12-(int(binary.LittleEndian.Uint32(footer[4:8]))+1)*4:]
	if index[0] != 0 {
		panic("archivetest: no xz index indicator")
	}
	r := bytes.NewReader(index[1:])
	n, err := binary.ReadUvarint(r)
	must(err)
	starts := make([]int, 0, n)
	at := 12 // the stream header
	for range n {
		unpadded, err := binary.ReadUvarint(r)
		must(err)
		_, err = binary.ReadUvarint(r) // uncompressed size
		must(err)
		starts = append(starts, at)
		at += (int(unpadded) + 3) &^ 3
	}
	return starts
}

// SevenZipFileCountBomb is a 41-byte 7z whose plain header declares
// 2^32-1 files and nothing else. A reader that sizes its file table from
// the declared count asks for hundreds of gigabytes.
func SevenZipFileCountBomb() []byte {
	// kHeader, kFilesInfo, NumFiles = 0xF0 + 4 little-endian bytes, kEnd, kEnd.
	hdr := []byte{0x01, 0x05, 0xf0, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00}
	return SevenZipRawHeader(hdr)
}

// SevenZipRawHeader wraps hdr, raw 7z header bytes starting with kHeader
// (0x01) or kEncodedHeader (0x17), in a signature header with valid
// checksums and no packed streams: the way to build a hostile 7z header
// byte by byte.
func SevenZipRawHeader(hdr []byte) []byte {
	start := binary.LittleEndian.AppendUint64(nil, 0) // next header offset
	start = binary.LittleEndian.AppendUint64(start, uint64(len(hdr)))
	start = binary.LittleEndian.AppendUint32(start, crc32.ChecksumIEEE(hdr))
	b := []byte{'7', 'z', 0xbc, 0xaf, 0x27, 0x1c, 0, 4}
	b = binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(start))
	b = append(b, start...)
	return append(b, hdr...)
}

// zeroChunk is the deflate encoding of 1 MiB of zeros ending in a sync
// flush: byte-aligned, not final, and free of references before its own
// start, so copies of it can be concatenated into one valid stream.
func zeroChunk() []byte {
	var b bytes.Buffer
	fw, err := flate.NewWriter(&b, flate.BestCompression)
	must(err)
	_, err = fw.Write(make([]byte, leafSize))
	must(err)
	must(fw.Flush())
	return b.Bytes()
}

// gzipHeader is a minimal gzip member header (no name, no mtime).
const gzipHeader = "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"

// GzipBomb is a gzip of n bytes of zeros (rounded up to whole MiB), built
// without compressing them: about 1 KB per MiB.
func GzipBomb(n int64) []byte {
	chunk := zeroChunk()
	mib := (n + leafSize - 1) / leafSize
	var b bytes.Buffer
	b.WriteString(gzipHeader)
	crc := crc32.NewIEEE()
	zeros := make([]byte, leafSize)
	for range mib {
		b.Write(chunk)
		crc.Write(zeros)
	}
	b.Write([]byte{0x01, 0x00, 0x00, 0xff, 0xff}) // final empty stored block
	b.Write(binary.LittleEndian.AppendUint32(nil, crc.Sum32()))
	b.Write(binary.LittleEndian.AppendUint32(nil, uint32(mib*leafSize)))
	return b.Bytes()
}

// EndlessGzip returns a reader of a gzip stream that never ends: zeros,
// forever, at the speed of memcpy. It holds no goroutine.
func EndlessGzip() io.Reader {
	return &endless{head: []byte(gzipHeader), chunk: zeroChunk()}
}

type endless struct {
	head, chunk []byte
	off         int
}

func (e *endless) Read(p []byte) (int, error) {
	if len(e.head) > 0 {
		n := copy(p, e.head)
		e.head = e.head[n:]
		return n, nil
	}
	n := 0
	for n < len(p) {
		c := copy(p[n:], e.chunk[e.off:])
		n += c
		e.off = (e.off + c) % len(e.chunk)
	}
	return n, nil
}

// deflate compresses b as one raw deflate stream.
func deflate(b []byte) []byte {
	var out bytes.Buffer
	fw, err := flate.NewWriter(&out, flate.BestCompression)
	must(err)
	_, err = fw.Write(b)
	must(err)
	must(fw.Close())
	return out.Bytes()
}
