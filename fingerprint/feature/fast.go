package feature

import "math/bits"

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
// score) so that a hostile, busy image costs a bounded amount.
func fastCorners(g *Gray, t int, border int, limit int) []corner {
	w, h := g.W, g.H
	if w < 2*border+1 || h < 2*border+1 {
		return nil
	}
	var off [16]int
	for i, c := range circle {
		off[i] = c[1]*w + c[0]
	}
	score := make([]uint16, w*h)
	var cand []int
	pix := g.Pix
	for y := border; y < h-border; y++ {
		for x := border; x < w-border; x++ {
			i := y*w + x
			p := int(pix[i])
			hi, lo := p+t, p-t
			// Any arc of 9 covers at least two of the four compass points.
			nb, nd := 0, 0
			for k := 0; k < 16; k += 4 {
				v := int(pix[i+off[k]])
				if v > hi {
					nb++
				} else if v < lo {
					nd++
				}
			}
			if nb < 2 && nd < 2 {
				continue
			}
			var mb, md uint32
			for k := 0; k < 16; k++ {
				v := int(pix[i+off[k]])
				if v > hi {
					mb |= 1 << k
				} else if v < lo {
					md |= 1 << k
				}
			}
			var s int
			switch {
			case bits.OnesCount32(mb) >= 9 && hasArc9(mb):
				for k := 0; k < 16; k++ {
					if mb&(1<<k) != 0 {
						s += int(pix[i+off[k]]) - hi
					}
				}
			case bits.OnesCount32(md) >= 9 && hasArc9(md):
				for k := 0; k < 16; k++ {
					if md&(1<<k) != 0 {
						s += lo - int(pix[i+off[k]])
					}
				}
			default:
				continue
			}
			score[i] = uint16(min(s+1, 65535))
			cand = append(cand, i)
		}
	}
	out := make([]corner, 0, len(cand)/4)
	for _, i := range cand {
		s := score[i]
		if s < score[i-1] || s < score[i+1] || s < score[i-w] || s < score[i+w] ||
			s < score[i-w-1] || s < score[i-w+1] || s < score[i+w-1] || s < score[i+w+1] {
			continue
		}
		// Equal neighbours: keep the first in scan order only.
		if s == score[i-1] || s == score[i-w] || s == score[i-w-1] || s == score[i-w+1] {
			continue
		}
		out = append(out, corner{x: i % w, y: i / w, score: float32(s)})
	}
	if len(out) > limit {
		topK(out, limit)
		out = out[:limit]
	}
	return out
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
		var a, b, cc float64
		for dy := -3; dy <= 3; dy++ {
			for dx := -3; dx <= 3; dx++ {
				i := (c.y+dy)*w + c.x + dx
				gx := float64(int(pix[i-w+1])+2*int(pix[i+1])+int(pix[i+w+1])) -
					float64(int(pix[i-w-1])+2*int(pix[i-1])+int(pix[i+w-1]))
				gy := float64(int(pix[i+w-1])+2*int(pix[i+w])+int(pix[i+w+1])) -
					float64(int(pix[i-w-1])+2*int(pix[i-w])+int(pix[i-w+1]))
				a += gx * gx
				b += gy * gy
				cc += gx * gy
			}
		}
		c.score = float32(a*b - cc*cc - k*(a+b)*(a+b))
	}
}
