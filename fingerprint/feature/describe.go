package feature

import (
	"fmt"
	"math"
	"math/bits"
)

// Descriptor is 128 binary comparisons of smoothed intensities around a
// keypoint, in the keypoint's own frame.
type Descriptor [2]uint64

// Distance is the Hamming distance between two descriptors.
func (d Descriptor) Distance(e Descriptor) int {
	return bits.OnesCount64(d[0]^e[0]) + bits.OnesCount64(d[1]^e[1])
}

const (
	descBits = 128
	// drawnPairs is how many comparisons are drawn; the pattern keeps
	// descBits of them (keptTests).
	drawnPairs = 256
	// patchRadius bounds every comparison point; with the orientation
	// window it sets the border a keypoint keeps from the level's edges.
	patchRadius  = 13
	orientRadius = 15
	border       = orientRadius + 1
	angleBins    = 64
)

// pattern is the fixed list of point pairs a descriptor compares. It is
// part of the bank format: changing it changes every enrolled descriptor
// (TestPatternIsFixed pins it).
type pattern [descBits][2][2]int8

// keptTests are the drawn comparisons the pattern keeps, in pattern
// order. The first maxKeyBits form the index key: they were chosen
// greedily on real photographs (fixtures/photos) for balance and low
// correlation with those already chosen, as ORB chose its tests, because
// steering makes many tests lean one way, which would crowd a few lists.
// The rest were chosen on the same photographs described under rotations,
// scalings and recompression: the tests with the largest gap between how
// often the bit differs between unrelated features, 2p(1-p), and how
// often it flips between two views of one feature. Comparisons of close
// points or of points near the centre flip often and tell little; half
// the bits chosen this way separate copies from unrelated features better
// than all 256 (BENCHMARKS.md, "Descriptor bits"), at half the bank.
func keptTests() [descBits]int {
	return [descBits]int{126, 16, 254, 31, 14, 134, 238, 83, 131, 48, 245, 228, 52, 111, 15, 20, 136, 125, 63, 54, 241, 58, 36, 253, 159, 225, 202, 216, 191, 22, 181, 178, 171, 13, 154, 90, 50, 177, 30, 234, 217, 34, 85, 133, 75, 72, 71, 173, 138, 208, 195, 105, 179, 222, 94, 107, 146, 227, 103, 235, 137, 242, 140, 250, 99, 243, 198, 51, 212, 2, 26, 91, 167, 132, 251, 152, 56, 201, 73, 40, 39, 158, 1, 180, 61, 113, 6, 247, 150, 23, 187, 44, 9, 106, 77, 236, 175, 17, 249, 69, 143, 86, 49, 210, 53, 153, 119, 82, 5, 196, 163, 104, 97, 115, 79, 155, 88, 65, 28, 68, 81, 162, 110, 232, 170, 33, 84, 100}
}

// steered holds the pattern rotated to each orientation bin, and the same
// for the mirror image of the patch.
type steered struct {
	rot, mir [angleBins]pattern
}

// newPattern is the comparisons kept, in pattern order.
func newPattern() (p pattern) {
	drawn := drawPairs()
	for i, t := range keptTests() {
		p[i] = drawn[t]
	}
	return p
}

// FromDrawn keeps, of a descriptor over all the drawn comparisons in
// drawing order (how bank format 3 stored them), the bits the pattern
// keeps.
func FromDrawn(all [drawnPairs / 64]uint64) Descriptor {
	var d Descriptor
	for i, t := range keptTests() {
		d[i>>6] |= (all[t>>6] >> (t & 63) & 1) << (i & 63)
	}
	return d
}

// drawPairs draws the candidate comparison pairs from an isotropic
// Gaussian of sigma patch/5 (BRIEF's best-performing sampling), clipped to
// the patch radius, with a deterministic generator so that every build
// agrees.
func drawPairs() (p [drawnPairs][2][2]int8) {
	s := uint64(0x6C65616B77617463) // any fixed seed
	next := func() float64 {
		s += 0x9E3779B97F4A7C15
		z := s
		z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
		z = (z ^ z>>27) * 0x94D049BB133111EB
		z ^= z >> 31
		return (float64(z>>11) + 0.5) / (1 << 53)
	}
	gauss := func() (float64, float64) {
		r := math.Sqrt(-2 * math.Log(next()))
		a := 2 * math.Pi * next()
		return r * math.Cos(a), r * math.Sin(a)
	}
	const sigma = 31.0 / 5
	point := func() [2]int8 {
		for {
			x, y := gauss()
			x, y = math.Round(x*sigma), math.Round(y*sigma)
			if x*x+y*y <= patchRadius*patchRadius {
				return [2]int8{int8(x), int8(y)}
			}
		}
	}
	for i := range p {
		for {
			a, b := point(), point()
			dx, dy := int(a[0])-int(b[0]), int(a[1])-int(b[1])
			if dx*dx+dy*dy >= 4 {
				p[i] = [2][2]int8{a, b}
				break
			}
		}
	}
	return p
}

