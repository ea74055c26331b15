package tiff

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"sort"
)

// spec is a TIFF to generate.
type spec struct {
	be         bool // big-endian
	ph         int  // photometric interpretation
	bps, spp   int
	extra      int // ExtraSamples: 0 none or unspecified, 1 associated, 2 unassociated alpha
	comp, pred int
	rps        int // rows per strip; 0: one strip
	tw, th     int // tile size; 0: strips
	colours    int // colour map entries (palette)
}

// entry is an IFD field to write.
type entry struct {
	tag, typ uint16
	vals     []uint32
}

// generate writes a w x h TIFF of s with smooth content plus noise, and
// returns it with the image x/image/tiff would return for it (the
// fingerprint's reading of which is the expected luma).
func generate(s spec, w, h int, rng *rand.Rand) ([]byte, image.Image) {
	top := 1<<s.bps - 1
	samples := make([][]int, w*h) // per pixel
	for y := range h {
		for x := range w {
			px := make([]int, s.spp)
			for c := range s.spp {
				v := float64(x*(c+1)+y*(3-c%4)) / float64(w+h) * float64(top)
				v += rng.NormFloat64() * float64(top) / 16
				px[c] = int(math.Min(math.Max(v, 0), float64(top)))
			}
			if s.ph == phRGB && s.extra == 1 && s.spp >= 4 {
				a := px[3]
				if rng.IntN(4) == 0 {
					a = top
				}
				px[3] = a
				for c := range 3 {
					px[c] = px[c] * a / top
				}
			}
			samples[y*w+x] = px
		}
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if s.be {
		bo = binary.BigEndian
	}
	bw, bh := w, h
	if s.tw > 0 {
		bw, bh = s.tw, s.th
	} else if s.rps > 0 {
		bh = min(s.rps, h)
	}
	across, down := (w+bw-1)/bw, (h+bh-1)/bh
	var blocks [][]byte
	for j := range down {
		for i := range across {
			rows := bh
			if s.tw == 0 {
				rows = min(bh, h-j*bh)
			}
			var raw bytes.Buffer
			for r := range rows {
				var row []int
				for x := i * bw; x < (i+1)*bw; x++ {
					y := j*bh + r
					if x < w && y < h {
						row = append(row, samples[y*w+x]...)
					} else if x < w || s.tw > 0 { // a tile's padding
						for range s.spp {
							row = append(row, rng.IntN(top+1))
						}
					}
				}
				raw.Write(packRow(row, s, bo))
			}
			blocks = append(blocks, compress(raw.Bytes(), s, rng))
		}
	}
	// Layout: header, IFD, values, blocks.
	entries := []entry{
		{tagWidth, typeLong, []uint32{uint32(w)}},
		{tagHeight, typeShort, []uint32{uint32(h)}},
		{tagBitsPerSample, typeShort, repeat(uint32(s.bps), s.spp)},
		{tagCompression, typeShort, []uint32{uint32(s.comp)}},
		{tagPhotometric, typeShort, []uint32{uint32(s.ph)}},
		{tagSamplesPerPixel, typeShort, []uint32{uint32(s.spp)}},
		{tagPlanarConfig, typeShort, []uint32{1}},
		{tagPredictor, typeShort, []uint32{uint32(max(s.pred, 1))}},
		{305, 2, []uint32{'l', 'w', 0}}, // Software, ASCII: skipped
	}
	if s.extra > 0 || s.spp > 1 && s.ph != phRGB && s.ph != phCMYK || s.ph == phRGB && s.spp > 3 {
		entries = append(entries, entry{tagExtraSamples, typeShort, []uint32{uint32(s.extra)}})
	}
	var pal color.Palette
	if s.ph == phPalette {
		n := s.colours
		cm := make([]uint32, 3*n)
		for i := range cm {
			cm[i] = uint32(rng.IntN(65536))
		}
		for i := range n {
			pal = append(pal, color.RGBA64{uint16(cm[i]), uint16(cm[i+n]), uint16(cm[i+2*n]), 0xffff})
		}
		entries = append(entries, entry{tagColorMap, typeShort, cm})
	}
	nb := len(blocks)
	offsets, counts := make([]uint32, nb), make([]uint32, nb)
	if s.tw > 0 {
		entries = append(entries, entry{tagTileWidth, typeShort, []uint32{uint32(s.tw)}},
			entry{tagTileLength, typeLong, []uint32{uint32(s.th)}},
			entry{tagTileOffsets, typeLong, offsets}, entry{tagTileByteCounts, typeLong, counts})
	} else {
		entries = append(entries, entry{tagRowsPerStrip, typeLong, []uint32{uint32(bh)}},
			entry{tagStripOffsets, typeLong, offsets}, entry{tagStripByteCounts, typeLong, counts})
	}
	return assemble(s.be, entries, blocks, offsets, counts), expected(s, w, h, samples, pal)
}

// assemble lays out a file: header, IFD, the values that do not fit in
// their entries, then the blocks, whose places it writes into offsets
// and counts (the values of two of the entries).
func assemble(be bool, entries []entry, blocks [][]byte, offsets, counts []uint32) []byte {
	var bo binary.ByteOrder = binary.LittleEndian
	if be {
		bo = binary.BigEndian
	}
	sort.Slice(entries, func(a, b int) bool { return entries[a].tag < entries[b].tag })
	size := func(e entry) int { return int(typeSize(e.typ)) * len(e.vals) }
	valuesAt := 8 + 2 + 12*len(entries) + 4
	blocksAt := valuesAt
	for _, e := range entries {
		if size(e) > 4 {
			blocksAt += size(e)
		}
	}
	at := blocksAt
	for i, b := range blocks {
		offsets[i], counts[i] = uint32(at), uint32(len(b))
		at += len(b)
	}
	out := make([]byte, at)
	if be {
		copy(out, "MM\x00*")
	} else {
		copy(out, "II*\x00")
	}
	bo.PutUint32(out[4:], 8)
	bo.PutUint16(out[8:], uint16(len(entries)))
	put := func(dst []byte, e entry) {
		for i, v := range e.vals {
			switch e.typ {
			case typeShort:
				bo.PutUint16(dst[2*i:], uint16(v))
			case typeLong:
				bo.PutUint32(dst[4*i:], v)
			default:
				dst[i] = byte(v)
			}
		}
	}
	vp := valuesAt
	for k, e := range entries {
		p := out[10+12*k:]
		bo.PutUint16(p, e.tag)
		bo.PutUint16(p[2:], e.typ)
		bo.PutUint32(p[4:], uint32(len(e.vals)))
		if size(e) <= 4 {
			put(p[8:12], e)
			continue
		}
		bo.PutUint32(p[8:], uint32(vp))
		put(out[vp:], e)
		vp += size(e)
	}
	for i, b := range blocks {
		copy(out[offsets[i]:], b)
	}
	return out
}

func repeat(v uint32, n int) []uint32 {
	out := make([]uint32, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// packRow writes a row of samples with s's depth, byte order and
// predictor.
func packRow(row []int, s spec, bo binary.ByteOrder) []byte {
	if s.pred == 2 {
		mod := 1 << s.bps
		d := make([]int, len(row))
		for i := range row {
			d[i] = row[i]
			if i >= s.spp {
				d[i] = ((row[i]-row[i-s.spp])%mod + mod) % mod
			}
		}
		row = d
	}
	switch s.bps {
	case 16:
		out := make([]byte, 2*len(row))
		for i, v := range row {
			bo.PutUint16(out[2*i:], uint16(v))
		}
		return out
	case 8:
		out := make([]byte, len(row))
		for i, v := range row {
			out[i] = byte(v)
		}
		return out
	}
	out := make([]byte, (len(row)*s.bps+7)/8)
	for i, v := range row {
		bit := i * s.bps
		out[bit/8] |= byte(v) << (8 - s.bps - bit%8)
	}
	return out
}

// compress encodes a block with s's compression.
func compress(raw []byte, s spec, rng *rand.Rand) []byte {
	switch s.comp {
	case compDeflate, compDeflateOld:
		var b bytes.Buffer
		zw := zlib.NewWriter(&b)
		zw.Write(raw)
		zw.Close()
		return b.Bytes()
	case compPackBits:
		var b bytes.Buffer
		for len(raw) > 0 {
			// A run of repeated bytes where there is one, else a
			// literal run of random length; now and then a no-op.
			if rng.IntN(8) == 0 {
				b.WriteByte(0x80)
			}
			n := 1
			for n < len(raw) && n < 128 && raw[n] == raw[0] {
				n++
			}
			if n >= 2 {
				b.WriteByte(byte(int8(1 - n)))
				b.WriteByte(raw[0])
				raw = raw[n:]
				continue
			}
			n = min(len(raw), 1+rng.IntN(128))
			b.WriteByte(byte(n - 1))
			b.Write(raw[:n])
			raw = raw[n:]
		}
		return b.Bytes()
	case compLZW:
		return lzwLiterals(raw)
	}
	return raw
}

// lzwLiterals encodes data as TIFF LZW with literal codes only and a
// clear code every 250 codes, so the code width stays 9 bits: a valid
// stream, if not a compressed one.
func lzwLiterals(data []byte) []byte {
	var out []byte
	var acc uint32
	var n uint
	emit := func(code uint32) {
		acc = acc<<9 | code
		n += 9
		for n >= 8 {
			out = append(out, byte(acc>>(n-8)))
			n -= 8
		}
	}
	for i, c := range data {
		if i%250 == 0 {
			emit(256)
		}
		emit(uint32(c))
	}
	emit(257)
	if n > 0 {
		out = append(out, byte(acc<<(8-n)))
	}
	return out
}

// expected is the image x/image/tiff would return for the samples (also
// for the files it refuses), per the luma rules of newLumaFunc.
func expected(s spec, w, h int, samples [][]int, pal color.Palette) image.Image {
	r := image.Rect(0, 0, w, h)
	top := 1<<s.bps - 1
	var img interface {
		image.Image
		Set(x, y int, c color.Color)
	}
	switch s.ph {
	case phWhiteIsZero, phBlackIsZero:
		if s.bps == 16 {
			img = image.NewGray16(r)
		} else {
			img = image.NewGray(r)
		}
	case phPalette:
		img = image.NewPaletted(r, pal)
	case phCMYK:
		img = image.NewCMYK(r)
	default:
		switch {
		case s.bps == 8 && s.extra == 2 && s.spp >= 4:
			img = image.NewNRGBA(r)
		case s.bps == 8:
			img = image.NewRGBA(r)
		case s.extra == 2 && s.spp >= 4:
			img = image.NewNRGBA64(r)
		default:
			img = image.NewRGBA64(r)
		}
	}
	for y := range h {
		for x := range w {
			p := samples[y*w+x]
			switch m := img.(type) {
			case *image.Gray:
				v := p[0] * 0xff / top
				if s.ph == phWhiteIsZero {
					v = 0xff - v
				}
				m.SetGray(x, y, color.Gray{uint8(v)})
			case *image.Gray16:
				v := p[0]
				if s.ph == phWhiteIsZero {
					v = 0xffff - v
				}
				m.SetGray16(x, y, color.Gray16{uint16(v)})
			case *image.Paletted:
				m.Pix[y*m.Stride+x] = uint8(p[0])
			case *image.CMYK:
				m.SetCMYK(x, y, color.CMYK{uint8(p[0]), uint8(p[1]), uint8(p[2]), uint8(p[3])})
			case *image.NRGBA:
				m.SetNRGBA(x, y, color.NRGBA{uint8(p[0]), uint8(p[1]), uint8(p[2]), uint8(p[3])})
			case *image.NRGBA64:
				m.SetNRGBA64(x, y, color.NRGBA64{uint16(p[0]), uint16(p[1]), uint16(p[2]), uint16(p[3])})
			case *image.RGBA:
				a := 0xff
				if s.extra == 1 && s.spp >= 4 {
					a = p[3]
				}
				i := m.PixOffset(x, y)
				m.Pix[i], m.Pix[i+1], m.Pix[i+2], m.Pix[i+3] = uint8(p[0]), uint8(p[1]), uint8(p[2]), uint8(a)
			case *image.RGBA64:
				a := 0xffff
				if s.extra == 1 && s.spp >= 4 {
					a = p[3]
				}
				m.SetRGBA64(x, y, color.RGBA64{uint16(p[0]), uint16(p[1]), uint16(p[2]), uint16(a)})
			}
		}
	}
	return img
}
