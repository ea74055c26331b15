package tiff

import (
	"context"
	"encoding/binary"
	"errors"
	"image"
	"io"
	"math"

	"github.com/leakwatch/leakwatch/fingerprint/internal/area"
	"github.com/leakwatch/leakwatch/fingerprint/internal/decodeerr"
)

// Options choose the reduction and bound the work of one decode.
type Options struct {
	// Denom reduces the image: the output is ceil(w/Denom) x
	// ceil(h/Denom), each pixel the mean luma of the Denom x Denom
	// pixels it covers (fewer at the right and bottom edges). 0 or 1
	// keeps the full size.
	Denom int
	// MaxPixels bounds width*height as the header declares it.
	MaxPixels int64
	// MaxOutPixels bounds the output's width*height (after Denom).
	MaxOutPixels int64
	// MaxRowBytes bounds one row of a strip or tile, the only part of
	// the image data the reader holds.
	MaxRowBytes int
	// MaxBlocks bounds the strips or tiles of the image: each costs a
	// decompressor's set-up whatever its size.
	MaxBlocks int
	// MaxPaddedPixels bounds the pixels of a tiled image's tiles, padding
	// included (0: twice MaxPixels). Tiles cover whole multiples of their
	// size and all of it is decoded, so an image of a few pixels in huge
	// tiles would otherwise cost what MaxPixels refuses.
	MaxPaddedPixels int64
}

// Default bounds.
const (
	DefaultMaxPixels    = 50_000_000
	DefaultMaxOutPixels = 16 << 20
	DefaultMaxRowBytes  = 8 << 20 // a million 16-bit RGBA pixels
	DefaultMaxBlocks    = 1 << 20
)

func (o Options) withDefaults() Options {
	o.Denom = max(o.Denom, 1)
	o.MaxPixels = decodeerr.Default(o.MaxPixels, DefaultMaxPixels)
	o.MaxOutPixels = decodeerr.Default(o.MaxOutPixels, DefaultMaxOutPixels)
	o.MaxRowBytes = decodeerr.Default(o.MaxRowBytes, DefaultMaxRowBytes)
	o.MaxBlocks = decodeerr.Default(o.MaxBlocks, DefaultMaxBlocks)
	o.MaxPaddedPixels = decodeerr.Default(o.MaxPaddedPixels, 2*o.MaxPixels)
	return o
}

// Photometric interpretations read.
const (
	phWhiteIsZero = 0
	phBlackIsZero = 1
	phRGB         = 2
	phPalette     = 3
	phCMYK        = 5
)

// Compressions read.
const (
	compNone       = 1
	compCCITT3     = 3
	compCCITT4     = 4
	compLZW        = 5
	compDeflate    = 8
	compPackBits   = 32773
	compDeflateOld = 32946
)

// Config describes a file from its first IFD.
type Config struct {
	Width, Height                  int
	BitsPerSample, SamplesPerPixel int
	Photometric, Compression       int
	// Tiled is true for a file in tiles rather than strips.
	Tiled bool
}

// file is a parsed and checked first image.
type file struct {
	Config
	ifd       *ifd
	predictor int
	// extra is ExtraSamples' first value: 1 associated alpha, 2
	// unassociated, 0 unspecified (ignored).
	extra     uint64
	fillOrder uint64
	// Blocks are strips (bw = Width, bh = RowsPerStrip) or tiles, across
	// x down of them.
	bw, bh, across, down int
	offsets, counts      field
	hasCounts            bool
	rowBytes             int64 // one row of a block
}

// DecodeConfig reads the header and first IFD of a TIFF file and checks
// that this package can decode it.
func DecodeConfig(data []byte) (Config, error) {
	f, err := parse(data)
	if err != nil {
		return Config{}, err
	}
	return f.Config, nil
}

func parse(data []byte) (*file, error) {
	d, err := readIFD(data)
	if err != nil {
		return nil, err
	}
	f := &file{ifd: d}
	c := &f.Config
	ints := []struct {
		tag uint16
		def uint64
		dst *int
	}{
		{tagWidth, 0, &c.Width}, {tagHeight, 0, &c.Height},
		// Without SamplesPerPixel, BitsPerSample has a value per sample
		// (x/image/tiff reads only the latter).
		{tagSamplesPerPixel, uint64(max(1, d.fields[tagBitsPerSample].count)), &c.SamplesPerPixel},
		{tagBitsPerSample, 1, &c.BitsPerSample},
		// A missing photometric interpretation reads as WhiteIsZero and
		// a missing compression as none, as x/image/tiff does.
		{tagPhotometric, phWhiteIsZero, &c.Photometric}, {tagCompression, compNone, &c.Compression},
		{tagPredictor, 1, &f.predictor},
	}
	for _, v := range ints {
		if *v.dst, err = d.getInt(v.tag, v.def); err != nil {
			return nil, err
		}
	}
	if c.Width == 0 || c.Height == 0 {
		return nil, errs.Formatf("image size %dx%d", c.Width, c.Height)
	}
	if c.Compression == 0 {
		c.Compression = compNone
	}
	if err := f.checkSamples(); err != nil {
		return nil, err
	}
	if err := f.checkCoding(); err != nil {
		return nil, err
	}
	if err := f.blocks(); err != nil {
		return nil, err
	}
	f.rowBytes = (int64(f.bw)*int64(c.SamplesPerPixel*c.BitsPerSample) + 7) / 8
	return f, nil
}