func newSteered() *steered {
	base := newPattern()
	st := &steered{}
	for bin := range angleBins {
		for i, pair := range base {
			st.rot[bin][i], st.mir[bin][i] = steer(pair, bin)
		}
	}
	return st
}

// steer turns a comparison to orientation bin bin, directly and for the
// mirror image of the patch.
func steer(pair [2][2]int8, bin int) (rot, mir [2][2]int8) {
	a := 2 * math.Pi * float64(bin) / angleBins
	c, s := math.Cos(a), math.Sin(a)
	for j, pt := range pair {
		x, y := float64(pt[0]), float64(pt[1])
		rot[j] = [2]int8{int8(math.Round(c*x - s*y)), int8(math.Round(s*x + c*y))}
		// The mirror image of the patch (x -> -x in the image, the
		// angle becoming pi-a) seen through this frame is the
		// pattern with y negated, rotated by a.
		mir[j] = [2]int8{int8(math.Round(c*x + s*y)), int8(math.Round(s*x - c*y))}
	}
	return rot, mir
}

func angleBin(a float64) int {
	b := int(math.Round(a / (2 * math.Pi) * angleBins))
	return ((b % angleBins) + angleBins) % angleBins
}

// describe computes the descriptor of the smoothed level image at (x, y)
// with the given steered pattern.
func describe(sm *Gray, x, y int, p *pattern) Descriptor {
	return describeInto(sm, x, y, p, nil)
}

// describeKeyed is describe with the key tests' margins (margins), taken
// from the same samples.
func describeKeyed(sm *Gray, x, y int, p *pattern) (d Descriptor, m [maxKeyBits]uint8) {
	var diffs [descBits]int16
	d = describeInto(sm, x, y, p, &diffs)
	for i := range m {
		m[i] = uint8(min(abs(int(diffs[i])), 255))
	}
	return d, m
}

// describeInto is describe, also keeping each comparison's intensity
// difference in diffs when it is not nil.
func describeInto(sm *Gray, x, y int, p *pattern, diffs *[descBits]int16) Descriptor {
	var d Descriptor
	w := sm.W
	c := y*w + x
	pix := sm.Pix
	for j := range d {
		var word uint64
		for i := range 64 {
			a, b := p[j*64+i][0], p[j*64+i][1]
			diff := int(pix[c+int(a[1])*w+int(a[0])]) - int(pix[c+int(b[1])*w+int(b[0])])
			if diffs != nil {
				diffs[j*64+i] = int16(diff)
			}
			// The bit is set when a is darker than b: the sign of the
			// difference, taken without a branch (the outcome is a coin
			// toss, which a branch predictor cannot learn).
			word |= uint64(diff) >> 63 << i
		}
		d[j] = word
	}
	return d
}

// circleHalf[dy] is the half-width of the orientation disc at row dy.
func circleHalf() [orientRadius + 1]int {
	var h [orientRadius + 1]int
	for dy := 0; dy <= orientRadius; dy++ {
		h[dy] = int(math.Sqrt(float64(orientRadius*orientRadius - dy*dy)))
	}
	return h
}

// orientation is the direction from (x, y) to the intensity centroid of
// the disc around it: it turns with the image, so steering the pattern by
// it makes the descriptor rotation invariant.
func orientation(g *Gray, x, y int, half *[orientRadius + 1]int) float64 {
	var m01, m10 int
	w := g.W
	for dy := -orientRadius; dy <= orientRadius; dy++ {
		hw := half[abs(dy)]
		row := g.Pix[(y+dy)*w+x-hw : (y+dy)*w+x+hw+1]
		var sr int
		for i, v := range row {
			m10 += (i - hw) * int(v)
			sr += int(v)
		}
		m01 += dy * sr
	}
	return math.Atan2(float64(m01), float64(m10))
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// PatternString spells out the comparison pattern, so that a test can pin
// it.
func PatternString() string {
	p := newPattern()
	return fmt.Sprint(p)
}
