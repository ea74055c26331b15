package jpeg

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"image"
	"math"

	"github.com/leakwatch/leakwatch/fingerprint/internal/decodeerr"
)

// Options choose the output and bound the work of one decode.
type Options struct {
	// MinSide is the smallest longer side the caller needs: Decode picks
	// the smallest scale (1/8, 1/4, 1/2, 1/1) whose longer side is at
	// least MinSide. 0 decodes at full size, unless Denom is set.
	MinSide int
	// Denom, when 1, 2, 4 or 8, is the scale itself (1/Denom), chosen by
	// the caller (ScaleFor); MinSide is then ignored.
	Denom int
	// Luma returns an *image.Gray of the luma alone.
	Luma bool
	// MaxScans bounds the scans of a file (progressive files usually
	// have about ten).
	MaxScans int
	// MaxCoefBytes bounds the memory holding a progressive file's
	// coefficients between scans.
	MaxCoefBytes int64
	// MaxPixels bounds the output's width*height (after scaling).
	MaxPixels int64
}

// Default bounds: they admit every real photograph (a 50-megapixel CMYK
// progressive file at the 1/8 scale a fingerprint needs holds about 31 MB
// of coefficients) and stop files built to exhaust a decoder.
const (
	DefaultMaxScans     = 100
	DefaultMaxCoefBytes = 48 << 20
	DefaultMaxPixels    = 16 << 20
)

func (o Options) withDefaults() Options {
	o.MaxScans = decodeerr.Default(o.MaxScans, DefaultMaxScans)
	o.MaxCoefBytes = decodeerr.Default(o.MaxCoefBytes, DefaultMaxCoefBytes)
	o.MaxPixels = decodeerr.Default(o.MaxPixels, DefaultMaxPixels)
	return o
}

// Config describes a file from its headers.
type Config struct {
	Width, Height int
	Components    int
	Progressive   bool
	// Scans counts the scans in the file.
	Scans int
}

// ScaleFor returns the denominator (1, 2, 4 or 8) of the smallest scale at
// which a w x h image keeps a longer side of at least minSide and a shorter
// side of at least minShort; 1 (full size) when neither is positive.
func ScaleFor(w, h, minSide, minShort int) int {
	long, short := max(w, h), min(w, h)
	if minSide <= 0 && minShort <= 0 {
		return 1
	}
	for _, d := range []int{8, 4, 2} {
		if (long+d-1)/d >= minSide && (short+d-1)/d >= minShort {
			return d
		}
	}
	return 1
}

// ScaledSize is the size of a w x h image decoded at 1/denom.
func ScaledSize(w, h, denom int) (int, int) {
	return (w + denom - 1) / denom, (h + denom - 1) / denom
}

// component is one colour component of the frame.
type component struct {
	id     uint8
	h, v   int
	tq     uint8
	bw, bh int // blocks per line and column, padded to whole MCUs
	// needed: whether the output uses this component.
	needed bool
	// coef holds the kept coefficients (k per block, natural order of
	// the k x k corner) and nz a bit per zig-zag index that is nonzero,
	// for progressive files.
	coef []int16
	nz   []uint64
	// pix is the component's plane at the output scale.
	pix    []byte
	stride int
	// need marks the zig-zag indices whose values or history the output
	// depends on (progressive files).
	need uint64
	pred int32
}

// scanHeader is one SOS header.
type scanHeader struct {
	comps          []int // frame component indices
	td, ta         []uint8
	ss, se, ah, al int
	pos            int // start of the entropy-coded data
}

type decoder struct {
	ctx  context.Context
	data []byte
	opt  Options

	width, height int
	progressive   bool
	frame         bool
	comps         []component
	hmax, vmax    int
	mcux, mcuy    int

	quant     [4][64]int32 // natural order
	quantSet  [4]bool
	dc, ac    [4]huffman
	restart   int
	jfif      bool
	adobe     bool
	transform uint8

	denom int // 1, 2, 4, 8
	n     int // output samples per block side: 8/denom
	k     int // coefficients kept per block
	// slot[z] is where zig-zag coefficient z is kept in a block, or -1.
	slot [64]int8
	// nat[s] is the natural index of the coefficient in slot s.
	nat [64]int

	scans []scanHeader
	// nScans counts the scans; headerOnly keeps none of their headers
	// (DecodeConfig reports the count of any number of scans).
	nScans     int
	headerOnly bool
	// scanDC and scanAC are the current scan's tables, per scan component.
	scanDC, scanAC [4]*huffman
	eobrun         int
	br             bitReader
}

