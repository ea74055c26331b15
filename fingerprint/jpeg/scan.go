package jpeg

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// decodeScans walks the file again, applying tables and restart intervals
// in order and decoding every scan the output needs.
func (d *decoder) decodeScans() error {
	idx := 0
	err := d.segments(func(m byte, seg []byte, pos int) error {
		switch m {
		case 0xDB:
			return d.parseDQT(seg)
		case 0xC4:
			return d.parseDHT(seg)
		case 0xDD:
			if len(seg) != 2 {
				return fmt.Errorf("%w: restart interval segment of %d bytes", ErrFormat, len(seg))
			}
			d.restart = int(binary.BigEndian.Uint16(seg))
		case 0xDA:
			if idx >= len(d.scans) {
				return nil
			}
			s := d.scans[idx]
			idx++
			if err := d.ctx.Err(); err != nil {
				return err
			}
			return d.decodeScan(s)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if d.progressive {
		return d.reconstruct()
	}
	return nil
}

func (d *decoder) parseDQT(seg []byte) error {
	for len(seg) > 0 {
		pq, tq := seg[0]>>4, seg[0]&15
		if tq > 3 || pq > 1 {
			return fmt.Errorf("%w: quantization table %#x", ErrFormat, seg[0])
		}
		seg = seg[1:]
		q := &d.quant[tq]
		if pq == 0 {
			if len(seg) < 64 {
				return fmt.Errorf("%w: short quantization table", ErrFormat)
			}
			for z := range 64 {
				q[unzig[z]] = int32(seg[z])
			}
			seg = seg[64:]
		} else {
			if len(seg) < 128 {
				return fmt.Errorf("%w: short quantization table", ErrFormat)
			}
			for z := range 64 {
				q[unzig[z]] = int32(binary.BigEndian.Uint16(seg[2*z:]))
			}
			seg = seg[128:]
		}
		d.quantSet[tq] = true
	}
	return nil
}

func (d *decoder) parseDHT(seg []byte) error {
	for len(seg) > 0 {
		tc, th := seg[0]>>4, seg[0]&15
		if tc > 1 || th > 3 {
			return fmt.Errorf("%w: huffman table %#x", ErrFormat, seg[0])
		}
		h := &d.dc[th]
		if tc == 1 {
			h = &d.ac[th]
		}
		n, err := h.parse(seg[1:])
		if err != nil {
			return err
		}
		seg = seg[1+n:]
	}
	return nil
}

// table returns a built Huffman table, or an error if it was never defined.
func table(h *huffman, kind string, id uint8) (*huffman, error) {
	if !h.defined {
		return nil, fmt.Errorf("%w: scan uses undefined %s huffman table %d", ErrFormat, kind, id)
	}
	if err := h.build(); err != nil {
		return nil, err
	}
	return h, nil
}

// decodeScan decodes one scan, or skips it when the output does not
// depend on it.
func (d *decoder) decodeScan(s scanHeader) error {
	if d.progressive {
		if !d.scanNeeded(s) {
			return nil
		}
	} else {
		needed := false
		for _, ci := range s.comps {
			needed = needed || d.comps[ci].needed
		}
		if !needed {
			return nil
		}
	}
	var dcs, acs [4]*huffman
	for i, ci := range s.comps {
		var err error
		if s.ss == 0 && s.ah == 0 {
			if dcs[i], err = table(&d.dc[s.td[i]], "DC", s.td[i]); err != nil {
				return err
			}
		}
		if s.se > 0 {
			if acs[i], err = table(&d.ac[s.ta[i]], "AC", s.ta[i]); err != nil {
				return err
			}
		}
		if !d.progressive && d.comps[ci].needed && !d.quantSet[d.comps[ci].tq] {
			return fmt.Errorf("%w: undefined quantization table %d", ErrFormat, d.comps[ci].tq)
		}
		d.comps[ci].pred = 0
	}
	d.br.reset(d.data, s.pos)
	d.eobrun = 0

	var blk [64]int32
	block := func(ci, bx, by int) error {
		c := &d.comps[ci]
		i := indexOf(s.comps, ci)
		if !d.progressive {
			return d.baselineBlock(c, dcs[i], acs[i], bx, by, &blk)
		}
		bi := by*c.bw + bx
		switch {
		case s.ss == 0 && s.ah == 0:
			return d.dcFirst(c, dcs[i], bi, s.al)
		case s.ss == 0:
			if d.br.bit() && c.needed {
				c.coef[bi*d.k] |= 1 << s.al
			}
			return nil
		case s.ah == 0:
			return d.acFirst(c, acs[i], bi, s.ss, s.se, s.al)
		default:
			return d.acRefine(c, acs[i], bi, s.ss, s.se, s.al)
		}
	}

	mcu := 0
	step := func() error {
		if d.restart > 0 && mcu > 0 && mcu%d.restart == 0 {
			if err := d.nextRestart(); err != nil {
				return err
			}
		}
		mcu++
		return nil
	}
	d.scanDC, d.scanAC = dcs, acs
	err := d.scanBlocks(s, block, step)
	if err == errScanEnd {
		return nil
	}
	return err
}

// scanBlocks visits the blocks of a scan in order.
func (d *decoder) scanBlocks(s scanHeader, block func(ci, bx, by int) error, step func() error) error {
	if !d.progressive && len(s.comps) > 1 && d.restart == 0 {
		// The common case, without closures in the inner loop.
		var blk [64]int32
		for my := range d.mcuy {
			if err := d.rowDone(); err != nil {
				return err
			}
			for mx := range d.mcux {
				for i, ci := range s.comps {
					c := &d.comps[ci]
					for v := range c.v {
						for h := range c.h {
							if err := d.baselineBlock(c, d.scanDC[i], d.scanAC[i], mx*c.h+h, my*c.v+v, &blk); err != nil {
								return err
							}
						}
					}
				}
			}
		}
		return d.rowDone()
	}
	if len(s.comps) == 1 {
		// Non-interleaved: the component's own block grid, unpadded.
		ci := s.comps[0]
		c := &d.comps[ci]
		cw := (d.width*c.h + d.hmax - 1) / d.hmax
		ch := (d.height*c.v + d.vmax - 1) / d.vmax
		bw, bh := (cw+7)/8, (ch+7)/8
		for by := range bh {
			if err := d.rowDone(); err != nil {
				return err
			}
			for bx := range bw {
				if err := step(); err != nil {
					return err
				}
				if err := block(ci, bx, by); err != nil {
					return err
				}
			}
		}
	} else {
		for my := range d.mcuy {
			if err := d.rowDone(); err != nil {
				return err
			}
			for mx := range d.mcux {
				if err := step(); err != nil {
					return err
				}
				for _, ci := range s.comps {
					c := &d.comps[ci]
					for v := range c.v {
						for h := range c.h {
							if err := block(ci, mx*c.h+h, my*c.v+v); err != nil {
								return err
							}
						}
					}
				}
			}
		}
	}
	if err := d.rowDone(); err != nil && err != errScanEnd {
		return err
	}
	return nil
}

func indexOf(s []int, v int) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return 0
}

// errScanEnd stops a scan whose data ran out.
var errScanEnd = errors.New("scan data exhausted")

// rowDone runs between rows of blocks: it honours cancellation, reports
// data that ended in the middle of a scan and, like libjpeg, leaves the
// rest of a scan that ran into a marker undecoded, so that the work of a
// decode stays proportional to its data rather than to the size its
// header claims.
func (d *decoder) rowDone() error {
	if err := d.ctx.Err(); err != nil {
		return err
	}
	if d.br.overread() {
		if d.br.eof {
			return fmt.Errorf("%w: truncated scan", ErrFormat)
		}
		return errScanEnd
	}
	return nil
}

// nextRestart consumes the restart marker that ends an interval.
func (d *decoder) nextRestart() error {
	b := &d.br
	p := b.pos
	if !b.marker {
		p = skipEntropyBefore(b.data, p)
	}
	if p+1 < len(b.data) && b.data[p] == 0xFF && b.data[p+1] >= 0xD0 && b.data[p+1] <= 0xD7 {
		b.reset(b.data, p+2)
		for i := range d.comps {
			d.comps[i].pred = 0
		}
		d.eobrun = 0
		return nil
	}
	if p >= len(b.data) {
		return fmt.Errorf("%w: truncated scan", ErrFormat)
	}
	return fmt.Errorf("%w: missing restart marker", ErrFormat)
}

// skipEntropyBefore returns the position of the next marker (restart
// markers included) at or after p.
func skipEntropyBefore(data []byte, p int) int {
	for p+1 < len(data) {
		if data[p] == 0xFF && data[p+1] != 0x00 && data[p+1] != 0xFF {
			return p
		}
		p++
	}
	return len(data)
}

func (d *decoder) readDC(h *huffman) (int32, error) {
	t, err := d.br.decode(h)
	if err != nil {
		return 0, err
	}
	if t > 15 {
		return 0, fmt.Errorf("%w: DC magnitude class %d", ErrFormat, t)
	}
	return d.br.receiveExtend(int(t)), nil
}

// baselineBlock decodes one block of a sequential scan and, when the
// output uses the component, transforms it straight into the plane. It is
// the decoder's inner loop: the Huffman lookup and the magnitude bits are
// read inline.
func (d *decoder) baselineBlock(c *component, dc, ac *huffman, bx, by int, blk *[64]int32) error {
	diff, err := d.readDC(dc)
	if err != nil {
		return err
	}
	c.pred += diff
	b := &d.br
	needed := c.needed
	var q *[64]int32
	if needed {
		q = &d.quant[c.tq]
		clear(blk[:d.k])
		blk[0] = c.pred * q[0]
	}
	// A transform to one sample a block (1/8) reads the DC term alone.
	acNeeded := needed && d.k > 1
	slot := &d.slot
	for z := 1; z < 64; z++ {
		// 32 bits cover a code (16) and its magnitude (15).
		if b.n < 32 {
			b.fill()
		}
		if f := ac.fast[b.acc>>(64-fastBits)]; f != 0 {
			n := int(f & 0xFF)
			b.acc <<= n
			b.n -= n
			z += int(f>>8) & 15
			if z > 63 && needed {
				return fmt.Errorf("%w: too many coefficients", ErrFormat)
			}
			if !acNeeded {
				continue
			}
			if sl := slot[z]; sl >= 0 {
				blk[sl] = f >> 16 * q[unzig[z]]
			}
			continue
		}
		var rs uint8
		if v := ac.lut[b.acc>>(64-lutBits)]; v != 0 {
			l := int(v >> 8)
			b.acc <<= l
			b.n -= l
			rs = uint8(v)
		} else if rs, err = b.decode(ac); err != nil {
			return err
		}
		r, sz := int(rs>>4), int(rs&15)
		if sz == 0 {
			if r != 15 {
				break
			}
			z += 15
			continue
		}
		z += r
		bits := int32(b.acc >> (64 - sz))
		b.acc <<= sz
		b.n -= sz
		if z > 63 && needed {
			return fmt.Errorf("%w: too many coefficients", ErrFormat)
		}
		if !acNeeded {
			continue
		}
		if sl := slot[z]; sl >= 0 {
			if bits < 1<<(sz-1) {
				bits += -1<<sz + 1
			}
			blk[sl] = bits * q[unzig[z]]
		}
	}
	if needed {
		d.idct(blk, c.pix[by*d.n*c.stride+bx*d.n:], c.stride)
	}
	return nil
}

func (d *decoder) dcFirst(c *component, h *huffman, bi, al int) error {
	diff, err := d.readDC(h)
	if err != nil {
		return err
	}
	c.pred += diff
	if c.needed {
		c.coef[bi*d.k] = int16(c.pred << al)
	}
	return nil
}

func (d *decoder) acFirst(c *component, h *huffman, bi, ss, se, al int) error {
	if d.eobrun > 0 {
		d.eobrun--
		return nil
	}
	b := &d.br
	base := bi * d.k
	for z := ss; z <= se; z++ {
		rs, err := b.decode(h)
		if err != nil {
			return err
		}
		r, s := int(rs>>4), int(rs&15)
		if s == 0 {
			if r < 15 {
				d.eobrun = 1<<r - 1
				if r > 0 {
					d.eobrun += int(b.bits(r))
				}
				break
			}
			z += 15
			continue
		}
		z += r
		if z > se {
			return fmt.Errorf("%w: too many coefficients", ErrFormat)
		}
		v := b.receiveExtend(s) << al
		c.nz[bi] |= 1 << z
		if sl := d.slot[z]; sl >= 0 {
			c.coef[base+int(sl)] = int16(v)
		}
	}
	return nil
}

func (d *decoder) acRefine(c *component, h *huffman, bi, ss, se, al int) error {
	b := &d.br
	p1, m1 := int16(1)<<al, int16(-1)<<al
	base := bi * d.k
	nz := c.nz[bi]
	refine := func(z int) {
		if !b.bit() {
			return
		}
		if sl := d.slot[z]; sl >= 0 {
			cv := &c.coef[base+int(sl)]
			if *cv&p1 == 0 {
				if *cv >= 0 {
					*cv += p1
				} else {
					*cv += m1
				}
			}
		}
	}
	z := ss
	if d.eobrun == 0 {
		for ; z <= se; z++ {
			rs, err := b.decode(h)
			if err != nil {
				return err
			}
			r, s := int(rs>>4), int(rs&15)
			var v int16
			if s != 0 {
				if b.bit() {
					v = p1
				} else {
					v = m1
				}
			} else if r != 15 {
				d.eobrun = 1 << r
				if r > 0 {
					d.eobrun += int(b.bits(r))
				}
				break
			}
			for z <= se {
				if nz&(1<<z) != 0 {
					refine(z)
				} else {
					if r == 0 {
						break
					}
					r--
				}
				z++
			}
			if v != 0 && z <= se {
				nz |= 1 << z
				if sl := d.slot[z]; sl >= 0 {
					c.coef[base+int(sl)] = v
				}
			}
		}
	}
	if d.eobrun > 0 {
		for ; z <= se; z++ {
			if nz&(1<<z) != 0 {
				refine(z)
			}
		}
		d.eobrun--
	}
	c.nz[bi] = nz
	return nil
}

// reconstruct dequantizes and transforms the stored coefficients of a
// progressive file.
func (d *decoder) reconstruct() error {
	nat := &d.nat
	var blk [64]int32
	for ci := range d.comps {
		c := &d.comps[ci]
		if !c.needed {
			continue
		}
		if !d.quantSet[c.tq] {
			return fmt.Errorf("%w: undefined quantization table %d", ErrFormat, c.tq)
		}
		q := &d.quant[c.tq]
		for by := range c.bh {
			if err := d.ctx.Err(); err != nil {
				return err
			}
			for bx := range c.bw {
				coef := c.coef[(by*c.bw+bx)*d.k:][:d.k]
				for i, v := range coef {
					blk[i] = int32(v) * q[nat[i]]
				}
				d.idct(&blk, c.pix[by*d.n*c.stride+bx*d.n:], c.stride)
			}
		}
	}
	return nil
}
