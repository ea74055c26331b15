package archivetest

import (
	"encoding/binary"
	"hash/crc32"
	"strings"
)

// No tool here writes RAR files (the format's compressor is proprietary),
// so the builders below write stored (uncompressed) entries by hand from
// RARLAB's published descriptions: "RAR 5.0 archive format" for RAR5 and
// "RAR version 4.00 technical information" for RAR4. Stored entries are
// all a reader test needs: the walker's limits, nesting and volume logic
// do not depend on the compression method.

const (
	rar5Signature = "Rar!\x1a\x07\x01\x00"
	rar4Signature = "Rar!\x1a\x07\x00"
)

// RAR5 header types and flags.
const (
	rar5Main = 1
	rar5File = 2
	rar5End  = 5

	rar5HasExtra    = 0x0001
	rar5HasData     = 0x0002
	rar5DataNotFrst = 0x0008
	rar5DataNotLast = 0x0010

	rar5ArcVolume = 0x0001
	rar5ArcVolNum = 0x0002

	rar5FileDir = 0x0001
	rar5FileCRC = 0x0004

	rar5EndNotLast = 0x0001

	rar5ExtraCrypt    = 1
	rar5ExtraRedirect = 5
)

// vint appends v as a RAR5 variable-length integer: 7 bits per byte,
// least significant first, the high bit set on every byte but the last.
func vint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// rar5Block frames one RAR5 header: CRC32 of everything from the size
// field on, the size of the rest, the rest; then the data area.
func rar5Block(body, data []byte) []byte {
	sized := vint(nil, uint64(len(body)))
	sized = append(sized, body...)
	out := binary.LittleEndian.AppendUint32(nil, crc32.ChecksumIEEE(sized))
	out = append(out, sized...)
	return append(out, data...)
}

// rar5Header builds the common header fields of a block: type, flags,
// extra area size and data size when present, then fields, then extra.
func rar5Header(typ, flags uint64, fields, extra []byte, dataSize int) []byte {
	if len(extra) > 0 {
		flags |= rar5HasExtra
	}
	if dataSize > 0 {
		flags |= rar5HasData
	}
	b := vint(nil, typ)
	b = vint(b, flags)
	if len(extra) > 0 {
		b = vint(b, uint64(len(extra)))
	}
	if dataSize > 0 {
		b = vint(b, uint64(dataSize))
	}
	b = append(b, fields...)
	return append(b, extra...)
}

// rar5Record frames one record of an extra area: its size, then its type
// and data.
func rar5Record(typ uint64, data []byte) []byte {
	rec := vint(nil, typ)
	rec = append(rec, data...)
	return append(vint(nil, uint64(len(rec))), rec...)
}

// rar5FileBlock builds the file header (and data) of one part of f: data
// is this part's bytes, first and last say whether parts come before or
// after it in other volumes.
func rar5FileBlock(f File, data []byte, first, last bool) []byte {
	var flags uint64
	if !first {
		flags |= rar5DataNotFrst
	}
	if !last {
		flags |= rar5DataNotLast
	}
	dir := strings.HasSuffix(f.Name, "/")
	fileFlags := uint64(rar5FileCRC)
	attr := uint64(0o100644)
	if dir {
		fileFlags, attr = rar5FileDir, 0o40755
	}
	var extra []byte
	if f.Link != "" {
		attr = 0o120777
		r := vint(nil, 1) // Unix symlink
		r = vint(r, 0)
		r = vint(r, uint64(len(f.Link)))
		extra = append(extra, rar5Record(rar5ExtraRedirect, append(r, f.Link...))...)
	}
	if f.Encrypted {
		// Version 0 (AES-256), no flags, KDF count, 16 bytes of salt and
		// 16 of IV. The data is left plain: a reader without a password
		// must refuse it unread.
		r := vint(nil, 0)
		r = vint(r, 0)
		r = append(r, 15)
		r = append(r, make([]byte, 32)...)
		extra = append(extra, rar5Record(rar5ExtraCrypt, r)...)
	}
	// The last part carries the CRC32 of the whole file, the others that
	// of their own part.
	sum := crc32.ChecksumIEEE(data)
	if last {
		sum = crc32.ChecksumIEEE(f.Body)
	}
	fields := vint(nil, fileFlags)
	fields = vint(fields, uint64(len(f.Body)))
	fields = vint(fields, attr)
	if !dir {
		fields = binary.LittleEndian.AppendUint32(fields, sum)
	}
	fields = vint(fields, 0) // compression: version 0, method 0 (store)
	fields = vint(fields, 1) // host OS: Unix
	fields = vint(fields, uint64(len(f.Name)))
	fields = append(fields, f.Name...)
	return rar5Block(rar5Header(rar5File, flags, fields, extra, len(data)), data)
}

