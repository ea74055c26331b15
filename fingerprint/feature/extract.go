package feature

import (
	"cmp"
	"math"
	"slices"
	"sync"
)

// Keypoint is one local feature, in the pixels of the image it was found in.
type Keypoint struct {
	X, Y float32
	// Scale is the size of the keypoint's patch relative to the finest
	// level (the patch is 2*patchRadius+1 pixels at scale 1).
	Scale float32
	// Angle is the keypoint's orientation in radians.
	Angle float32
	// Response is the Harris response on its level.
	Response float32
	Desc     Descriptor
	// Mirror is the descriptor of the mirror image of the patch, so that
	// a mirrored copy is matched without a second extraction.
	Mirror Descriptor
	level  int
	// margin is how far each key test's comparison was from changing
	// (the intensity difference), direct and mirrored: the query probes
	// keys with its least certain bits flipped.
	margin, mirMargin [maxKeyBits]uint8
}

// ExtractOptions bounds an extraction.
type ExtractOptions struct {
	// MaxSide is the longest side the image is shrunk to first.
	MaxSide int
	// MaxFeatures is the number of keypoints kept over all levels.
	MaxFeatures int
	// Levels is the number of pyramid levels; ScaleFactor the ratio
	// between consecutive levels.
	Levels      int
	ScaleFactor float64
	// Threshold is the FAST intensity threshold.
	Threshold int
	// Mirror also computes the mirrored descriptors.
	Mirror bool
	// Upsample doubles an image no larger than half of MaxSide first.
	Upsample bool
}

// QueryOptions is how a query image is described: large enough that a
// capture shown at a quarter of a 1024-pixel-wide picture keeps most of
// its coarse features, with mirrored descriptors. A capture gets a share
// of the keypoints in proportion to the area it fills, so the budget is
// set for a capture filling a ninth of the query (a 3x3 grid, a mosaic):
// 2000 found 8-9 points more of those and of degraded copies (screen
// photos, tiled text) than 1000, at 1.6-1.8 times the lookup cost and
// about the same extraction cost (BENCHMARKS.md, "Query keypoints").
func QueryOptions() ExtractOptions {
	return ExtractOptions{MaxSide: 1024, MaxFeatures: 2000, Levels: 8, ScaleFactor: math.Sqrt2, Threshold: 12, Mirror: true, Upsample: true}
}

// EnrollOptions is how a capture is described before its most stable
// features are chosen (Enroll).
func EnrollOptions() ExtractOptions {
	return ExtractOptions{MaxSide: 512, MaxFeatures: 600, Levels: 6, ScaleFactor: math.Sqrt2, Threshold: 12}
}

var (
	steerOnce sync.Once
	steerPat  *steered
)

func steering() *steered {
	steerOnce.Do(func() { steerPat = newSteered() })
	return steerPat
}

// Extract finds and describes up to o.MaxFeatures keypoints of g. The
// keypoints' coordinates are in g's pixels even when g is shrunk first.
func Extract(g *Gray, o ExtractOptions) []Keypoint {
	return extract(g, o, false).Keypoints
}

// Query is an image described for search: its keypoints, and the smoothed
// pyramid they were described on, where verification reads a capture's
// features at the places a model puts them.
type Query struct {
	Keypoints []Keypoint
	// W and H are the size of the image the keypoints' coordinates are in.
	W, H int
	// levels are the smoothed levels; sx and sy convert a level's pixels
	// to the image's; scale is a level's keypoint scale.
	levels   []*Gray
	sx, sy   []float64
	scale    []float64
	minScale float64
	// half are the levels halfway between the ladder's (and one half a
	// step below its coarsest), smoothed when a reading first needs one:
	// without them a copy shown between two levels is read up to half a
	// step (a quarter of an octave) from its features' scale.
	half []halfLevel
}

// halfLevel is a smoothed level half a step below one of the ladder's,
// shrunk from it in one step; from is released once the level is built.
type halfLevel struct {
	once   sync.Once
	from   *Gray // the ladder's level above, unsmoothed
	w, h   int
	sx, sy float64
	scale  float64
	sm     *Gray
}

