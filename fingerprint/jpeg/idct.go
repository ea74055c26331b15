package jpeg

import "math"

// The inverse transforms take the dequantized coefficients a block's output
// at n samples per side needs (row-major, see keptFreqs) and write n x n
// level-shifted, clamped samples.

func (d *decoder) idct(blk *[64]int32, dst []byte, stride int) {
	switch d.n {
	case 8:
		idct8(blk, dst, stride)
	case 4:
		idctHalf(blk, dst, stride)
	case 2:
		idctQuarter(blk, dst, stride)
	default:
		dst[0] = clamp8((blk[0]+4)>>3 + 128)
	}
}

func clamp8(v int32) byte {
	if uint32(v) > 255 {
		if v < 0 {
			return 0
		}
		return 255
	}
	return byte(v)
}

// Fixed-point constants of the Loeffler-Ligtenberg-Moschytz 8-point
// transform (13 fractional bits), as used by the JPEG reference decoder.
const (
	constBits = 13
	pass1Bits = 2

	fix0298631336 = 2446
	fix0390180644 = 3196
	fix0541196100 = 4433
	fix0765366865 = 6270
	fix0899976223 = 7373
	fix1175875602 = 9633
	fix1501321110 = 12299
	fix1847759065 = 15137
	fix1961570560 = 16069
	fix2053119869 = 16819
	fix2562915447 = 20995
	fix3072711026 = 25172
)

// idct8 is the full-size separable integer transform: columns first into
// a workspace scaled by 2^pass1Bits, then rows.
func idct8(blk *[64]int32, dst []byte, stride int) {
	var ws [64]int32
	for c := range 8 {
		in := blk[c:]
		if in[8] == 0 && in[16] == 0 && in[24] == 0 && in[32] == 0 && in[40] == 0 && in[48] == 0 && in[56] == 0 {
			dc := in[0] << pass1Bits
			for r := range 8 {
				ws[r*8+c] = dc
			}
			continue
		}
		o0, o1, o2, o3, o4, o5, o6, o7 := llm(in[0], in[8], in[16], in[24], in[32], in[40], in[48], in[56], constBits-pass1Bits)
		ws[c], ws[8+c], ws[16+c], ws[24+c] = o0, o1, o2, o3
		ws[32+c], ws[40+c], ws[48+c], ws[56+c] = o4, o5, o6, o7
	}
	for r := range 8 {
		w := ws[r*8 : r*8+8]
		out := dst[r*stride : r*stride+8]
		o0, o1, o2, o3, o4, o5, o6, o7 := llm(w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7], constBits+pass1Bits+3)
		out[0], out[1], out[2], out[3] = clamp8(o0+128), clamp8(o1+128), clamp8(o2+128), clamp8(o3+128)
		out[4], out[5], out[6], out[7] = clamp8(o4+128), clamp8(o5+128), clamp8(o6+128), clamp8(o7+128)
	}
}

// llm is one 8-point pass: inputs in frequency order, outputs descaled by
// 2^shift with rounding.
func llm(i0, i1, i2, i3, i4, i5, i6, i7 int32, shift uint) (o0, o1, o2, o3, o4, o5, o6, o7 int32) {
	// Even part.
	z1 := (i2 + i6) * fix0541196100
	t2 := z1 - i6*fix1847759065
	t3 := z1 + i2*fix0765366865
	t0 := (i0 + i4) << constBits
	t1 := (i0 - i4) << constBits
	t10, t13 := t0+t3, t0-t3
	t11, t12 := t1+t2, t1-t2
	// Odd part.
	a0, a1, a2, a3 := i7, i5, i3, i1
	z1 = a0 + a3
	z2 := a1 + a2
	z3 := a0 + a2
	z4 := a1 + a3
	z5 := (z3 + z4) * fix1175875602
	a0 *= fix0298631336
	a1 *= fix2053119869
	a2 *= fix3072711026
	a3 *= fix1501321110
	z1 *= -fix0899976223
	z2 *= -fix2562915447
	z3 = z3*-fix1961570560 + z5
	z4 = z4*-fix0390180644 + z5
	a0 += z1 + z3
	a1 += z2 + z4
	a2 += z2 + z3
	a3 += z1 + z4
	r := int32(1) << (shift - 1)
	o0 = (t10 + a3 + r) >> shift
	o7 = (t10 - a3 + r) >> shift
	o1 = (t11 + a2 + r) >> shift
	o6 = (t11 - a2 + r) >> shift
	o2 = (t12 + a1 + r) >> shift
	o5 = (t12 - a1 + r) >> shift
	o3 = (t13 + a0 + r) >> shift
	o4 = (t13 - a0 + r) >> shift
	return
}