// RAR5DictBomb is a RAR 5 archive of one entry that declares 1 TiB of
// content compressed with a 4 GiB dictionary, which a decoder would
// allocate before reading a byte of it.
func RAR5DictBomb() []byte {
	fields := vint(nil, rar5FileCRC)
	fields = vint(fields, 1<<40)
	fields = vint(fields, 0o100644)
	fields = binary.LittleEndian.AppendUint32(fields, 0)
	fields = vint(fields, 3<<7|15<<10) // method 3, dictionary 128 KiB << 15
	fields = vint(fields, 1)
	fields = vint(fields, uint64(len("huge.jpg")))
	fields = append(fields, "huge.jpg"...)
	out := []byte(rar5Signature)
	out = append(out, rar5Block(rar5Header(rar5Main, 0, vint(nil, 0), nil, 0), nil)...)
	out = append(out, rar5Block(rar5Header(rar5File, 0, fields, nil, 64), make([]byte, 64))...)
	return append(out, rar5Block(rar5Header(rar5End, 0, vint(nil, 0), nil, 0), nil)...)
}

// RAR5 builds a RAR 5 archive holding files stored uncompressed. A name
// ending in "/" makes a directory, Link a symbolic link, Encrypted an
// entry marked as AES-encrypted (its data left plain).
func RAR5(files ...File) []byte {
	return RAR5Volumes(0, files...)[0]
}

// RAR5Volumes builds a multi-volume RAR 5 archive whose volumes hold at
// most volData bytes of file data each (0: one volume). Files larger than
// the room left are split across volumes, as rar -v does.
func RAR5Volumes(volData int, files ...File) [][]byte {
	header := func(n int) []byte {
		fields := vint(nil, 0)
		if volData > 0 {
			flags := uint64(rar5ArcVolume)
			if n > 0 {
				flags |= rar5ArcVolNum
			}
			fields = vint(nil, flags)
			if n > 0 {
				fields = vint(fields, uint64(n))
			}
		}
		return append([]byte(rar5Signature), rar5Block(rar5Header(rar5Main, 0, fields, nil, 0), nil)...)
	}
	end := func(notLast bool) []byte {
		var flags uint64
		if notLast {
			flags = rar5EndNotLast
		}
		return rar5Block(rar5Header(rar5End, 0, vint(nil, flags), nil, 0), nil)
	}
	return volumes(volData, files, header, end, rar5FileBlock)
}

// volumes lays files out in volumes holding at most volData bytes of file
// data each (0: one volume), splitting a file where the room runs out:
// header(n) starts volume n, end(notLast) ends one, and block writes one
// part of a file (first and last say whether parts precede or follow it).
func volumes(volData int, files []File, header func(n int) []byte, end func(notLast bool) []byte, block func(f File, part []byte, first, last bool) []byte) [][]byte {
	var vols [][]byte
	cur, room := header(0), volData
	for _, f := range files {
		body := f.Body
		if f.Link != "" || strings.HasSuffix(f.Name, "/") {
			body = nil
		}
		for first := true; ; first = false {
			part := body
			if volData > 0 && len(body) > room {
				part = body[:max(room, 1)]
			}
			last := len(part) == len(body)
			cur = append(cur, block(f, part, first, last)...)
			room -= len(part)
			body = body[len(part):]
			if last {
				break
			}
			vols = append(vols, append(cur, end(true)...))
			cur, room = header(len(vols)), volData
		}
	}
	return append(vols, append(cur, end(false)...))
}

