package feature

import (
	"encoding/binary"
	"math/bits"
)

// circle is the Bresenham circle of radius 3 that FAST tests, in order
// around the centre.
var circle = [16][2]int{
	{0, -3}, {1, -3}, {2, -2}, {3, -1}, {3, 0}, {3, 1}, {2, 2}, {1, 3},
	{0, 3}, {-1, 3}, {-2, 2}, {-3, 1}, {-3, 0}, {-3, -1}, {-2, -2}, {-1, -3},
}

// corner is a FAST corner on one pyramid level.
type corner struct {
	x, y  int
	score float32 // FAST score, then the Harris response
}

// hasArc9 reports whether the 16-bit circular mask has 9 contiguous set bits.
func hasArc9(m uint32) bool {
	m |= m << 16
	x := m
	for range 8 {
		x &= x >> 1
	}
	return x != 0
}

// fastCorners finds FAST-9 corners with threshold t at least border pixels
// from every edge, keeping those that are the best in their 3x3
// neighbourhood. It returns at most limit corners (the strongest by FAST
// score) so that a hostile, busy image costs a bounded amount. Corners are
// listed in scan order before the limit is applied.
func fastCorners(g *Gray, t int, border int, limit int) []corner {
	w, h := g.W, g.H
	if w < 2*border+1 || h < 2*border+1 {
		return nil
	}
	var off [16]int
	for i, c := range circle {
		off[i] = c[1]*w + c[0]
	}
	// Scores of three rows are live at a time: a row's corners are
	// suppressed once the row below it is scored. Rows outside the band
	// score 0, as do the border columns, which are never written.
	var rows [3][]uint16
	for i := range rows {
		rows[i] = make([]uint16, w)
	}
	// The first test compares 16-bit lanes, which holds for thresholds
	// 0..255 (any other passes every pixel or none, tested one by one).
	swar := t >= 0 && t <= 255
	kk := uint64(0x7fff-t) * 0x0001000100010001
	var cand, prev []int32 // columns of the current and previous row's candidates
	var out []corner
	pix := g.Pix
	x0, x1 := border, w-border
	for y := border; y <= h-border; y++ {
		cur := rows[y%3]
		clear(cur)
		cand = cand[:0]
		if y < h-border {
			base := y * w
			// First, eight pixels at a time and without branches, the
			// pixels whose circle pixel 0 or 8 differs from them by more
			// than t (an arc of 9 of the 16 contains pixel 0 or 8); most
			// pixels are not.
			row, up, down := pix[base:base+w], pix[base-3*w:base-2*w], pix[base+3*w:base+4*w]
			for xg := x0; xg < x1; xg += 8 {
				var m uint64 // bit 16*(j/2) + j%2 set: pixel xg+j passes
				if swar && xg+8 <= x1 {
					m = differs8(row[xg:xg+8], up[xg:xg+8], down[xg:xg+8], kk)
				} else {
					for j := 0; j < 8 && xg+j < x1; j++ {
						p := int(row[xg+j])
						dv0, dv8 := int(up[xg+j])-p, int(down[xg+j])-p
						if max(dv0, dv8, -dv0, -dv8) > t {
							m |= 1 << (16*(j>>1) + j&1)
						}
					}
				}
				for ; m != 0; m &= m - 1 {
					b := bits.TrailingZeros64(m)
					x := xg + 2*(b>>4) + b&1
					i := base + x
					p := int(pix[i])
					hi, lo := p+t, p-t
					v0, v8 := int(pix[i+off[0]]), int(pix[i+off[8]])
					b08, d08 := max(v0, v8), min(v0, v8)
					v4, v12 := int(pix[i+off[4]]), int(pix[i+off[12]])
					// ... and pixel 4 or 12.
					if min(b08, max(v4, v12)) <= hi && max(d08, min(v4, v12)) >= lo {
						continue
					}
					if s := arcScore(pix, i, &off, hi, lo); s > 0 {
						cur[x] = uint16(min(s, 65535))
						cand = append(cand, int32(x))
					}
				}
			}
		}
		// Suppress the previous row's candidates against rows y-2..y.
		if y > border {
			up, mid, down := rows[(y+1)%3], rows[(y+2)%3], cur
			py := y - 1
			for _, px := range prev {
				x := int(px)
				s := mid[x]
				if s < mid[x-1] || s < mid[x+1] || s < up[x] || s < down[x] ||
					s < up[x-1] || s < up[x+1] || s < down[x-1] || s < down[x+1] {
					continue
				}
				// Equal neighbours: keep the first in scan order only.
				if s == mid[x-1] || s == up[x] || s == up[x-1] || s == up[x+1] {
					continue
				}
				out = append(out, corner{x: x, y: py, score: float32(s)})
			}
		}
		cand, prev = prev, cand
	}
	if len(out) > limit {
		topK(out, limit)
		out = out[:limit]
	}
	return out
}

