package pdq

import (
	"image"
	"math"
	"slices"
	"sync"

	"github.com/leakwatch/leakwatch/fingerprint/hamming"
)

const (
	// MatchThreshold is the largest Hamming distance between two PDQ
	// hashes that the reference documentation calls a match.
	MatchThreshold = 31
	// MinQuality is the lowest quality at which a PDQ hash is reliable;
	// the reference recommends discarding hashes below it.
	MinQuality = 50

	// MinDim is the smallest side the reference hashes; smaller images
	// get the zero hash with quality 0. Unlike the reference we test it
	// before the pre-shrink, so that a 1000x3 strip is not stretched to
	// 512x512 and hashed.
	MinDim = 5
	// preShrink is the reference front end's limit: an image with a side
	// over it is resized to preShrink x preShrink (aspect ratio not
	// kept) by nearest neighbour before hashing. Doing the same is what
	// makes our hashes agree with the C++ ones: over the 42 reference
	// images of quality 80 or more, decoded by Go, the mean distance is
	// 0.38 bits with it and 4.5 without (max 8 and 14 over all eight
	// dihedral hashes). It also bounds the cost: the working plane never
	// exceeds 512x512, whatever the input size.
	preShrink = 512
	// MaxLumaPixels bounds the buffer Luma allocates, so that an image
	// with absurd bounds (image.Uniform, a forged header) cannot make it
	// allocate without limit. Decode limits should stop such images first.
	MaxLumaPixels = 1 << 28
)

// Result is one PDQ hash with its quality (0..100).
type Result struct {
	Hash    hamming.Hash256
	Quality int
}

// Transform names one of the eight rotations and reflections of an image,
// in the reference's order, which is the order of Dihedral.Hashes.
type Transform int

// The eight dihedral transforms. The names follow the reference: Rotate90
// is counter-clockwise, FlipX swaps top and bottom, FlipY mirrors left and
// right, FlipPlus1 is the transpose (upper-left and lower-right corners stay)
// and FlipMinus1 keeps the upper-right and lower-left corners.
const (
	Original Transform = iota
	Rotate90
	Rotate180
	Rotate270
	FlipX
	FlipY
	FlipPlus1
	FlipMinus1
)

var transformNames = [...]string{"original", "rotate90", "rotate180", "rotate270", "flipx", "flipy", "flipplus1", "flipminus1"}

// String returns the reference's lower-case name of the transform.
func (d Transform) String() string {
	if d < 0 || int(d) >= len(transformNames) {
		return "dihedral(?)"
	}
	return transformNames[d]
}

// Dihedral holds the PDQ hashes of the image as given and of its seven
// other rotations and reflections, indexed by Transform, with the quality
// they share. Querying a bank with all eight finds rotated or mirrored
// copies; the eight hashes of a rotated file are close to, not equal to,
// the permuted hashes of the original, so do not canonicalise them.
type Dihedral struct {
	Hashes  [8]hamming.Hash256
	Quality int
}

// Result returns the hash of the image as given.
func (d Dihedral) Result() Result {
	return Result{Hash: d.Hashes[Original], Quality: d.Quality}
}

// Nearest returns the transform whose hash is closest to h, and its
// distance.
func (d Dihedral) Nearest(h hamming.Hash256) (Transform, int) {
	best, bestD := Original, 257
	for i, x := range d.Hashes {
		if dist := x.Distance(h); dist < bestD {
			best, bestD = Transform(i), dist
		}
	}
	return best, bestD
}

// Hash hashes img. Images under 5 pixels on a side get the zero hash with
// quality 0; check Quality against MinQuality before trusting a hash.
func Hash(img image.Image) Result {
	h := getHasher()
	defer putHasher(h)
	if !h.loadImage(img) {
		return Result{}
	}
	h.transform()
	return Result{Hash: h.bits(&h.coef), Quality: h.quality}
}

// HashAll hashes img in all eight dihedral orientations, from one DCT.
func HashAll(img image.Image) Dihedral {
	h := getHasher()
	defer putHasher(h)
	if !h.loadImage(img) {
		return Dihedral{}
	}
	h.transform()
	return h.dihedral()
}

