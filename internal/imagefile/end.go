package imagefile

import (
	"bytes"
	"encoding/binary"
)

// End returns the offset just past the image at the start of data (a
// JPEG's end-of-image marker, a PNG's IEND chunk, a GIF's trailer, a
// WebP's RIFF size, a BMP's declared file size), and false when data is
// none of these or is cut short before the end. Bytes after End are not
// part of the image: viewers ignore them, which is where an archive can
// hide.
func End(data []byte) (int, bool) {
	switch {
	case bytes.HasPrefix(data, []byte{0xff, 0xd8, 0xff}):
		return jpegEnd(data)
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return pngEnd(data)
	case isGIF(data):
		return gifEnd(data)
	case isWebP(data):
		n := 8 + int64(binary.LittleEndian.Uint32(data[4:]))
		n += n & 1
		return int(n), n <= int64(len(data))
	case len(data) >= 14 && data[0] == 'B' && data[1] == 'M':
		n := int64(binary.LittleEndian.Uint32(data[2:]))
		return int(n), n >= 14 && n <= int64(len(data))
	}
	return 0, false
}

// jpegEnd walks the marker segments and, after each start of scan, the
// entropy-coded data (where 0xFF is followed by 0x00 stuffing or a restart
// marker) up to the end-of-image marker.
func jpegEnd(b []byte) (int, bool) {
	i := 2
	for i+4 <= len(b) {
		if b[i] != 0xff {
			return 0, false
		}
		m := b[i+1]
		switch {
		case m == 0xff: // fill byte
			i++
			continue
		case m == 0xd9:
			return i + 2, true
		case m == 0x01 || (m >= 0xd0 && m <= 0xd7): // no length
			i += 2
			continue
		}
		i += 2 + int(binary.BigEndian.Uint16(b[i+2:]))
		if m != 0xda {
			continue
		}
		// Entropy-coded data up to the next marker.
		for i+1 < len(b) && !(b[i] == 0xff && b[i+1] != 0 && (b[i+1] < 0xd0 || b[i+1] > 0xd7)) {
			i++
		}
	}
	if i+2 <= len(b) && b[i] == 0xff && b[i+1] == 0xd9 {
		return i + 2, true
	}
	return 0, false
}

// pngEnd walks the chunks (length, type, data, CRC) to IEND.
func pngEnd(b []byte) (int, bool) {
	i := 8
	for i+12 <= len(b) {
		n := int64(binary.BigEndian.Uint32(b[i:]))
		end := int64(i) + 12 + n
		if end > int64(len(b)) {
			return 0, false
		}
		if string(b[i+4:i+8]) == "IEND" {
			return int(end), true
		}
		i = int(end)
	}
	return 0, false
}

// gifEnd walks the blocks to the trailer.
func gifEnd(b []byte) (int, bool) {
	end := -1
	i := gifScreen(b)
	for i < len(b) {
		switch b[i] {
		case 0x3b:
			end = i + 1
		case 0x21:
			j := skipSubBlocks(b, i+2)
			if i+2 > len(b) || j < 0 {
				return 0, false
			}
			i = j
			continue
		case 0x2c:
			j := i + 10
			if j > len(b) {
				return 0, false
			}
			if b[i+9]&0x80 != 0 {
				j += 3 << (b[i+9]&7 + 1)
			}
			j = skipSubBlocks(b, j+1)
			if j < 0 {
				return 0, false
			}
			i = j
			continue
		default:
			return 0, false
		}
		break
	}
	return end, end > 0
}