// DecodeConfig reads the headers of a JPEG.
func DecodeConfig(data []byte) (Config, error) {
	return DecodeConfigContext(context.Background(), data)
}

// DecodeConfigContext reads the headers of a JPEG, stopping when ctx is
// done. Every scan is counted, however many, and none is kept: a file of
// millions of scan headers costs their parsing only.
func DecodeConfigContext(ctx context.Context, data []byte) (Config, error) {
	d := &decoder{ctx: ctx, data: data, headerOnly: true, opt: Options{MaxScans: math.MaxInt}.withDefaults()}
	if err := d.structure(); err != nil {
		return Config{}, err
	}
	return Config{Width: d.width, Height: d.height, Components: len(d.comps), Progressive: d.progressive, Scans: d.nScans}, nil
}

// Decode decodes a JPEG held in memory.
func Decode(ctx context.Context, data []byte, o Options) (image.Image, error) {
	d := &decoder{ctx: ctx, data: data, opt: o.withDefaults()}
	if err := d.structure(); err != nil {
		return nil, err
	}
	if len(d.scans) > d.opt.MaxScans {
		return nil, errs.Limit("scans", int64(len(d.scans)), int64(d.opt.MaxScans))
	}
	if err := d.setup(); err != nil {
		return nil, err
	}
	if err := d.decodeScans(); err != nil {
		return nil, err
	}
	return d.output()
}

// segments walks the marker segments from SOI, calling fn for each with
// its marker and payload; for SOS the payload runs to the end of the
// scan's header and fn receives the position of its entropy-coded data.
// It stops at EOI or the end of the data.
func (d *decoder) segments(fn func(marker byte, seg []byte, pos int) error) error {
	data := d.data
	if len(data) < 2 || data[0] != 0xFF || data[1] != 0xD8 {
		return fmt.Errorf("%w: missing SOI marker", ErrFormat)
	}
	p := 2
	for count := 0; ; count++ {
		if count&1023 == 1023 {
			if err := d.ctx.Err(); err != nil {
				return err
			}
		}
		// Skip anything up to the next marker (libjpeg tolerates
		// garbage between segments, and entropy data ends here).
		for p < len(data) && data[p] != 0xFF {
			p++
		}
		for p < len(data) && data[p] == 0xFF {
			p++
		}
		if p >= len(data) {
			return nil // no EOI: tolerated, like libjpeg
		}
		m := data[p]
		p++
		switch {
		case m == 0xD9: // EOI
			return nil
		case m == 0x00, m == 0x01, m >= 0xD0 && m <= 0xD8:
			continue // stray stuffing, TEM, RST or SOI: no payload
		}
		if p+2 > len(data) {
			return fmt.Errorf("%w: truncated segment", ErrFormat)
		}
		n := int(binary.BigEndian.Uint16(data[p:]))
		if n < 2 || p+n > len(data) {
			return fmt.Errorf("%w: segment length %d", ErrFormat, n)
		}
		seg := data[p+2 : p+n]
		p += n
		if err := fn(m, seg, p); err != nil {
			return err
		}
		if m == 0xDA {
			p = skipEntropy(data, p)
		}
	}
}

// skipEntropy returns the position of the first marker at or after p that
// is neither a stuffed zero nor a restart marker.
func skipEntropy(data []byte, p int) int {
	for {
		i := bytes.IndexByte(data[min(p, len(data)):], 0xFF)
		if i < 0 {
			return len(data)
		}
		p += i
		if p+1 >= len(data) {
			return len(data)
		}
		m := data[p+1]
		if m == 0x00 || m == 0xFF || m >= 0xD0 && m <= 0xD7 {
			p += 2
			if m == 0xFF {
				p-- // fill byte: look at the next 0xFF again
			}
			continue
		}
		return p
	}
}