// HashLuma hashes a row-major w x h luma plane with values in 0..255, as
// Luma returns. HashLuma(Luma(img)) equals Hash(img). The slice is not
// modified. A plane shorter than w*h, or with a side under 5, gives the zero
// hash with quality 0.
func HashLuma(luma []float32, w, h int) Result {
	ph := getHasher()
	defer putHasher(ph)
	if !ph.loadLuma(luma, w, h) {
		return Result{}
	}
	ph.transform()
	return Result{Hash: ph.bits(&ph.coef), Quality: ph.quality}
}

// HashAllLuma is HashAll for a luma plane; see HashLuma.
func HashAllLuma(luma []float32, w, h int) Dihedral {
	ph := getHasher()
	defer putHasher(ph)
	if !ph.loadLuma(luma, w, h) {
		return Dihedral{}
	}
	ph.transform()
	return ph.dihedral()
}

// hashers recycles hashers: each holds up to two 512x512 float32 planes
// (2 MiB), which would otherwise be allocated for every image.
var hashers = sync.Pool{New: func() any { return &hasher{dct: dctMatrix()} }}

func getHasher() *hasher { return hashers.Get().(*hasher) }

func putHasher(h *hasher) {
	h.src = nil // do not keep the caller's plane alive
	hashers.Put(h)
}

// dctMatrix is the 16x64 partial DCT-II matrix
// D[i][j] = sqrt(2/64) cos(pi/128 (i+1)(2j+1)), computed once and shared
// read-only by all hashers. Rows start at frequency 1: the DC term carries
// only brightness and is left out.
var dctMatrix = sync.OnceValue(func() *[16][64]float32 {
	var d [16][64]float32
	scale := float32(math.Sqrt(2.0 / 64))
	for i := range 16 {
		for j := range 64 {
			d[i][j] = float32(float64(scale) * math.Cos(math.Pi/2/64*float64(i+1)*float64(2*j+1)))
		}
	}
	return &d
})

// hasher holds the buffers of one hash computation.
type hasher struct {
	dct *[16][64]float32

	// src is the luma plane being hashed (w x h, row-major). It aliases
	// either plane (owned) or the caller's slice, which is never written.
	src  []float32
	w, h int

	plane, tmp []float32 // owned planes of up to w*h
	sums       []float32 // one running sum per column
	gather     []float32 // h x 64: the sampled columns of the last pass
	cols, rows []int     // sampling coordinates
	scratch    []int     // per-column offsets for the luma fast paths

	a       [64][64]float32 // downsampled image
	t       [16][64]float32 // D*A
	coef    [16][16]float32 // D*A*D^T
	aux     [16][16]float32 // one dihedral transform of coef
	sorted  [256]float32
	quality int
}

// loadImage fills h.src with the luma of img, pre-shrunk like the
// reference. It reports false for images too small to hash.
func (h *hasher) loadImage(img image.Image) bool {
	b := img.Bounds()
	w, ht := b.Dx(), b.Dy()
	if w < MinDim || ht < MinDim {
		return false
	}
	ow, oh := workingSize(w, ht)
	h.cols = sampleCoords(h.cols, b.Min.X, w, ow)
	h.rows = sampleCoords(h.rows, b.Min.Y, ht, oh)
	h.plane = grow(h.plane, ow*oh)
	h.scratch = lumaInto(h.plane, img, h.cols, h.rows, h.scratch)
	h.src, h.w, h.h = h.plane, ow, oh
	return true
}

// loadLuma points h.src at luma, or at its nearest-neighbour pre-shrink.
func (h *hasher) loadLuma(luma []float32, w, ht int) bool {
	if w < MinDim || ht < MinDim || len(luma)/w < ht {
		return false
	}
	ow, oh := workingSize(w, ht)
	if ow == w && oh == ht {
		h.src, h.w, h.h = luma[:w*ht], w, ht
		return true
	}
	h.cols = sampleCoords(h.cols, 0, w, ow)
	h.rows = sampleCoords(h.rows, 0, ht, oh)
	h.plane = grow(h.plane, ow*oh)
	for y, sy := range h.rows {
		src, dst := luma[sy*w:], h.plane[y*ow:(y+1)*ow]
		for x, sx := range h.cols {
			dst[x] = src[sx]
		}
	}
	h.src, h.w, h.h = h.plane, ow, oh
	return true
}

// workingSize is the size the reference hashes an image of w x h at.
func workingSize(w, h int) (int, int) {
	if w > preShrink || h > preShrink {
		return preShrink, preShrink
	}
	return w, h
}