// reducedBits is the fixed-point precision of the reduced transforms.
const reducedBits = 12

// reduced is the transform to n samples per block side (n = 4 or 2). Each
// output sample is the exact mean of the denom x denom full-size samples
// it replaces (before rounding), which is what libjpeg's reduced
// transforms compute: averaging the 8-point basis over a group of
// samples cancels some frequencies exactly (4 for n = 4; 2, 4 and 6 for
// n = 2), and only the others are kept and read.
type reduced struct {
	n     int
	freqs []int     // the frequencies that contribute, ascending
	t     [64]int32 // t[x*m+i]: weight of frequency freqs[i] at output x
}

func newReduced(n int) *reduced {
	denom := 8 / n
	var full [8][8]float64 // [x][u]
	for x := range n {
		for u := range 8 {
			c := 1.0
			if u > 0 {
				c = math.Sqrt2
			}
			var s float64
			for j := range denom {
				s += math.Cos(float64((2*(x*denom+j)+1)*u) * math.Pi / 16)
			}
			full[x][u] = c * s / float64(denom) / math.Sqrt(8)
		}
	}
	r := &reduced{n: n}
	for u := range 8 {
		for x := range n {
			if math.Abs(full[x][u]) > 1e-9 {
				r.freqs = append(r.freqs, u)
				break
			}
		}
	}
	m := len(r.freqs)
	for x := range n {
		for i, u := range r.freqs {
			r.t[x*m+i] = int32(math.Round(full[x][u] * (1 << reducedBits)))
		}
	}
	return r
}

var (
	reduced4 = newReduced(4)
	reduced2 = newReduced(2)
)

// keptFreqs returns the frequencies (per axis) the transform to n samples
// per side reads.
func keptFreqs(n int) []int {
	switch n {
	case 4:
		return reduced4.freqs
	case 2:
		return reduced2.freqs
	case 1:
		return []int{0}
	}
	return []int{0, 1, 2, 3, 4, 5, 6, 7}
}

// flat fills the n x n output with the block's mean when its k kept
// coefficients have no AC energy (most blocks of smooth areas), and
// reports whether it did.
func flat(blk *[64]int32, k int, dst []byte, stride, n int) bool {
	for _, v := range blk[1:k] {
		if v != 0 {
			return false
		}
	}
	v := clamp8((blk[0]+4)>>3 + 128)
	for y := range n {
		row := dst[y*stride : y*stride+n]
		for x := range row {
			row[x] = v
		}
	}
	return true
}

// idctQuarter is the transform to 2x2 samples (reduced2: frequencies 0,
// 1, 3, 5 and 7 kept, 5x5 coefficients). The second sample of an axis
// weighs frequency 0 as the first and the odd ones with the sign changed
// (sample 7-j of the 8-point basis is (-1)^u times sample j), so each
// axis is an even term plus or minus an odd one: the same integer sums as
// the general form (reducedTransform in the tests), in half the products.
func idctQuarter(blk *[64]int32, dst []byte, stride int) {
	const m = 5
	if flat(blk, m*m, dst, stride, 2) {
		return
	}
	t := &reduced2.t
	k0, k1, k3, k5, k7 := t[0], t[1], t[2], t[3], t[4]
	const mid = reducedBits - 3
	const r1 = 1 << (reducedBits - mid - 1)
	// Columns: ws0[i] and ws1[i] are the two outputs of column i.
	var ws0, ws1 [m]int32
	b := blk[:m*m]
	for i := range m {
		e := k0 * b[i]
		o := k1*b[m+i] + k3*b[2*m+i] + k5*b[3*m+i] + k7*b[4*m+i]
		ws0[i] = (e + o + r1) >> (reducedBits - mid)
		ws1[i] = (e - o + r1) >> (reducedBits - mid)
	}
	const shift = reducedBits + mid
	const r2 = 1 << (shift - 1)
	for y, w := range [2]*[m]int32{&ws0, &ws1} {
		e := k0 * w[0]
		o := k1*w[1] + k3*w[2] + k5*w[3] + k7*w[4]
		out := dst[y*stride : y*stride+2]
		out[0] = clamp8((e+o+r2)>>shift + 128)
		out[1] = clamp8((e-o+r2)>>shift + 128)
	}
}