// differs8 reports, for the 8 pixels of row, whether the pixel above
// (up) or below (down) differs from them by more than t, where kk holds
// 0x7fff-t in each 16-bit lane: bit 16*(j/2) + j%2 is set for pixel j. The
// even and odd pixels go to separate words of four 16-bit lanes; there
// (u + 0x7fff - t) - p reaches 0x8000 exactly when u > p + t, and no lane
// carries or borrows, because every lane stays within 0..0xffff.
func differs8(row, up, down []uint8, kk uint64) uint64 {
	const lanes = 0x00ff00ff00ff00ff
	const top = 0x8000800080008000
	le := binary.LittleEndian
	p, u, d := le.Uint64(row), le.Uint64(up), le.Uint64(down)
	pe, ue, de := p&lanes, u&lanes, d&lanes
	po, uo, do := p>>8&lanes, u>>8&lanes, d>>8&lanes
	e := (ue + kk - pe) | (pe + kk - ue) | (de + kk - pe) | (pe + kk - de)
	o := (uo + kk - po) | (po + kk - uo) | (do + kk - po) | (po + kk - do)
	return (e&top)>>15 | (o&top)>>14
}

// arcScore is 1 plus the summed excess over the threshold of the pixel
// at i's circle when 9 contiguous circle pixels are all brighter than hi
// or all darker than lo, and 0 otherwise.
func arcScore(pix []uint8, i int, off *[16]int, hi, lo int) int {
	var v [16]int
	var mb, md uint32
	for k := range 16 {
		v[k] = int(pix[i+off[k]])
		// Branch-free: the sign of hi-v says v > hi, of v-lo says v < lo.
		mb |= uint32((hi-v[k])>>63&1) << k
		md |= uint32((v[k]-lo)>>63&1) << k
	}
	s := 1
	switch {
	case bits.OnesCount32(mb) >= 9 && hasArc9(mb):
		for k := range 16 {
			s += (v[k] - hi) & -int(mb>>k&1)
		}
	case bits.OnesCount32(md) >= 9 && hasArc9(md):
		for k := range 16 {
			s += (lo - v[k]) & -int(md>>k&1)
		}
	default:
		return 0
	}
	return s
}

// topK moves the k highest-scoring corners to the front (unordered).
func topK(c []corner, k int) {
	lo, hi := 0, len(c)-1
	for lo < hi {
		p := c[(lo+hi)/2].score
		i, j := lo, hi
		for i <= j {
			for c[i].score > p {
				i++
			}
			for c[j].score < p {
				j--
			}
			if i <= j {
				c[i], c[j] = c[j], c[i]
				i++
				j--
			}
		}
		switch {
		case k-1 <= j:
			hi = j
		case k-1 >= i:
			lo = i
		default:
			return
		}
	}
}

// harris replaces each corner's score with the Harris response of a 7x7
// window of Sobel gradients, which ranks corners by how well they are
// localised in both directions (edges score low).
func harris(g *Gray, cs []corner) {
	w := g.W
	pix := g.Pix
	const k = 0.04
	for ci := range cs {
		c := &cs[ci]
		// The sums are exact in integers (each term is at most 1020^2,
		// 49 of them), as they were in float64.
		var a, b, cc int
		for dy := -3; dy <= 3; dy++ {
			i0 := (c.y+dy)*w + c.x - 3
			up, mid, down := pix[i0-w-1:i0-w+8], pix[i0-1:i0+8], pix[i0+w-1:i0+w+8]
			for dx := 1; dx <= 7; dx++ {
				gx := int(up[dx+1]) + 2*int(mid[dx+1]) + int(down[dx+1]) -
					(int(up[dx-1]) + 2*int(mid[dx-1]) + int(down[dx-1]))
				gy := int(down[dx-1]) + 2*int(down[dx]) + int(down[dx+1]) -
					(int(up[dx-1]) + 2*int(up[dx]) + int(up[dx+1]))
				a += gx * gx
				b += gy * gy
				cc += gx * gy
			}
		}
		fa, fb, fc := float64(a), float64(b), float64(cc)
		c.score = float32(fa*fb - fc*fc - k*(fa+fb)*(fa+fb))
	}
}