// sampleCoords returns the n source coordinates that a nearest-neighbour
// resize from size to n reads: min + floor(i*size/n). With n == size it is
// the identity.
func sampleCoords(buf []int, min, size, n int) []int {
	buf = slices.Grow(buf[:0], n)[:n]
	for i := range buf {
		buf[i] = min + i*size/n
	}
	return buf
}

// grow returns a slice of length n, reusing buf's storage when it is large
// enough. The contents are unspecified.
func grow[T any](buf []T, n int) []T {
	if cap(buf) < n {
		return make([]T, n)
	}
	return buf[:n]
}

// transform runs the blur, decimation, quality metric and DCT on h.src,
// leaving the 16x16 coefficients in h.coef.
func (h *hasher) transform() {
	w, ht := h.w, h.h
	if w == 64 && ht == 64 {
		// Already at the working size (video frames, for instance): the
		// reference skips the filter, whose width would be 1 anyway.
		for i := range h.a {
			copy(h.a[i][:], h.src[i*64:(i+1)*64])
		}
		h.quality = qualityScore(&h.a)
		h.dct64To16()
		return
	}
	winX := jaroszWindow(w) // along each row
	winY := jaroszWindow(ht)
	n := w * ht
	// The plane later holds the 64 sampled columns, which for images
	// narrower than 64 is more than w*h. Growing it cannot lose h.src: a
	// reallocation leaves the old array to h.src.
	h.plane = grow(h.plane, max(n, 64*ht))
	h.tmp = grow(h.tmp, n)
	h.sums = grow(h.sums, max(w, 64))

	// Two passes along rows and columns, as the reference, except that the
	// last column pass runs only on the 64 columns that decimation reads:
	// each column's running sum is independent, so this gives the same
	// numbers for less work.
	boxRows(h.src, h.tmp, w, ht, winX)
	boxCols(h.tmp, h.plane, w, ht, winY, h.sums)
	boxRows(h.plane, h.tmp, w, ht, winX)

	h.cols = decimationCoords(h.cols, w)
	h.rows = decimationCoords(h.rows, ht)
	h.gather = grow(h.gather, 64*ht)
	for y := range ht {
		row, g := h.tmp[y*w:(y+1)*w], h.gather[y*64:(y+1)*64]
		for k, x := range h.cols {
			g[k] = row[x]
		}
	}
	out := h.plane[:64*ht] // the plane is free again
	boxCols(h.gather, out, 64, ht, winY, h.sums[:64])
	for i, y := range h.rows {
		copy(h.a[i][:], out[y*64:(y+1)*64])
	}

	h.quality = qualityScore(&h.a)
	h.dct64To16()
}

// jaroszWindow is the box width for downsampling size to 64 in two passes:
// ceil(size/128), so that the two passes together span one output pixel.
func jaroszWindow(size int) int {
	return (size + 2*64 - 1) / (2 * 64)
}

// decimationCoords returns the 64 source coordinates nearest the centres of
// the output pixels, computed as the reference does.
func decimationCoords(buf []int, size int) []int {
	buf = slices.Grow(buf[:0], 64)[:64]
	for i := range buf {
		buf[i] = int((float64(i) + 0.5) * float64(size) / 64)
	}
	return buf
}

// box1D writes to out the mean of in over a window of width win centred on
// each position (the window is clipped at both ends), using a running sum
// in the reference's order of operations: the first output averages the
// first (win+2)/2 inputs.
func box1D(in, out []float32, win int) {
	n := len(in)
	half := (win + 2) / 2
	var sum float32
	ri, oi := 0, 0
	for ; ri < half-1; ri++ {
		sum += in[ri]
	}
	for ; ri < win; ri++ {
		sum += in[ri]
		out[oi] = sum / float32(ri+1)
		oi++
	}
	full := float32(win)
	for li := 0; ri < n; ri, li = ri+1, li+1 {
		sum += in[ri]
		sum -= in[li]
		out[oi] = sum / full
		oi++
	}
	for li, cnt := n-win, win-1; oi < n; li, cnt = li+1, cnt-1 {
		sum -= in[li]
		out[oi] = sum / float32(cnt)
		oi++
	}
}

// boxRows applies box1D to each row of a w x h plane. Rows are filtered
// four at a time: each row's running sum is a chain of dependent additions,
// and interleaving four independent chains keeps the processor busy while
// giving every row exactly box1D's result.
func boxRows(in, out []float32, w, h, win int) {
	y := 0
	for ; y+4 <= h; y += 4 {
		box1D4(in[y*w:(y+4)*w], out[y*w:(y+4)*w], w, win)
	}
	for ; y < h; y++ {
		box1D(in[y*w:(y+1)*w], out[y*w:(y+1)*w], win)
	}
}

