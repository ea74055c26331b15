package archivetest

import (
	"encoding/binary"
	"hash/crc32"
	"strings"
	"unicode/utf16"
)

// 7z property IDs used by SevenZipStored, from 7-Zip's 7zFormat.txt.
const (
	sz7End             = 0x00
	sz7Header          = 0x01
	sz7MainStreamsInfo = 0x04
	sz7FilesInfo       = 0x05
	sz7PackInfo        = 0x06
	sz7UnpackInfo      = 0x07
	sz7SubStreamsInfo  = 0x08
	sz7Size            = 0x09
	sz7CRC             = 0x0a
	sz7Folder          = 0x0b
	sz7CodersUnpack    = 0x0c
	sz7NumUnpackStream = 0x0d
	sz7EmptyStream     = 0x0e
	sz7EmptyFile       = 0x0f
	sz7Name            = 0x11
	sz7Attributes      = 0x15
)

// num7z appends v as a 7z NUMBER: the count of leading one bits in the
// first byte says how many little-endian bytes follow.
func num7z(b []byte, v uint64) []byte {
	for n := 0; n < 8; n++ {
		if v < 1<<(7*(n+1)) {
			b = append(b, byte(0xff<<(8-n))|byte(v>>(8*n)))
			for i := 0; i < n; i++ {
				b = append(b, byte(v>>(8*i)))
			}
			return b
		}
	}
	b = append(b, 0xff)
	return binary.LittleEndian.AppendUint64(b, v)
}

// bits7z packs booleans most significant bit first.
func bits7z(v []bool) []byte {
	out := make([]byte, (len(v)+7)/8)
	for i, set := range v {
		if set {
			out[i/8] |= 0x80 >> (i % 8)
		}
	}
	return out
}

// SevenZipStored builds a 7z archive whose files are stored uncompressed
// (the Copy coder) in one folder, from 7-Zip's 7zFormat.txt: enough for a
// fixture site to serve generated content as 7z, which Go cannot write.
// A name ending in "/" makes a directory; a directory with a Body keeps
// it as its data, which no archiver writes and a hostile one can.
func SevenZipStored(files ...File) []byte {
	var packed []byte
	var sizes []uint64
	var crcs []uint32
	empty := make([]bool, len(files))
	emptyFile := []bool{}
	anyEmpty := false
	for i, f := range files {
		dir := strings.HasSuffix(f.Name, "/")
		if len(f.Body) == 0 {
			empty[i], anyEmpty = true, true
			emptyFile = append(emptyFile, !dir)
			continue
		}
		packed = append(packed, f.Body...)
		sizes = append(sizes, uint64(len(f.Body)))
		crcs = append(crcs, crc32.ChecksumIEEE(f.Body))
	}

	h := []byte{sz7Header}
	if len(sizes) > 0 {
		h = append(h, sz7MainStreamsInfo, sz7PackInfo)
		h = num7z(h, 0) // pack position
		h = num7z(h, 1) // one pack stream
		h = append(h, sz7Size)
		h = num7z(h, uint64(len(packed)))
		h = append(h, sz7End)

		h = append(h, sz7UnpackInfo, sz7Folder)
		h = num7z(h, 1)           // one folder
		h = append(h, 0)          // not external
		h = num7z(h, 1)           // one coder
		h = append(h, 0x01, 0x00) // id size 1, simple, no properties; Copy
		h = append(h, sz7CodersUnpack)
		h = num7z(h, uint64(len(packed)))
		h = append(h, sz7End)

		h = append(h, sz7SubStreamsInfo, sz7NumUnpackStream)
		h = num7z(h, uint64(len(sizes)))
		if len(sizes) > 1 {
			h = append(h, sz7Size)
			for _, s := range sizes[:len(sizes)-1] {
				h = num7z(h, s)
			}
		}
		h = append(h, sz7CRC, 1) // all defined
		for _, c := range crcs {
			h = binary.LittleEndian.AppendUint32(h, c)
		}
		h = append(h, sz7End, sz7End)
	}

	h = append(h, sz7FilesInfo)
	h = num7z(h, uint64(len(files)))
	prop := func(id byte, data []byte) {
		h = append(h, id)
		h = num7z(h, uint64(len(data)))
		h = append(h, data...)
	}
	if anyEmpty {
		prop(sz7EmptyStream, bits7z(empty))
		prop(sz7EmptyFile, bits7z(emptyFile))
	}
	names := []byte{0} // not external
	for _, f := range files {
		for _, u := range utf16.Encode([]rune(strings.TrimSuffix(f.Name, "/"))) {
			names = binary.LittleEndian.AppendUint16(names, u)
		}
		names = append(names, 0, 0)
	}
	prop(sz7Name, names)
	attrs := []byte{1, 0} // all defined, not external
	for _, f := range files {
		a := uint32(0x20) // FILE_ATTRIBUTE_ARCHIVE
		if strings.HasSuffix(f.Name, "/") {
			a = 0x10 // FILE_ATTRIBUTE_DIRECTORY
		}
		attrs = binary.LittleEndian.AppendUint32(attrs, a)
	}
	prop(sz7Attributes, attrs)
	h = append(h, sz7End, sz7End)

	start := make([]byte, 20)
	binary.LittleEndian.PutUint64(start[0:], uint64(len(packed)))
	binary.LittleEndian.PutUint64(start[8:], uint64(len(h)))
	binary.LittleEndian.PutUint32(start[16:], crc32.ChecksumIEEE(h))
	out := []byte("7z\xbc\xaf\x27\x1c\x00\x04")
	out = binary.LittleEndian.AppendUint32(out, crc32.ChecksumIEEE(start))
	out = append(out, start...)
	out = append(out, packed...)
	return append(out, h...)
}

// Split cuts b into n volumes of nearly equal size, as 7-Zip's -v or
// split(1) do for name.7z.001, name.7z.002, ...
func Split(b []byte, n int) [][]byte {
	var out [][]byte
	size := (len(b) + n - 1) / n
	for len(b) > 0 {
		k := min(size, len(b))
		out = append(out, b[:k])
		b = b[k:]
	}
	return out
}