// level returns reading level i: the ladder's levels first, then the
// half steps, built on first use.
func (q *Query) level(i int) (sm *Gray, sx, sy float64) {
	if i < len(q.levels) {
		return q.levels[i], q.sx[i], q.sy[i]
	}
	h := &q.half[i-len(q.levels)]
	h.once.Do(func() {
		h.sm = boxBlur(ResizeArea(h.from, h.w, h.h), 2)
		h.from = nil
	})
	return h.sm, h.sx, h.sy
}

// levelScale is reading level i's keypoint scale.
func (q *Query) levelScale(i int) float64 {
	if i < len(q.levels) {
		return q.scale[i]
	}
	return q.half[i-len(q.levels)].scale
}

// readingLevels counts the levels a reading can use.
func (q *Query) readingLevels() int { return len(q.levels) + len(q.half) }

// ExtractQuery describes g for Search. The query may keep g (the
// half-step levels are shrunk from it when first read): g must not change
// while the query is in use.
func ExtractQuery(g *Gray, o ExtractOptions) *Query {
	return extract(g, o, true)
}

func extract(g *Gray, o ExtractOptions, keep bool) *Query {
	q := &Query{W: g.W, H: g.H, minScale: math.Inf(1)}
	base, s0 := g, 1.0
	switch m := max(g.W, g.H); {
	case o.MaxSide > 0 && m > o.MaxSide:
		s0 = float64(m) / float64(o.MaxSide)
		base = ResizeArea(g, max(1, int(math.Round(float64(g.W)/s0))), max(1, int(math.Round(float64(g.H)/s0))))
	case o.Upsample && m*2 <= o.MaxSide:
		// A small query may hold the capture at a fraction of its
		// enrolled size: doubling it lets the finest enrolled features
		// meet their counterparts, as SIFT doubles its input.
		base, s0 = upsample2(g), 0.5
	}
	st := steering()
	half := circleHalf()
	// Features per level fall with the level's linear size, so that
	// coarse levels, which survive heavy shrinking, keep a fair share.
	var weights []float64
	levels := []*Gray{base}
	for l := 1; l < o.Levels; l++ {
		prev := levels[l-1]
		w := int(math.Round(float64(base.W) / math.Pow(o.ScaleFactor, float64(l))))
		h := int(math.Round(float64(base.H) / math.Pow(o.ScaleFactor, float64(l))))
		if w < 2*border+8 || h < 2*border+8 {
			break
		}
		levels = append(levels, ResizeArea(prev, w, h))
	}
	var total float64
	for l := range levels {
		weights = append(weights, math.Pow(o.ScaleFactor, -float64(l)))
		total += weights[l]
	}
	if keep {
		q.half = make([]halfLevel, 0, len(levels))
		for l, lv := range levels {
			f := math.Pow(o.ScaleFactor, float64(l)+0.5)
			w, h := int(math.Round(float64(base.W)/f)), int(math.Round(float64(base.H)/f))
			if w < 2*border+8 || h < 2*border+8 {
				break
			}
			q.half = append(q.half, halfLevel{from: lv, w: w, h: h, scale: f * s0,
				sx: float64(base.W) / float64(w) * s0, sy: float64(base.H) / float64(h) * s0})
		}
	}
	var out []Keypoint
	for l, lv := range levels {
		want := int(math.Ceil(float64(o.MaxFeatures) * weights[l] / total))
		sx := float64(base.W) / float64(lv.W) * s0
		sy := float64(base.H) / float64(lv.H) * s0
		scale := math.Pow(o.ScaleFactor, float64(l)) * s0
		var sm *Gray
		if keep {
			sm = boxBlur(lv, 2)
			q.levels = append(q.levels, sm)
			q.sx, q.sy, q.scale = append(q.sx, sx), append(q.sy, sy), append(q.scale, scale)
		}
		q.minScale = min(q.minScale, scale)
		cs := fastCorners(lv, o.Threshold, border, 20*want+100)
		if len(cs) == 0 {
			continue
		}
		harris(lv, cs)
		cs = spread(cs, lv.W, lv.H, want)
		if sm == nil {
			sm = boxBlur(lv, 2)
		}
		for _, c := range cs {
			a := orientation(sm, c.x, c.y, &half)
			bin := angleBin(a)
			k := Keypoint{
				X: float32((float64(c.x) + 0.5) * sx), Y: float32((float64(c.y) + 0.5) * sy),
				Scale: float32(scale), Angle: float32(a),
				Response: c.score, level: l,
			}
			k.Desc, k.margin = describeKeyed(sm, c.x, c.y, &st.rot[bin])
			if o.Mirror {
				k.Mirror, k.mirMargin = describeKeyed(sm, c.x, c.y, &st.mir[bin])
			}
			out = append(out, k)
		}
	}
	q.Keypoints = out
	return q
}