// box1D4 is box1D on the four consecutive rows of length n in in.
func box1D4(in, out []float32, n, win int) {
	a, b, c, d := in[:n], in[n:2*n], in[2*n:3*n], in[3*n:4*n]
	oa, ob, oc, od := out[:n], out[n:2*n], out[2*n:3*n], out[3*n:4*n]
	half := (win + 2) / 2
	var sa, sb, sc, sd float32
	ri, oi := 0, 0
	for ; ri < half-1; ri++ {
		sa += a[ri]
		sb += b[ri]
		sc += c[ri]
		sd += d[ri]
	}
	for ; ri < win; ri++ {
		cnt := float32(ri + 1)
		sa += a[ri]
		sb += b[ri]
		sc += c[ri]
		sd += d[ri]
		oa[oi], ob[oi], oc[oi], od[oi] = sa/cnt, sb/cnt, sc/cnt, sd/cnt
		oi++
	}
	full := float32(win)
	for li := 0; ri < n; ri, li = ri+1, li+1 {
		sa += a[ri]
		sb += b[ri]
		sc += c[ri]
		sd += d[ri]
		sa -= a[li]
		sb -= b[li]
		sc -= c[li]
		sd -= d[li]
		oa[oi], ob[oi], oc[oi], od[oi] = sa/full, sb/full, sc/full, sd/full
		oi++
	}
	for li, k := n-win, win-1; oi < n; li, k = li+1, k-1 {
		cnt := float32(k)
		sa -= a[li]
		sb -= b[li]
		sc -= c[li]
		sd -= d[li]
		oa[oi], ob[oi], oc[oi], od[oi] = sa/cnt, sb/cnt, sc/cnt, sd/cnt
		oi++
	}
}

// boxCols applies box1D down each column of a w x h plane. It keeps one
// running sum per column and walks the plane row by row, which reads memory
// in order yet performs, for each column, exactly box1D's operations.
func boxCols(in, out []float32, w, h, win int, sums []float32) {
	sums = sums[:w]
	clear(sums)
	row := func(y int) []float32 { return in[y*w : (y+1)*w] }
	half := (win + 2) / 2
	ri, oi := 0, 0
	for ; ri < half-1; ri++ {
		for x, v := range row(ri) {
			sums[x] += v
		}
	}
	for ; ri < win; ri++ {
		cnt := float32(ri + 1)
		o := out[oi*w : (oi+1)*w]
		for x, v := range row(ri) {
			sums[x] += v
			o[x] = sums[x] / cnt
		}
		oi++
	}
	full := float32(win)
	for li := 0; ri < h; ri, li = ri+1, li+1 {
		add, sub, o := row(ri), row(li), out[oi*w:(oi+1)*w]
		for x := range sums {
			s := sums[x] + add[x]
			s -= sub[x]
			sums[x] = s
			o[x] = s / full
		}
		oi++
	}
	for li, cnt := h-win, win-1; oi < h; li, cnt = li+1, cnt-1 {
		c := float32(cnt)
		o := out[oi*w : (oi+1)*w]
		for x, v := range row(li) {
			sums[x] -= v
			o[x] = sums[x] / c
		}
		oi++
	}
}

// qualityScore is the reference's heuristic: the sum of the absolute
// neighbour differences of the 64x64 image, each quantised to a percentage
// of full scale (so that many tiny gradients do not add up), divided by 90
// and capped at 100.
func qualityScore(a *[64][64]float32) int {
	sum := 0
	grad := func(u, v float32) int {
		// For luma in 0..255 the quantised gradient is within ±100; the
		// clamp only keeps NaN or infinite input (which converting to int
		// would turn into arbitrary values) from making the score negative.
		// Truncating |d| equals truncating d and dropping the sign, and
		// clearing the sign bit avoids a branch on a coin toss.
		d := float32(u-v) * 100 / 255
		a := math.Float32frombits(math.Float32bits(d) &^ (1 << 31))
		if a < 100 {
			return int(a)
		}
		if a >= 100 {
			return 100
		}
		return 0 // NaN
	}
	// Every term is at least 0, so once the sum reaches the score's
	// ceiling the rest cannot change it (most photographs get there in
	// the first half).
	const full = 100 * 90
	for i := range 63 {
		for j := range 64 {
			sum += grad(a[i][j], a[i+1][j])
		}
		if sum >= full {
			return 100
		}
	}
	for i := range 64 {
		for j := range 63 {
			sum += grad(a[i][j], a[i][j+1])
		}
		if sum >= full {
			return 100
		}
	}
	return min(sum/90, 100)
}

