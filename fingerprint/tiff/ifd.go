package tiff

import (
	"encoding/binary"
	"math"
)

// Tags read by this package (TIFF 6.0, section 8 and the extensions).
const (
	tagWidth           = 256
	tagHeight          = 257
	tagBitsPerSample   = 258
	tagCompression     = 259
	tagPhotometric     = 262
	tagFillOrder       = 266
	tagStripOffsets    = 273
	tagSamplesPerPixel = 277
	tagRowsPerStrip    = 278
	tagStripByteCounts = 279
	tagPlanarConfig    = 284
	tagPredictor       = 317
	tagColorMap        = 320
	tagTileWidth       = 322
	tagTileLength      = 323
	tagTileOffsets     = 324
	tagTileByteCounts  = 325
	tagInkSet          = 332
	tagExtraSamples    = 338
	tagSampleFormat    = 339
)

// Field types holding unsigned integers.
const (
	typeByte  = 1
	typeShort = 3
	typeLong  = 4
)

// typeSize is the bytes of one value of each field type (0: unknown).
func typeSize(typ uint16) uint64 {
	switch typ {
	case 1, 2, 6, 7: // BYTE, ASCII, SBYTE, UNDEFINED
		return 1
	case 3, 8: // SHORT, SSHORT
		return 2
	case 4, 9, 11, 13: // LONG, SLONG, FLOAT, IFD
		return 4
	case 5, 10, 12: // RATIONAL, SRATIONAL, DOUBLE
		return 8
	}
	return 0
}

// field is one IFD entry whose values lie inside the file.
type field struct {
	typ   uint16
	count int
	val   []byte // count values, inline or at the entry's offset
}

// ifd is the first image file directory: the fields this package reads.
type ifd struct {
	bo     binary.ByteOrder
	fields map[uint16]field
}

// readIFD reads the header and the first IFD. Fields of tags this package
// does not read are skipped unchecked; the others must lie inside data.
func readIFD(data []byte) (*ifd, error) {
	if len(data) < 8 {
		return nil, errs.Formatf("truncated header")
	}
	d := &ifd{fields: map[uint16]field{}}
	switch string(data[:4]) {
	case "II*\x00":
		d.bo = binary.LittleEndian
	case "MM\x00*":
		d.bo = binary.BigEndian
	case "II+\x00", "MM\x00+":
		return nil, errs.Unsupportedf("BigTIFF")
	default:
		return nil, errs.Formatf("not a TIFF file")
	}
	off := uint64(d.bo.Uint32(data[4:]))
	if off+2 > uint64(len(data)) {
		return nil, errs.Formatf("IFD offset %d past the end", off)
	}
	n := uint64(d.bo.Uint16(data[off:]))
	if off+2+12*n > uint64(len(data)) {
		return nil, errs.Formatf("truncated IFD of %d entries", n)
	}
	for i := range n {
		e := data[off+2+12*i:][:12]
		tag := d.bo.Uint16(e)
		if !wanted(tag) {
			continue
		}
		typ, count := d.bo.Uint16(e[2:]), uint64(d.bo.Uint32(e[4:]))
		size := typeSize(typ) * count
		if typeSize(typ) == 0 {
			return nil, errs.Formatf("tag %d of unknown type %d", tag, typ)
		}
		val := e[8:12]
		if size > 4 {
			at := uint64(d.bo.Uint32(e[8:]))
			if at+size > uint64(len(data)) {
				return nil, errs.Formatf("tag %d: %d values past the end", tag, count)
			}
			val = data[at : at+size]
		}
		d.fields[tag] = field{typ: typ, count: int(count), val: val[:size]}
	}
	return d, nil
}

func wanted(tag uint16) bool {
	switch tag {
	case tagWidth, tagHeight, tagBitsPerSample, tagCompression, tagPhotometric, tagFillOrder,
		tagStripOffsets, tagSamplesPerPixel, tagRowsPerStrip, tagStripByteCounts, tagPlanarConfig,
		tagPredictor, tagColorMap, tagTileWidth, tagTileLength, tagTileOffsets, tagTileByteCounts,
		tagInkSet, tagExtraSamples, tagSampleFormat:
		return true
	}
	return false
}

// uint returns value i of an integer field; ok is false when the field
// is not an unsigned integer type or has no value i.
func (f field) uint(bo binary.ByteOrder, i int) (v uint64, ok bool) {
	if i < 0 || i >= f.count {
		return 0, false
	}
	switch f.typ {
	case typeByte:
		return uint64(f.val[i]), true
	case typeShort:
		return uint64(bo.Uint16(f.val[2*i:])), true
	case typeLong:
		return uint64(bo.Uint32(f.val[4*i:])), true
	}
	return 0, false
}

// get returns the first value of tag, def when it is absent.
func (d *ifd) get(tag uint16, def uint64) (uint64, error) {
	f, ok := d.fields[tag]
	if !ok {
		return def, nil
	}
	v, ok := f.uint(d.bo, 0)
	if !ok {
		return 0, errs.Formatf("tag %d: no integer value", tag)
	}
	return v, nil
}

// getInt is get for a value that must fit in 32 bits signed.
func (d *ifd) getInt(tag uint16, def uint64) (int, error) {
	v, err := d.get(tag, def)
	if err == nil && v > math.MaxInt32 {
		return 0, errs.Formatf("tag %d: value %d", tag, v)
	}
	return int(v), err
}

// all checks that the first n values of an integer tag (one per sample)
// are in ok.
func (d *ifd) all(tag uint16, n int, ok func(uint64) bool) (bool, error) {
	f, present := d.fields[tag]
	if !present {
		return true, nil
	}
	for i := range min(f.count, n) {
		v, isInt := f.uint(d.bo, i)
		if !isInt {
			return false, errs.Formatf("tag %d: no integer value", tag)
		}
		if !ok(v) {
			return false, nil
		}
	}
	return true, nil
}
