package fingerprint

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/leakwatch/leakwatch/fixtures/heappeak"
)

// bigTIFF writes a w x h Deflate TIFF (little-endian, strips of rps rows,
// or tiles of rps x rps when tiled) of spp samples of bps bits, streaming
// the rows into the compressor.
func bigTIFF(w, h, spp, bps, rps int, tiled bool) []byte {
	bw, bh := w, rps
	if tiled {
		bw = rps
	}
	across, down := (w+bw-1)/bw, (h+bh-1)/bh
	var blocks [][]byte
	row := make([]byte, bw*spp*bps/8)
	for j := range down {
		for i := range across {
			var z bytes.Buffer
			zw, _ := zlib.NewWriterLevel(&z, zlib.BestSpeed)
			for y := j * bh; y < min((j+1)*bh, h) || tiled && y < (j+1)*bh; y++ {
				for x := range bw {
					for c := range spp {
						// A checkerboard of 64-pixel squares over a
						// slope: runs the compressor folds.
						gx := x + i*bw
						v := (gx>>6+y>>6)&1*96 + gx*(c+1)*64/w + y*64/h
						if bps == 16 {
							binary.LittleEndian.PutUint16(row[(x*spp+c)*2:], uint16(v*257))
						} else {
							row[x*spp+c] = byte(v)
						}
					}
				}
				zw.Write(row)
			}
			zw.Close()
			blocks = append(blocks, z.Bytes())
		}
	}
	n := len(blocks)
	type ent struct {
		tag, typ uint16
		count    uint32
		val      uint32
	}
	offTag, cntTag, sizeTag := uint16(273), uint16(279), uint16(278)
	if tiled {
		offTag, cntTag, sizeTag = 324, 325, 322
	}
	photometric := uint32(2)
	if spp == 1 {
		photometric = 1
	}
	ents := []ent{{256, 4, 1, uint32(w)}, {257, 4, 1, uint32(h)}, {258, 3, 1, uint32(bps)}, {259, 3, 1, 8},
		{262, 3, 1, photometric}, {277, 3, 1, uint32(spp)}, {sizeTag, 4, 1, uint32(rps)}}
	if tiled {
		ents = append(ents, ent{323, 4, 1, uint32(rps)})
	}
	if spp == 4 {
		ents = append(ents, ent{338, 3, 1, 2})
	}
	// Arrays after the IFD: bits per sample, offsets, counts.
	ifdEnd := 8 + 2 + 12*(len(ents)+2) + 4
	bpsAt, offAt := ifdEnd, ifdEnd+2*spp
	cntAt := offAt + 4*n
	dataAt := cntAt + 4*n
	if spp > 1 {
		ents[2] = ent{258, 3, uint32(spp), uint32(bpsAt)}
	}
	ents = append(ents, ent{offTag, 4, uint32(n), uint32(offAt)}, ent{cntTag, 4, uint32(n), uint32(cntAt)})
	if n == 1 {
		ents[len(ents)-2].val, ents[len(ents)-1].val = uint32(dataAt), uint32(len(blocks[0]))
	}
	slices.SortFunc(ents, func(a, b ent) int { return int(a.tag) - int(b.tag) })
	out := make([]byte, dataAt)
	copy(out, "II*\x00")
	le := binary.LittleEndian
	le.PutUint32(out[4:], 8)
	le.PutUint16(out[8:], uint16(len(ents)))
	for k, e := range ents {
		p := out[10+12*k:]
		le.PutUint16(p, e.tag)
		le.PutUint16(p[2:], e.typ)
		le.PutUint32(p[4:], e.count)
		if e.typ == 3 && e.count == 1 {
			le.PutUint16(p[8:], uint16(e.val))
		} else {
			le.PutUint32(p[8:], e.val)
		}
	}
	for c := range spp {
		le.PutUint16(out[bpsAt+2*c:], uint16(bps))
	}
	at := dataAt
	for i, b := range blocks {
		le.PutUint32(out[offAt+4*i:], uint32(at))
		le.PutUint32(out[cntAt+4*i:], uint32(len(b)))
		at += len(b)
		out = append(out, b...)
	}
	return out
}