// dct64To16 computes coef = D * A * D^T. Each sum runs over k in increasing
// order like the reference's; the float32() conversions forbid fused
// multiply-adds, which would change the rounding on some platforms.
func (h *hasher) dct64To16() {
	d := h.dct
	// Four rows of t at a time share each row of a; every element still
	// sums over k in increasing order.
	for i := 0; i < 16; i += 4 {
		t0, t1, t2, t3 := &h.t[i], &h.t[i+1], &h.t[i+2], &h.t[i+3]
		*t0, *t1, *t2, *t3 = [64]float32{}, [64]float32{}, [64]float32{}, [64]float32{}
		for k := range 64 {
			d0, d1, d2, d3 := d[i][k], d[i+1][k], d[i+2][k], d[i+3][k]
			ak := &h.a[k]
			for j := range 64 {
				v := ak[j]
				t0[j] += float32(d0 * v)
				t1[j] += float32(d1 * v)
				t2[j] += float32(d2 * v)
				t3[j] += float32(d3 * v)
			}
		}
	}
	// Four independent sums at a time, so that each addition does not
	// wait for the previous one.
	for i := range 16 {
		t := &h.t[i]
		for j := 0; j < 16; j += 4 {
			e0, e1, e2, e3 := &d[j], &d[j+1], &d[j+2], &d[j+3]
			var s0, s1, s2, s3 float32
			for k := range 64 {
				v := t[k]
				s0 += float32(v * e0[k])
				s1 += float32(v * e1[k])
				s2 += float32(v * e2[k])
				s3 += float32(v * e3[k])
			}
			h.coef[i][j], h.coef[i][j+1], h.coef[i][j+2], h.coef[i][j+3] = s0, s1, s2, s3
		}
	}
}

// bits thresholds c at its median: bit i*16+j is set when c[i][j] is
// greater. The median is the lower of the two middle values, the one the
// reference's Torben selection returns.
func (h *hasher) bits(c *[16][16]float32) hamming.Hash256 {
	s := h.sorted[:]
	for i := range 16 {
		copy(s[i*16:], c[i][:])
	}
	slices.Sort(s)
	median := s[127]
	var out hamming.Hash256
	for i := range 16 {
		for j := range 16 {
			if c[i][j] > median {
				out.SetBit(i*16 + j)
			}
		}
	}
	return out
}

// dihedralSpec says how to obtain a transform's DCT from the original's: a
// horizontal flip negates the odd horizontal frequencies (which, numbered
// from 1, sit at even indices), a vertical flip the odd vertical ones, and
// swapping the axes transposes the matrix.
type dihedralSpec struct {
	transpose    bool
	negEvenI     bool // negate where the row index i is even
	negEvenJ     bool // negate where the column index j is even
	negOddIPlusJ bool // negate where i+j is odd
}

var dihedralSpecs = [8]dihedralSpec{
	Original:   {},
	Rotate90:   {transpose: true, negEvenJ: true},
	Rotate180:  {negOddIPlusJ: true},
	Rotate270:  {transpose: true, negEvenI: true},
	FlipX:      {negEvenI: true},
	FlipY:      {negEvenJ: true},
	FlipPlus1:  {transpose: true},
	FlipMinus1: {transpose: true, negOddIPlusJ: true},
}

// dihedral derives all eight hashes from h.coef.
func (h *hasher) dihedral() Dihedral {
	out := Dihedral{Quality: h.quality}
	for k, s := range dihedralSpecs {
		for i := range 16 {
			for j := range 16 {
				v := h.coef[i][j]
				if (s.negEvenI && i%2 == 0) || (s.negEvenJ && j%2 == 0) || (s.negOddIPlusJ && (i+j)%2 == 1) {
					v = -v
				}
				if s.transpose {
					h.aux[j][i] = v
				} else {
					h.aux[i][j] = v
				}
			}
		}
		out.Hashes[k] = h.bits(&h.aux)
	}
	return out
}