// structure reads the frame header and every scan header, without
// decoding, so that bounds and the plan of which scans matter are known
// before anything is allocated.
func (d *decoder) structure() error {
	err := d.segments(func(m byte, seg []byte, pos int) error {
		switch m {
		case 0xC0, 0xC1, 0xC2:
			if d.frame {
				return fmt.Errorf("%w: second frame header", ErrFormat)
			}
			d.progressive = m == 0xC2
			return d.parseFrame(seg)
		case 0xC3, 0xC5, 0xC6, 0xC7:
			return fmt.Errorf("%w: lossless or hierarchical JPEG (SOF%d)", ErrUnsupported, m-0xC0)
		case 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF:
			return fmt.Errorf("%w: arithmetic-coded JPEG (SOF%d)", ErrUnsupported, m-0xC0)
		case 0xDC:
			return fmt.Errorf("%w: DNL marker", ErrUnsupported)
		case 0xDA:
			if !d.frame {
				return fmt.Errorf("%w: scan before frame header", ErrFormat)
			}
			sh, err := d.parseScan(seg)
			if err != nil {
				return err
			}
			sh.pos = pos
			d.nScans++
			if !d.headerOnly {
				d.scans = append(d.scans, sh)
			}
			if d.nScans > d.opt.MaxScans {
				// Stop counting: the bound is already exceeded and a
				// million-scan file should not cost a million headers.
				return errs.Limit("scans", int64(d.nScans), int64(d.opt.MaxScans))
			}
		case 0xE0:
			if len(seg) >= 5 && string(seg[:5]) == "JFIF\x00" {
				d.jfif = true
			}
		case 0xEE:
			if len(seg) >= 12 && string(seg[:5]) == "Adobe" {
				d.adobe, d.transform = true, seg[11]
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if !d.frame {
		return fmt.Errorf("%w: missing frame header", ErrFormat)
	}
	if d.nScans == 0 {
		return fmt.Errorf("%w: missing scan", ErrFormat)
	}
	return nil
}

func (d *decoder) parseFrame(seg []byte) error {
	if len(seg) < 6 {
		return fmt.Errorf("%w: short frame header", ErrFormat)
	}
	if seg[0] != 8 {
		return fmt.Errorf("%w: %d-bit samples", ErrUnsupported, seg[0])
	}
	d.height = int(binary.BigEndian.Uint16(seg[1:]))
	d.width = int(binary.BigEndian.Uint16(seg[3:]))
	nc := int(seg[5])
	if d.width == 0 || d.height == 0 {
		return fmt.Errorf("%w: image size %dx%d", ErrFormat, d.width, d.height)
	}
	if nc != 1 && nc != 3 && nc != 4 {
		return fmt.Errorf("%w: %d components", ErrUnsupported, nc)
	}
	if len(seg) < 6+3*nc {
		return fmt.Errorf("%w: short frame header", ErrFormat)
	}
	d.comps = make([]component, nc)
	for i := range d.comps {
		c := &d.comps[i]
		b := seg[6+3*i:]
		c.id, c.h, c.v, c.tq = b[0], int(b[1]>>4), int(b[1]&15), b[2]
		if c.h < 1 || c.h > 4 || c.v < 1 || c.v > 4 || c.tq > 3 {
			return fmt.Errorf("%w: component sampling %dx%d, table %d", ErrFormat, c.h, c.v, c.tq)
		}
		for j := range i {
			if d.comps[j].id == c.id {
				return fmt.Errorf("%w: repeated component id %d", ErrFormat, c.id)
			}
		}
		if nc == 1 {
			// A single component is never interleaved: its MCU is one
			// block whatever the header says.
			c.h, c.v = 1, 1
		}
		d.hmax, d.vmax = max(d.hmax, c.h), max(d.vmax, c.v)
	}
	for i := range d.comps {
		c := &d.comps[i]
		if d.hmax%c.h != 0 || d.vmax%c.v != 0 {
			return fmt.Errorf("%w: sampling factors %dx%d under %dx%d", ErrUnsupported, c.h, c.v, d.hmax, d.vmax)
		}
	}
	d.frame = true
	return nil
}

func (d *decoder) parseScan(seg []byte) (scanHeader, error) {
	var sh scanHeader
	if len(seg) < 1 {
		return sh, fmt.Errorf("%w: short scan header", ErrFormat)
	}
	ns := int(seg[0])
	if ns < 1 || ns > len(d.comps) || len(seg) < 4+2*ns {
		return sh, fmt.Errorf("%w: scan of %d components", ErrFormat, ns)
	}
	blocks := 0
	for i := range ns {
		id, t := seg[1+2*i], seg[2+2*i]
		ci := -1
		for j := range d.comps {
			if d.comps[j].id == id {
				ci = j
			}
		}
		if ci < 0 {
			return sh, fmt.Errorf("%w: scan names unknown component %d", ErrFormat, id)
		}
		for _, prev := range sh.comps {
			if prev == ci {
				return sh, fmt.Errorf("%w: scan repeats component %d", ErrFormat, id)
			}
		}
		if t>>4 > 3 || t&15 > 3 {
			return sh, fmt.Errorf("%w: huffman table selector %#x", ErrFormat, t)
		}
		sh.comps = append(sh.comps, ci)
		sh.td, sh.ta = append(sh.td, t>>4), append(sh.ta, t&15)
		blocks += d.comps[ci].h * d.comps[ci].v
	}
	if ns > 1 && blocks > 10 {
		return sh, fmt.Errorf("%w: %d blocks per MCU", ErrFormat, blocks)
	}
	b := seg[1+2*ns:]
	sh.ss, sh.se, sh.ah, sh.al = int(b[0]), int(b[1]), int(b[2]>>4), int(b[2]&15)
	if d.progressive {
		switch {
		case sh.ss == 0 && sh.se != 0, sh.ss > sh.se, sh.se > 63, sh.al > 13, sh.ah > 13:
			return sh, fmt.Errorf("%w: progressive scan %d..%d, Ah %d Al %d", ErrFormat, sh.ss, sh.se, sh.ah, sh.al)
		case sh.ss > 0 && ns != 1:
			return sh, fmt.Errorf("%w: interleaved AC scan", ErrFormat)
		}
	} else {
		// Baseline and extended sequential: the whole spectrum at once.
		sh.ss, sh.se, sh.ah, sh.al = 0, 63, 0, 0
	}
	return sh, nil
}

// setup chooses the scale, plans which scans matter, checks the bounds and
// allocates the planes and coefficient stores.
func (d *decoder) setup() error {
	switch d.opt.Denom {
	case 1, 2, 4, 8:
		d.denom = d.opt.Denom
	default:
		d.denom = ScaleFor(d.width, d.height, d.opt.MinSide, 0)
	}
	d.n = 8 / d.denom
	freqs := keptFreqs(d.n)
	m := len(freqs)
	d.k = m * m
	var at [8]int
	for i := range at {
		at[i] = -1
	}
	for i, f := range freqs {
		at[f] = i
	}
	for z := range 64 {
		nat := unzig[z]
		if r, c := at[nat/8], at[nat%8]; r >= 0 && c >= 0 {
			d.slot[z] = int8(r*m + c)
			d.nat[r*m+c] = nat
		} else {
			d.slot[z] = -1
		}
	}
	sw, sh := ScaledSize(d.width, d.height, d.denom)
	if px := int64(sw) * int64(sh); px > d.opt.MaxPixels {
		return errs.Limit("pixels", px, d.opt.MaxPixels)
	}
	// Sizes in MCUs.
	d.mcux = (d.width + 8*d.hmax - 1) / (8 * d.hmax)
	d.mcuy = (d.height + 8*d.vmax - 1) / (8 * d.vmax)
	if err := d.chooseComponents(); err != nil {
		return err
	}
	var coefBytes, planeBytes int64
	for i := range d.comps {
		c := &d.comps[i]
		c.bw, c.bh = d.mcux*c.h, d.mcuy*c.v
		if !c.needed {
			continue
		}
		blocks := int64(c.bw) * int64(c.bh)
		planeBytes += blocks * int64(d.k)
		if d.progressive {
			coefBytes += blocks * (int64(d.k)*2 + 8)
		}
	}
	if coefBytes > d.opt.MaxCoefBytes {
		return errs.Limit("coefficient bytes", coefBytes, d.opt.MaxCoefBytes)
	}
	// Planes are padded to whole MCUs: at most a few times the output.
	if planeBytes > 4*d.opt.MaxPixels+1<<20 {
		return errs.Limit("pixels", planeBytes/int64(max(1, d.neededCount())), d.opt.MaxPixels)
	}
	for i := range d.comps {
		c := &d.comps[i]
		if !c.needed {
			continue
		}
		c.stride = c.bw * d.n
		c.pix = make([]byte, c.stride*c.bh*d.n)
		if d.progressive {
			blocks := c.bw * c.bh
			c.coef = make([]int16, blocks*d.k)
			c.nz = make([]uint64, blocks)
		}
	}
	if d.progressive {
		d.planScans()
	}
	return nil
}

func (d *decoder) neededCount() int {
	n := 0
	for i := range d.comps {
		if d.comps[i].needed {
			n++
		}
	}
	return n
}

// colour names how the components map to colours.
type colour int

const (
	colourGray colour = iota
	colourYCbCr
	colourRGB
	colourCMYK
	colourYCCK
)

func (d *decoder) colour() colour {
	switch len(d.comps) {
	case 1:
		return colourGray
	case 3:
		if d.isRGB() {
			return colourRGB
		}
		return colourYCbCr
	}
	if d.adobe && d.transform != 0 {
		return colourYCCK
	}
	return colourCMYK
}

// isRGB follows libjpeg and image/jpeg: JFIF files are YCbCr; an Adobe
// marker with transform 0, or components named R, G, B, mean RGB.
func (d *decoder) isRGB() bool {
	if d.jfif {
		return false
	}
	if d.adobe && d.transform == 0 {
		return true
	}
	return d.comps[0].id == 'R' && d.comps[1].id == 'G' && d.comps[2].id == 'B'
}

// chooseComponents marks the components the output uses: with Luma, a
// YCbCr file needs only Y.
func (d *decoder) chooseComponents() error {
	col := d.colour()
	for i := range d.comps {
		d.comps[i].needed = !(d.opt.Luma && col == colourYCbCr && i > 0)
	}
	c0 := d.comps[0]
	switch col {
	case colourYCbCr:
		if d.opt.Luma {
			if c0.h != d.hmax || c0.v != d.vmax {
				return fmt.Errorf("%w: subsampled luma", ErrUnsupported)
			}
			return nil
		}
		if _, ok := d.subsampleRatio(); !ok {
			return fmt.Errorf("%w: YCbCr sampling %dx%d, %dx%d, %dx%d", ErrUnsupported,
				d.comps[0].h, d.comps[0].v, d.comps[1].h, d.comps[1].v, d.comps[2].h, d.comps[2].v)
		}
	}
	return nil
}

// subsampleRatio maps the sampling factors of a YCbCr frame to an
// image.YCbCr layout.
func (d *decoder) subsampleRatio() (image.YCbCrSubsampleRatio, bool) {
	y, cb, cr := d.comps[0], d.comps[1], d.comps[2]
	if cb.h != 1 || cb.v != 1 || cr.h != 1 || cr.v != 1 || y.h != d.hmax || y.v != d.vmax {
		return 0, false
	}
	switch {
	case y.h == 1 && y.v == 1:
		return image.YCbCrSubsampleRatio444, true
	case y.h == 2 && y.v == 1:
		return image.YCbCrSubsampleRatio422, true
	case y.h == 2 && y.v == 2:
		return image.YCbCrSubsampleRatio420, true
	case y.h == 1 && y.v == 2:
		return image.YCbCrSubsampleRatio440, true
	case y.h == 4 && y.v == 1:
		return image.YCbCrSubsampleRatio411, true
	case y.h == 4 && y.v == 2:
		return image.YCbCrSubsampleRatio410, true
	}
	return 0, false
}

// planScans works out which coefficients each component's output depends
// on. A kept coefficient needs every scan that codes it; an AC refinement
// scan also needs the history (which coefficients are already nonzero) of
// every coefficient in its band, so those become needed too. Scans that
// code no needed coefficient are skipped without decoding: at 1/8 scale
// only the DC scans of the needed components are read.
func (d *decoder) planScans() {
	for i := range d.comps {
		c := &d.comps[i]
		if !c.needed {
			continue
		}
		for z := range 64 {
			if d.slot[z] >= 0 {
				c.need |= 1 << z
			}
		}
	}
	for changed := true; changed; {
		changed = false
		for _, s := range d.scans {
			if s.ah == 0 || s.ss == 0 {
				continue
			}
			c := &d.comps[s.comps[0]]
			band := bandMask(s.ss, s.se)
			if c.needed && c.need&band != 0 && c.need&band != band {
				c.need |= band
				changed = true
			}
		}
	}
}

func bandMask(ss, se int) uint64 {
	m := ^uint64(0) >> (63 - se)
	return m &^ (1<<ss - 1)
}

// scanNeeded reports whether a scan codes anything the output uses.
func (d *decoder) scanNeeded(s scanHeader) bool {
	band := bandMask(s.ss, s.se)
	for _, ci := range s.comps {
		c := &d.comps[ci]
		if c.needed && c.need&band != 0 {
			return true
		}
	}
	return false
}

// unzig maps zig-zag order to natural (row-major) order.
var unzig = [64]int{
	0, 1, 8, 16, 9, 2, 3, 10,
	17, 24, 32, 25, 18, 11, 4, 5,
	12, 19, 26, 33, 40, 48, 41, 34,
	27, 20, 13, 6, 7, 14, 21, 28,
	35, 42, 49, 56, 57, 50, 43, 36,
	29, 22, 15, 23, 30, 37, 44, 51,
	58, 59, 52, 45, 38, 31, 39, 46,
	53, 60, 61, 54, 47, 55, 62, 63,
}