// bigBMP is a w x h 24-bit BMP of the same pattern.
func bigBMP(w, h int) []byte {
	row := (3*w + 3) &^ 3
	out := make([]byte, 54+row*h)
	le := binary.LittleEndian
	copy(out, "BM")
	le.PutUint32(out[2:], uint32(len(out)))
	le.PutUint32(out[10:], 54)
	le.PutUint32(out[14:], 40)
	le.PutUint32(out[18:], uint32(w))
	le.PutUint32(out[22:], uint32(h))
	le.PutUint16(out[26:], 1)
	le.PutUint16(out[28:], 24)
	for y := range h {
		p := out[54+y*row:]
		for x := range w {
			for c := range 3 {
				p[3*x+c] = byte((x>>6+y>>6)&1*96 + x*(c+1)*64/w + y*64/h)
			}
		}
	}
	return out
}

// peakFiles are the 49-megapixel (7000x7000) files of BenchmarkDecodePeak.
var peakFiles = sync.OnceValue(func() map[string][]byte {
	return map[string][]byte{
		"tiff-rgba16-deflate-one-strip":  bigTIFF(7000, 7000, 4, 16, 7000, false),
		"tiff-rgb8-deflate-strips-of-16": bigTIFF(7000, 7000, 3, 8, 16, false),
		"tiff-gray8-deflate-tiles-256":   bigTIFF(7000, 7000, 1, 8, 256, true),
	}
})

// BenchmarkDecodePeak decodes 49-megapixel TIFFs (the largest within
// --max-pixels), a 12-megapixel 16-bit PNG and a 22-megapixel 24-bit BMP
// (the largest within --max-image-bytes) with the full-size colour
// decoder they all had before, for a report thumbnail (MinSide: in
// colour, or as reduced luma when that decoder would take more than 64
// MB), the way hash does (LumaOnly: full size, or ForQuery when that is
// over --max-decoded-pixels) and the way match does (ForQuery), and
// reports the peak live heap sampled during one decode (peak-MB) beside
// what it allocated (B/op).
func BenchmarkDecodePeak(b *testing.B) {
	files := peakFiles()
	files["png-rgba16-4000x3000"] = pngBenchFiles()["4000x3000-rgba16"]
	// The largest 24-bit BMP within --max-image-bytes: 22 megapixels.
	files["bmp-rgb24-4700x4700"] = bigBMP(4700, 4700)
	for _, name := range []string{"tiff-rgba16-deflate-one-strip", "tiff-rgb8-deflate-strips-of-16", "tiff-gray8-deflate-tiles-256",
		"png-rgba16-4000x3000", "bmp-rgb24-4700x4700"} {
		data := files[name]
		b.Logf("%s: %d bytes", name, len(data))
		// The full-size decoder these files had before, as report
		// thumbnails had it too.
		fullSize := decoders(Sniff(data)).decode
		for _, o := range []struct {
			name string
			opts []DecodeOption
		}{{"full-size", nil}, {"thumbnail", []DecodeOption{MinSide(160)}}, {"luma-only", []DecodeOption{LumaOnly()}}, {"for-query", []DecodeOption{ForQuery()}}} {
			b.Run(name+"/"+o.name, func(b *testing.B) {
				var peak uint64
				for b.Loop() {
					peak = max(peak, heappeak.Of(func() {
						var err error
						if o.opts == nil {
							_, err = fullSize(bytes.NewReader(data))
						} else {
							_, err = DecodeBytes(data, DefaultLimits(), o.opts...)
						}
						if errors.Is(err, ErrDecodeLimit) && o.name == "luma-only" {
							_, err = DecodeBytes(data, DefaultLimits(), ForQuery()) // as hash does
						}
						if err != nil {
							b.Fatal(err)
						}
					}))
				}
				b.ReportMetric(float64(peak)/1e6, "peak-MB")
			})
		}
	}
}