// RAR4 header types and flags.
const (
	rar4Main = 0x73
	rar4File = 0x74
	rar4End  = 0x7b

	rar4HasData     = 0x8000
	rar4ArcVolume   = 0x0001
	rar4ArcNewNames = 0x0010
	rar4ArcFirstVol = 0x0100
	rar4SplitBefore = 0x0001
	rar4SplitAfter  = 0x0002
	rar4Encrypted   = 0x0004
	rar4Directory   = 0x00e0
	rar4EndNotLast  = 0x0001
)

// rar4Block frames one RAR4 block: the low 16 bits of the CRC32 of the
// header from its type on, type, flags, header size, the fields; then data.
func rar4Block(typ byte, flags uint16, fields, data []byte) []byte {
	h := []byte{typ}
	h = binary.LittleEndian.AppendUint16(h, flags)
	h = binary.LittleEndian.AppendUint16(h, uint16(2+len(h)+2+len(fields)))
	h = append(h, fields...)
	out := binary.LittleEndian.AppendUint16(nil, uint16(crc32.ChecksumIEEE(h)))
	out = append(out, h...)
	return append(out, data...)
}

// RAR4 builds a RAR 4 (format 2.9) archive holding files stored
// uncompressed; Encrypted marks an entry as encrypted (data left plain).
func RAR4(files ...File) []byte {
	return RAR4Volumes(0, files...)[0]
}

// RAR4Volumes builds a multi-volume RAR 4 archive (new volume naming,
// name.partN.rar) whose volumes hold at most volData bytes of file data
// each (0: one volume).
func RAR4Volumes(volData int, files ...File) [][]byte {
	header := func(n int) []byte {
		var flags uint16
		if volData > 0 {
			flags = rar4ArcVolume | rar4ArcNewNames
			if n == 0 {
				flags |= rar4ArcFirstVol
			}
		}
		return append([]byte(rar4Signature), rar4Block(rar4Main, flags, make([]byte, 6), nil)...)
	}
	end := func(notLast bool) []byte {
		var flags uint16
		if notLast {
			flags = rar4EndNotLast
		}
		return rar4Block(rar4End, flags, nil, nil)
	}
	return volumes(volData, files, header, end, rar4FileBlock)
}

// rar4FileBlock builds the file header (and data) of one part of f.
func rar4FileBlock(f File, part []byte, first, last bool) []byte {
	dir := strings.HasSuffix(f.Name, "/")
	flags := uint16(rar4HasData)
	if !first {
		flags |= rar4SplitBefore
	}
	if !last {
		flags |= rar4SplitAfter
	}
	if f.Encrypted {
		flags |= rar4Encrypted
	}
	attr, total := uint32(0o100644), len(f.Body)
	if dir {
		flags |= rar4Directory
		attr, total = 0o40755, 0
	}
	sum := crc32.ChecksumIEEE(part)
	if last && !dir {
		sum = crc32.ChecksumIEEE(f.Body)
	}
	name := strings.TrimSuffix(f.Name, "/")
	fields := binary.LittleEndian.AppendUint32(nil, uint32(len(part)))
	fields = binary.LittleEndian.AppendUint32(fields, uint32(total))
	fields = append(fields, 3) // host OS: Unix
	fields = binary.LittleEndian.AppendUint32(fields, sum)
	fields = binary.LittleEndian.AppendUint32(fields, 0x58210000) // 2024-01-01 in DOS time
	fields = append(fields, 29, 0x30)                             // version 2.9, method store
	fields = binary.LittleEndian.AppendUint16(fields, uint16(len(name)))
	fields = binary.LittleEndian.AppendUint32(fields, attr)
	fields = append(fields, name...)
	return rar4Block(rar4File, flags, fields, part)
}
