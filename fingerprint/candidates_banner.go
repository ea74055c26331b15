package fingerprint

import (
	"math"

	"github.com/leakwatch/leakwatch/fingerprint/pdq"
)

// Caption banners. A caption added above or below a picture is a band of
// flat rows (the bar's colour), a band of text, and another flat band
// before the picture starts. The rectangle detector finds the picture when
// its edge stands out from the bar; when the picture's own edge is as dark
// (or light) as the bar it does not, so banners are also found from the
// row profile alone, with two estimates of where the picture starts: the
// first textured row after the inner flat band, and the row that puts the
// text in the middle of the bar (captions are centred in their bars).
const (
	bannerFlatStd  = 3.0  // luma levels: a row this even is part of a bar
	bannerMaxFrac  = 0.4  // a bar is at most this share of the height
	bannerMeanDiff = 10.0 // both margins of one bar have one colour
	bannerEstimate = 2    // estimates per edge
	bannerMaxRects = 2 * bannerEstimate
)

// bannerRects returns the picture rectangles left when a caption bar at the
// bottom or the top of p is removed.
func bannerRects(p *plane) []rectF {
	w, h := p.w, p.h
	if w < pdq.MinDim || h < 4*pdq.MinDim {
		return nil
	}
	mean := make([]float64, h)
	std := make([]float64, h)
	for y := 0; y < h; y++ {
		row := p.pix[y*w : y*w+w]
		var s, s2 float64
		for _, v := range row {
			s += float64(v)
			s2 += float64(v) * float64(v)
		}
		m := s / float64(w)
		mean[y], std[y] = m, math.Sqrt(math.Max(0, s2/float64(w)-m*m))
	}
	var out []rectF
	for _, bottom := range [2]bool{true, false} {
		// at(i) is the i-th row counted from the edge.
		at := func(i int) int {
			if bottom {
				return h - 1 - i
			}
			return i
		}
		limit := int(float64(h) * bannerMaxFrac)
		i := 0
		outer := 0.0
		for ; i < limit && std[at(i)] < bannerFlatStd; i++ {
			outer += mean[at(i)]
		}
		if i == 0 {
			continue
		}
		outer /= float64(i)
		textStart := i
		for ; i < limit && std[at(i)] >= bannerFlatStd; i++ {
		}
		textEnd := i
		if textEnd-textStart < 2 {
			continue
		}
		inner := 0.0
		for ; i < limit && std[at(i)] < bannerFlatStd; i++ {
			inner += mean[at(i)]
		}
		if i == textEnd || i >= limit {
			continue
		}
		if math.Abs(inner/float64(i-textEnd)-outer) > bannerMeanDiff {
			continue
		}
		firstTextured := float64(i)
		centred := float64(textStart + textEnd) // twice the text centre, from the edge
		for _, d := range [bannerEstimate]float64{firstTextured, centred} {
			if d <= 0 || d >= float64(limit) {
				continue
			}
			r := rectF{0, 0, float64(w), float64(h) - d}
			if !bottom {
				r = rectF{0, d, float64(w), float64(h)}
			}
			dup := false
			for _, o := range out {
				if r.near(o, 1) {
					dup = true
				}
			}
			if !dup {
				out = append(out, r)
			}
		}
	}
	return out
}