// checkSamples checks the samples and their colour interpretation.
func (f *file) checkSamples() error {
	c, d := &f.Config, f.ifd
	spp, bps := c.SamplesPerPixel, c.BitsPerSample
	if spp < 1 || spp > 16 {
		return errs.Unsupportedf("%d samples per pixel", spp)
	}
	if b, ok := d.fields[tagBitsPerSample]; ok && b.count != spp {
		return errs.Formatf("%d sample sizes for %d samples", b.count, spp)
	}
	if same, err := d.all(tagBitsPerSample, spp, func(v uint64) bool { return v == uint64(bps) }); err != nil {
		return err
	} else if !same {
		return errs.Unsupportedf("samples of different sizes")
	}
	if bps != 1 && bps != 2 && bps != 4 && bps != 8 && bps != 16 {
		return errs.Unsupportedf("%d bits per sample", bps)
	}
	if uints, err := d.all(tagSampleFormat, spp, func(v uint64) bool { return v == 1 }); err != nil {
		return err
	} else if !uints {
		return errs.Unsupportedf("samples that are not unsigned integers")
	}
	var err error
	if f.extra, err = d.get(tagExtraSamples, 0); err != nil {
		return err
	}
	switch c.Photometric {
	case phWhiteIsZero, phBlackIsZero:
	case phPalette:
		if bps > 8 || spp != 1 {
			return errs.Unsupportedf("palette of %d samples of %d bits", spp, bps)
		}
		cm, ok := d.fields[tagColorMap]
		if !ok || cm.typ != typeShort || cm.count%3 != 0 || cm.count == 0 || cm.count > 3*256 {
			return errs.Formatf("missing or malformed colour map")
		}
	case phRGB:
		if bps < 8 || spp < 3 {
			return errs.Unsupportedf("RGB of %d samples of %d bits", spp, bps)
		}
	case phCMYK:
		ink, err := d.get(tagInkSet, 1)
		if err != nil {
			return err
		}
		if bps != 8 || spp < 4 || ink != 1 {
			return errs.Unsupportedf("separated colour of %d samples of %d bits, ink set %d", spp, bps, ink)
		}
	default:
		return errs.Unsupportedf("photometric interpretation %d", c.Photometric)
	}
	planar, err := d.get(tagPlanarConfig, 1)
	if err != nil {
		return err
	}
	if planar != 1 && spp > 1 {
		return errs.Unsupportedf("separate colour planes")
	}
	return nil
}

// checkCoding checks the compression and predictor.
func (f *file) checkCoding() error {
	c := &f.Config
	switch c.Compression {
	case compNone, compLZW, compDeflate, compDeflateOld, compPackBits:
	case compCCITT3, compCCITT4:
		if c.BitsPerSample != 1 || c.SamplesPerPixel != 1 || c.Photometric > phBlackIsZero {
			return errs.Formatf("CCITT compression of %d samples of %d bits", c.SamplesPerPixel, c.BitsPerSample)
		}
	default:
		return errs.Unsupportedf("compression %d", c.Compression)
	}
	switch {
	case f.predictor == 1:
	case f.predictor == 2 && (c.BitsPerSample == 8 || c.BitsPerSample == 16):
	default:
		return errs.Unsupportedf("predictor %d with %d-bit samples", f.predictor, c.BitsPerSample)
	}
	var err error
	f.fillOrder, err = f.ifd.get(tagFillOrder, 1)
	return err
}

// blocks reads the strip or tile layout.
func (f *file) blocks() error {
	d, c := f.ifd, &f.Config
	offTag, countTag := uint16(tagStripOffsets), uint16(tagStripByteCounts)
	if _, c.Tiled = d.fields[tagTileWidth]; c.Tiled {
		var err error
		if f.bw, err = d.getInt(tagTileWidth, 0); err != nil {
			return err
		}
		if f.bh, err = d.getInt(tagTileLength, 0); err != nil {
			return err
		}
		if f.bw == 0 || f.bh == 0 {
			return errs.Formatf("tile size %dx%d", f.bw, f.bh)
		}
		offTag, countTag = tagTileOffsets, tagTileByteCounts
	} else {
		rps, err := d.get(tagRowsPerStrip, math.MaxUint32)
		if err != nil {
			return err
		}
		f.bw, f.bh = c.Width, c.Height
		if rps > 0 && rps < uint64(c.Height) {
			f.bh = int(rps)
		}
	}
	f.across, f.down = (c.Width+f.bw-1)/f.bw, (c.Height+f.bh-1)/f.bh
	n := int64(f.across) * int64(f.down)
	var ok bool
	if f.offsets, ok = d.fields[offTag]; !ok || int64(f.offsets.count) < n {
		return errs.Formatf("%d block offsets for %d blocks", f.offsets.count, n)
	}
	if f.counts, f.hasCounts = d.fields[countTag]; f.hasCounts && int64(f.counts.count) < n {
		return errs.Formatf("%d block byte counts for %d blocks", f.counts.count, n)
	}
	return nil
}