// spread keeps up to n corners, strongest first, skipping any closer than
// a radius to one already kept, so that the features cover the picture and
// an overlay or a crop cannot take them all.
func spread(cs []corner, w, h, n int) []corner {
	slices.SortFunc(cs, func(a, b corner) int { return cmp.Compare(b.score, a.score) })
	r := math.Sqrt(float64(w*h)/float64(n)) * 0.35
	if r < 2 {
		r = 2
	}
	cell := r
	gw, gh := int(float64(w)/cell)+1, int(float64(h)/cell)+1
	grid := make([][]int32, gw*gh)
	var out []corner
	r2 := r * r
	for _, c := range cs {
		if len(out) >= n {
			break
		}
		if c.score <= 0 {
			break
		}
		gx, gy := int(float64(c.x)/cell), int(float64(c.y)/cell)
		ok := true
	scan:
		for yy := max(0, gy-1); yy <= min(gh-1, gy+1); yy++ {
			for xx := max(0, gx-1); xx <= min(gw-1, gx+1); xx++ {
				for _, j := range grid[yy*gw+xx] {
					o := out[j]
					dx, dy := float64(o.x-c.x), float64(o.y-c.y)
					if dx*dx+dy*dy < r2 {
						ok = false
						break scan
					}
				}
			}
		}
		if ok {
			grid[gy*gw+gx] = append(grid[gy*gw+gx], int32(len(out)))
			out = append(out, c)
		}
	}
	return out
}

// Select keeps n of kps for enrollment: candidates are taken strongest
// first within each level, levels in turn, skipping any closer to a kept
// one than the spacing n features need to cover the w x h picture, so that
// a crop or an overlay leaves some behind and every scale is represented.
func Select(kps []Keypoint, n, w, h int) []Keypoint {
	if len(kps) <= n {
		return kps
	}
	byLevel := map[int][]Keypoint{}
	maxL := 0
	for _, k := range kps {
		byLevel[k.level] = append(byLevel[k.level], k)
		maxL = max(maxL, k.level)
	}
	for _, ks := range byLevel {
		slices.SortFunc(ks, func(a, b Keypoint) int { return cmp.Compare(b.Response, a.Response) })
	}
	r := math.Sqrt(float64(w*h)/float64(n)) * 0.5
	var out []Keypoint
	for ; len(out) < n && r >= 1; r *= 0.7 {
		next := make([]int, maxL+1)
		for progress := true; progress && len(out) < n; {
			progress = false
			for l := 0; l <= maxL && len(out) < n; l++ {
				for next[l] < len(byLevel[l]) {
					k := byLevel[l][next[l]]
					next[l]++
					if farFrom(out, k, r) {
						out = append(out, k)
						progress = true
						break
					}
				}
			}
		}
	}
	return out
}

func farFrom(kept []Keypoint, k Keypoint, r float64) bool {
	for _, o := range kept {
		if o.X == k.X && o.Y == k.Y && o.level == k.level {
			return false
		}
		dx, dy := float64(o.X-k.X), float64(o.Y-k.Y)
		if dx*dx+dy*dy < r*r {
			return false
		}
	}
	return true
}