// Constants of idctHalf (12 fractional bits): k(u) = c(u) cos(u pi/16) /
// sqrt(8) folds the exact 2x2 mean into frequency u, and cos(v pi/8) are
// the 4-point transform's.
var (
	halfK  = halfConsts()
	halfC1 = int64(math.Round(math.Cos(math.Pi/8) * (1 << reducedBits)))
	halfC2 = int64(math.Round(math.Cos(2*math.Pi/8) * (1 << reducedBits)))
	halfC3 = int64(math.Round(math.Cos(3*math.Pi/8) * (1 << reducedBits)))
)

func halfConsts() (k [8]int64) {
	for u := range 8 {
		c := 1.0
		if u > 0 {
			c = math.Sqrt2
		}
		k[u] = int64(math.Round(c * math.Cos(float64(u)*math.Pi/16) / math.Sqrt(8) * (1 << reducedBits)))
	}
	return k
}

// half is one axis of idctHalf: the seven kept frequencies (0, 1, 2, 3,
// 5, 6, 7; 4 cancels) at stride st, folded onto a 4-point transform. The
// mean of samples 2x and 2x+1 of an 8-point transform is
// sum_u k(u) F(u) cos((2x+1) u pi/8), and frequencies 5, 6 and 7 are 3, 2
// and 1 with the sign changed. Outputs carry 2*reducedBits fractional
// bits.
func half(i0, i1, i2, i3, i5, i6, i7 int64) (o0, o1, o2, o3 int64) {
	g0 := halfK[0] * i0
	g1 := halfK[1]*i1 - halfK[7]*i7
	g2 := halfK[2]*i2 - halfK[6]*i6
	g3 := halfK[3]*i3 - halfK[5]*i5
	a := g0 << reducedBits
	b := g2 * halfC2
	e0, e1 := a+b, a-b
	d0 := g1*halfC1 + g3*halfC3
	d1 := g1*halfC3 - g3*halfC1
	return e0 + d0, e1 + d1, e1 - d1, e0 - d0
}

// idctHalf is the transform to 4x4 samples, each the exact mean of the
// 2x2 full-size samples it replaces, as libjpeg's 1/2 scaling computes.
// A column with no AC coefficient (most columns of a photograph's block)
// is its DC term times k(0), which is what half computes for it exactly.
func idctHalf(blk *[64]int32, dst []byte, stride int) {
	const m = 7
	if flat(blk, m*m, dst, stride, 4) {
		return
	}
	b := blk[:m*m]
	// Columns, kept at reducedBits fractional bits.
	var ws [4 * m]int64
	const r1 = 1 << (reducedBits - 1)
	for i := range m {
		if b[m+i]|b[2*m+i]|b[3*m+i]|b[4*m+i]|b[5*m+i]|b[6*m+i] == 0 {
			v := halfK[0] * int64(b[i])
			ws[i], ws[m+i], ws[2*m+i], ws[3*m+i] = v, v, v, v
			continue
		}
		o0, o1, o2, o3 := half(int64(b[i]), int64(b[m+i]), int64(b[2*m+i]), int64(b[3*m+i]),
			int64(b[4*m+i]), int64(b[5*m+i]), int64(b[6*m+i]))
		ws[i], ws[m+i], ws[2*m+i], ws[3*m+i] = (o0+r1)>>reducedBits, (o1+r1)>>reducedBits, (o2+r1)>>reducedBits, (o3+r1)>>reducedBits
	}
	const shift = 3 * reducedBits
	const r2 = 1 << (shift - 1)
	for y := range 4 {
		w := ws[y*m : y*m+m]
		o0, o1, o2, o3 := half(w[0], w[1], w[2], w[3], w[4], w[5], w[6])
		out := dst[y*stride : y*stride+4]
		out[0] = clamp8(int32((o0+r2)>>shift) + 128)
		out[1] = clamp8(int32((o1+r2)>>shift) + 128)
		out[2] = clamp8(int32((o2+r2)>>shift) + 128)
		out[3] = clamp8(int32((o3+r2)>>shift) + 128)
	}
}