// block returns the bytes of block i: from its offset for its byte count,
// or to the end of the file when the count is missing or runs past it
// (the decoder reads only what the rows need and reports a block that
// ends too soon).
func (f *file) block(data []byte, i int) ([]byte, error) {
	off, ok := f.offsets.uint(f.ifd.bo, i)
	if !ok {
		return nil, errs.Formatf("block %d: offset is not an integer", i)
	}
	if off > uint64(len(data)) {
		return nil, errs.Formatf("block %d at %d, past the end", i, off)
	}
	end := uint64(len(data))
	if f.hasCounts {
		n, ok := f.counts.uint(f.ifd.bo, i)
		if !ok {
			return nil, errs.Formatf("block %d: byte count is not an integer", i)
		}
		end = min(end, off+n)
	}
	return data[off:end], nil
}

// Decode reads the first image of a TIFF file held in memory into a grey
// image of its luma, reduced by o.Denom.
func Decode(ctx context.Context, data []byte, o Options) (*image.Gray, error) {
	o = o.withDefaults()
	f, err := parse(data)
	if err != nil {
		return nil, err
	}
	w, h := f.Width, f.Height
	if px := int64(w) * int64(h); px > o.MaxPixels {
		return nil, errs.Limit("pixels", px, o.MaxPixels)
	}
	if n := int64(f.across) * int64(f.down); n > int64(o.MaxBlocks) {
		return nil, errs.Limit("blocks", n, int64(o.MaxBlocks))
	}
	// Each side is under 2^33, so the product cannot overflow a float64.
	if padded := float64(f.across*f.bw) * float64(f.down*f.bh); f.Tiled && padded > float64(o.MaxPaddedPixels) {
		v := int64(math.MaxInt64)
		if padded < 1<<62 {
			v = int64(padded)
		}
		return nil, errs.Limit("padded pixels", v, o.MaxPaddedPixels)
	}
	if f.rowBytes > int64(o.MaxRowBytes) {
		return nil, errs.Limit("row bytes", f.rowBytes, int64(o.MaxRowBytes))
	}
	dn := o.Denom
	if px := int64((w+dn-1)/dn) * int64((h+dn-1)/dn); px > o.MaxOutPixels {
		return nil, errs.Limit("output pixels", px, o.MaxOutPixels)
	}
	r := &reader{f: f, sum: area.New(w, h, dn), luma: newLumaFunc(f), row: make([]byte, f.rowBytes)}
	for i := range f.across * f.down {
		if err := r.readBlock(ctx, data, i); err != nil {
			return nil, err
		}
	}
	return r.sum.Gray(), nil
}

// reader decodes blocks a row at a time into sum.
type reader struct {
	f    *file
	sum  *area.Sum
	luma lumaFunc
	row  []byte
	dec  decompressors
}

func (r *reader) readBlock(ctx context.Context, data []byte, i int) error {
	f := r.f
	src, err := f.block(data, i)
	if err != nil {
		return err
	}
	x0, y0 := i%f.across*f.bw, i/f.across*f.bh
	rows := min(f.bh, f.Height-y0) // a tile's padding rows are not read
	zr, err := r.dec.open(ctx, f, src, rows)
	if err != nil {
		return err
	}
	defer zr.Close()
	n := min(f.bw, f.Width-x0)
	for y := y0; y < y0+rows; y++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if _, err := io.ReadFull(zr, r.row); err != nil {
			if cerr := ctx.Err(); cerr != nil && errors.Is(err, cerr) {
				return cerr
			}
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return errs.Formatf("block %d ends at row %d of %d", i, y-y0, rows)
			}
			return errs.Formatf("block %d: %v", i, err)
		}
		r.unpredict()
		r.sum.AddPacked(r.row, n, f.SamplesPerPixel*f.BitsPerSample, x0, 1, y, r.luma)
	}
	return nil
}

// unpredict puts 16-bit samples in big-endian order and reverses the
// horizontal predictor (TIFF 6.0, section 14) on the row just read.
func (r *reader) unpredict() {
	f, row := r.f, r.row
	spp := f.SamplesPerPixel
	if f.BitsPerSample == 16 {
		if f.ifd.bo == binary.LittleEndian {
			for i := 0; i+1 < len(row); i += 2 {
				row[i], row[i+1] = row[i+1], row[i]
			}
		}
		if f.predictor == 2 {
			for i := 2 * spp; i+1 < len(row); i += 2 {
				v := uint16(row[i])<<8 | uint16(row[i+1])
				v += uint16(row[i-2*spp])<<8 | uint16(row[i-2*spp+1])
				row[i], row[i+1] = byte(v>>8), byte(v)
			}
		}
		return
	}
	if f.predictor == 2 {
		for i := spp; i < len(row); i++ {
			row[i] += row[i-spp]
		}
	}
}
