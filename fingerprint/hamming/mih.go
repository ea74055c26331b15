package hamming

// Exact Hamming-radius search by multi-index hashing (Norouzi, Punjani and
// Fleet, "Fast Search in Hamming Space with Multi-Index Hashing", CVPR 2012)
// with a pigeonring filter (Qin and Xiao, "Pigeonring: A Principle for
// Faster Thresholded Similarity Search", VLDB 2018).
//
// A hash is cut into m disjoint substrings ("tables") of b_i bits. For a
// query q and radius r, pick sub-radii ρ_i ≥ -1 with Σ(ρ_i+1) = r+1. If a
// stored hash h has d(q,h) ≤ r, some substring i has d_i(q,h) ≤ ρ_i:
// otherwise d(q,h) = Σd_i ≥ Σ(ρ_i+1) > r. (ρ_i = -1 means table i is not
// probed. All ρ_i = ⌊r/m⌋ is the paper's rule; the general form lets the
// radius go where probing is cheapest.) Probing every key within ρ_i of q's
// substring in every table finds every true neighbour; candidates are
// verified with the full distance, so the result is exactly the brute-force
// set, for every radius.
//
// Pigeonring: with z_j = d_j - ρ_j - 1 we have Σz_j = d - r - 1 ≤ -1, and by
// the cycle lemma some start i has every cyclic chain sum z_i + … + z_{i+l-1}
// ≤ -1 (l = 1..m). So a hash needs to be accepted only from a table i where
// the chain of length 2 holds, d_i + d_{i+1} ≤ ρ_i + ρ_{i+1} + 1. Each
// 256-bit table entry carries some bits of the next table's key (a lower
// bound on d_{i+1}), so a random candidate is rejected inline, without
// reading its 32-byte hash: with 16 bits and ρ = 2 only ~1% survive. A hash
// is reported only from its first valid start, which makes every id appear
// once without a seen-set. (64-bit tables store the whole hash inline, so
// they need no filter and report from the first table that holds the hash.)
//
// The sub-radii are chosen per radius from a cost model (probes cost random
// memory accesses, entries an inline check, survivors a fetch) that uses
// each table's measured bucket occupancy, so skewed tables (constant or
// correlated bits) get less of the radius; when the model says a plain
// scan is cheaper (large radius, small segment) the segment is scanned.
// The table count and entry size are chosen per segment from the same model
// and a memory budget.
//
// Layout: each table is a CSR bucket array, an offsets array of 2^b+1
// uint32 (bucket k is entries [off[k], off[k+1])) plus packed entries, built
// by a two-level radix counting sort. Probing is staged so that the
// processor overlaps the cache misses of many buckets: first the bucket
// bounds of a batch of keys, then a touch of every cache line of those
// buckets, then the scan of the entries (then, for 256 bits, the fetch of
// the survivors). Without staging each probe is a chain of dependent misses
// and the search runs several times slower.
//
// Incremental adds go to an unsorted pending tail that is scanned linearly;
// when it reaches a few thousand entries it becomes a segment (its own
// tables, sized for its own length), and segments are merged like a binary
// counter (a segment absorbs its younger neighbours while they total at
// least half its length), so an index grown by Add holds O(log n) segments
// and each entry is rebuilt O(log n) times. Ids are positions in the hash
// array, so a segment is just an id range and merging needs no remapping.

import (
	"math"
	"math/bits"
	"runtime"
	"sync"
)

const (
	// maxTableBits bounds a table's key width: its offsets array has
	// 2^maxTableBits+1 entries (256 MiB).
	maxTableBits = 26
	// minTableBits is the narrowest table worth building.
	minTableBits = 8
	// probeBatch is how many bucket keys are resolved per stage.
	probeBatch = 256
	// candBatch is how many 256-bit candidates are gathered before verifying.
	candBatch = 1024
	// radixLowBits is the key width sorted within one radix partition; its
	// counters (64 KiB) stay in L2.
	radixLowBits = 14
	// radixMaxPartBits bounds the number of partitions written concurrently
	// in the scatter pass (TLB reach).
	radixMaxPartBits = 10
	// radixMinEntries is the size below which a direct counting sort, whose
	// random writes then stay in cache, is faster than two radix passes.
	radixMinEntries = 1 << 21
)

// costModel estimates query time in nanoseconds; the constants were measured
// on this project's reference server (a virtualised Xeon, see BENCHMARKS.md),
// where a random DRAM access costs 25–40 ns. Only relative values matter.
type costModel struct {
	probe float64 // per probed bucket: bounds and the bucket's first line
	scan  float64 // per bucket entry checked inline
	cand  float64 // per entry that passes the inline check and is fetched
	lin   float64 // per entry of a linear scan
}

// mihConfig holds the tunables; tests and benchmarks override them.
type mihConfig struct {
	// tables forces the number of tables (0: chosen from the segment length).
	tables int
	// designRadius is the radius the table layout is optimised for.
	designRadius int
	// records lists the table entry sizes (bytes) to consider; with packed,
	// an entry is a segment-local id whose spare bits, plus the bytes beyond
	// four, hold a partial key of the next table (Index256), otherwise the
	// entry verifies inline and has no partial key (Index64).
	records []int
	packed  bool
	// hashBytes and the entry size give a layout's memory, which must fit
	// perEntry bytes per hash all-in plus an allowance that shrinks to
	// nothing at allowance/slope hashes, so mid-sized indexes may buy speed
	// with memory and large ones stay within perEntry.
	hashBytes                  float64
	perEntry, allowance, slope float64
	// pendingMax is the unsorted tail length that triggers a new segment.
	pendingMax int
	cost       costModel
	// mode forces every segment to scan (modeLinear) or to probe (modeMIH)
	// for every radius; tests use it to exercise both paths everywhere.
	mode searchMode
	// workers bounds build parallelism (0: GOMAXPROCS).
	workers int
}

type searchMode uint8

const (
	modeAuto searchMode = iota
	modeMIH
	modeLinear
)

// tableBits describes one substring: bits [start, start+width) of the hash,
// counting from bit 0 of word 0 upward.
type tableBits struct {
	start, width int
}

// layout is a segment's table structure; no tables means linear scan.
type layout struct {
	tabs   []tableBits
	record int // bytes per table entry
	part   int // bits of the next table's key stored with each entry
}

// idBits is the width of a segment-local id for n entries.
func idBits(n int) int {
	return bits.Len(uint(max(n, 1) - 1))
}

// partialBits is how many bits of the next table's key (of width next) fit
// in a packed record of rb bytes next to an id of ib bits.
func partialBits(rb, ib, next int) int {
	return max(0, min(next, 32-ib+8*(rb-4)))
}

// split cuts width bits into m substrings as equal as possible, the wider
// ones first.
func split(width, m int) []tableBits {
	out := make([]tableBits, m)
	pos := 0
	for i := range out {
		w := width / m
		if i < width%m {
			w++
		}
		out[i] = tableBits{start: pos, width: w}
		pos += w
	}
	return out
}

// ballSize is the number of w-bit keys within distance rho of a key.
func ballSize(w, rho int) float64 {
	if rho < 0 {
		return 0
	}
	s, c := 0.0, 1.0
	for i := 0; i <= rho && i <= w; i++ {
		s += c
		c = c * float64(w-i) / float64(i+1)
	}
	return s
}

// passRate is the probability that a partial key of p uniformly random
// bits is within slack of the query's: P(Binomial(p, 1/2) ≤ slack).
func passRate(p, slack int) float64 {
	if p == 0 || slack >= p {
		return 1
	}
	if slack < 0 {
		return 0
	}
	s, c := 0.0, 1.0
	for i := 0; i <= slack; i++ {
		s += c
		c = c * float64(p-i) / float64(i+1)
	}
	return math.Ldexp(s, -p)
}

// tableCost models probing a table of width w, whose buckets hold occ
// entries, with sub-radius rho: every key of the ball is a probe, every
// entry an inline check, and the entries whose partial key passes the
// chain bound (taking the next table's sub-radius equal to rho) a fetch.
func (cm costModel) tableCost(w, rho, part int, occ float64) float64 {
	s, c := 0.0, 1.0
	for d := 0; d <= rho && d <= w; d++ {
		s += c * (cm.probe + occ*(cm.scan+cm.cand*passRate(part, 2*rho+1-d)))
		c = c * float64(w-d) / float64(d+1)
	}
	return s
}

// allocate sets rho[i] ≥ -1 so that Σ(rho[i]+1) = r+1, greedily giving each
// unit of radius to the table whose cost grows least (optimal while the
// costs are convex, i.e. for radii below half the table width, which is
// where probing can beat a scan). It returns the modelled cost.
func allocate(rho []int8, tabs []tableBits, part int, occ []float64, r int, cm costModel) float64 {
	// delta[i] is the cost of giving table i one more unit.
	var buf [256 / minTableBits]float64
	delta := buf[:len(tabs)]
	for i, t := range tabs {
		rho[i] = -1
		delta[i] = cm.tableCost(t.width, 0, part, occ[i])
	}
	total := 0.0
	for range r + 1 {
		best := -1
		for i, t := range tabs {
			if int(rho[i]) < t.width && (best < 0 || delta[i] < delta[best]) {
				best = i
			}
		}
		if best < 0 {
			// Σ(width+1) ≥ width+m > r for every r ≤ hash width.
			panic("hamming: radius exceeds hash width")
		}
		total += delta[best]
		rho[best]++
		w, p := tabs[best].width, int(rho[best])
		delta[best] = cm.tableCost(w, p+1, part, occ[best]) - cm.tableCost(w, p, part, occ[best])
	}
	return total
}

// memBudget is the all-in byte budget of an index of n hashes.
func (cfg *mihConfig) memBudget(n int) float64 {
	return cfg.perEntry*float64(n) + max(0, cfg.allowance-cfg.slope*float64(n))
}

// chooseLayout returns the table layout for a segment of n hashes of width
// bits (no tables when a linear scan is modelled as cheaper at the design
// radius). It tries every table count and partial-key width, estimating
// bucket occupancy as for uniformly random hashes, and keeps the cheapest
// layout that fits the memory budget.
func chooseLayout(n, width int, cfg *mihConfig) layout {
	if cfg.mode == modeLinear || n == 0 {
		return layout{}
	}
	lo, hi := max(2, (width+maxTableBits-1)/maxTableBits), width/minTableBits
	if cfg.tables > 0 {
		lo, hi = cfg.tables, cfg.tables
	}
	var best layout
	bestCost := math.Inf(1)
	if cfg.mode == modeAuto {
		bestCost = float64(n) * cfg.cost.lin
	}
	budget := cfg.memBudget(n)
	for m := lo; m <= hi; m++ {
		tabs := split(width, m)
		occ := make([]float64, m)
		offsets := 0.0
		for i, t := range tabs {
			occ[i] = float64(n) / math.Ldexp(1, t.width)
			offsets += 4 * (math.Ldexp(1, t.width) + 1)
		}
		for _, rb := range cfg.records {
			mem := offsets + float64(n)*(cfg.hashBytes+float64(m*rb))
			if mem > budget && cfg.tables == 0 {
				continue
			}
			part := 0
			if cfg.packed {
				part = partialBits(rb, idBits(n), width/m)
			}
			rho := make([]int8, m)
			c := allocate(rho, tabs, part, occ, min(cfg.designRadius, width), cfg.cost)
			if c < bestCost {
				best, bestCost = layout{tabs: tabs, record: rb, part: part}, c
			}
		}
	}
	return best
}

// segPlan is what a segment does for one query radius: nil rho means scan.
type segPlan struct {
	rho []int8
}

// makePlans computes the probing plan of a segment for every radius
// 0..width, using the measured bucket occupancy of each table.
func makePlans(n, width int, lay layout, occ []float64, cfg *mihConfig) []segPlan {
	plans := make([]segPlan, width+1)
	if len(lay.tabs) == 0 {
		return plans
	}
	lin := float64(n) * cfg.cost.lin
	for r := range plans {
		rho := make([]int8, len(lay.tabs))
		c := allocate(rho, lay.tabs, lay.part, occ, r, cfg.cost)
		if cfg.mode != modeMIH && c >= lin {
			break // the cost grows with the radius: scan from here on
		}
		plans[r].rho = rho
	}
	return plans
}

// ballIter enumerates, in batches, every key of width w within distance rho
// of a centre: distance 0, then all masks with one bit set, then two, ...
// using Gosper's next-combination step.
type ballIter struct {
	centre uint32
	w, rho int
	d      int
	mask   uint64
	done   bool
}

func (it *ballIter) reset(centre uint32, w, rho int) {
	*it = ballIter{centre: centre, w: w, rho: min(rho, w), done: rho < 0}
}

// fill writes up to len(dst) keys and returns how many; 0 means exhausted.
func (it *ballIter) fill(dst []uint32) int {
	n := 0
	for n < len(dst) && !it.done {
		dst[n] = it.centre ^ uint32(it.mask)
		n++
		if it.mask != 0 {
			c := it.mask & -it.mask
			r := it.mask + c
			next := r | ((it.mask^r)>>2)>>uint(bits.TrailingZeros64(c))
			if next < 1<<uint(it.w) {
				it.mask = next
				continue
			}
		}
		it.d++
		if it.d > it.rho {
			it.done = true
			continue
		}
		it.mask = 1<<uint(it.d) - 1
	}
	return n
}

// csrSort orders the entries of one table by key: on return bucket k's
// entries occupy positions [off[k], off[k+1]) (off has 2^w+1 entries), and
// put(pos, i, src[i]) has been called once for every entry i, to store it at
// pos.
//
// Large tables use a two-level radix sort: a scatter of (low key bits,
// entry, payload) into 2^p partitions by the high key bits (a few
// sequential write streams), then a counting sort of each partition, whose
// random writes stay in cache. A direct counting sort makes one random DRAM
// write per entry, several times slower at 10^8 entries.
func csrSort[V any](keys []uint32, w int, off []uint32, src []V, put func(pos, i uint32, v V)) {
	n := len(keys)
	src = src[:n]
	clear(off)
	if n < radixMinEntries || w <= radixLowBits {
		for _, k := range keys {
			off[k+1]++
		}
		for k := 1; k < len(off); k++ {
			off[k] += off[k-1]
		}
		// off[k] is the start of bucket k; use it as the write cursor, which
		// leaves it at the end of bucket k = start of k+1, then shift back.
		for i, k := range keys {
			p := off[k]
			off[k] = p + 1
			put(p, uint32(i), src[i])
		}
		copy(off[1:], off[:len(off)-1])
		off[0] = 0
		return
	}
	pb := min(w-radixLowBits, radixMaxPartBits)
	lb := w - pb
	parts := make([]uint32, 1<<pb+1)
	for _, k := range keys {
		parts[k>>lb+1]++
	}
	for p := 1; p < len(parts); p++ {
		parts[p] += parts[p-1]
	}
	cur := make([]uint32, 1<<pb)
	copy(cur, parts)
	tmp := makeHuge[uint64](n)
	tmpV := makeHuge[V](n)
	lmask := uint32(1)<<lb - 1
	for i, k := range keys {
		p := k >> lb
		c := cur[p]
		cur[p] = c + 1
		tmp[c] = uint64(k&lmask)<<32 | uint64(i)
		tmpV[c] = src[i]
	}
	cnt := make([]uint32, 1<<lb)
	for p := range 1 << pb {
		a := parts[p]
		chunk := tmp[a:parts[p+1]]
		vals := tmpV[a:parts[p+1]]
		clear(cnt)
		for _, e := range chunk {
			cnt[e>>32]++
		}
		pos := a
		bucket := off[p<<lb : (p+1)<<lb]
		for l, c := range cnt {
			bucket[l] = pos
			cnt[l] = pos
			pos += c
		}
		for j, e := range chunk {
			l := e >> 32
			q := cnt[l]
			cnt[l] = q + 1
			put(q, uint32(e), vals[j])
		}
	}
	off[len(off)-1] = uint32(n)
}

// occupancy estimates how many entries a probed bucket holds: Σcount²/n - 1
// is the expected number of other entries in the bucket of a random stored
// hash, i.e. what a query that looks like the data meets. It is n/2^w for
// uniform keys and larger when the keys are skewed (constant or correlated
// bits), which makes the planner give such a table less of the radius.
func occupancy(off []uint32) float64 {
	n := off[len(off)-1]
	if n == 0 {
		return 0
	}
	s := 0.0
	for k := 0; k+1 < len(off); k++ {
		c := float64(off[k+1] - off[k])
		s += c * c
	}
	return max(s/float64(n)-1, float64(n)/float64(len(off)-1))
}

// parallel runs f(0..n-1) on up to workers goroutines.
func parallel(n, workers int, f func(i int)) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, n)
	if workers <= 1 {
		for i := range n {
			f(i)
		}
		return
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Go(func() {
			for i := range next {
				f(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// mergeCount reports how many trailing segments should be merged, given
// segment lengths oldest first: like a binary counter, a segment absorbs its
// successor while it is at most twice as long.
func mergeCount(lens []int) int {
	k := 1
	total := lens[len(lens)-1]
	for i := len(lens) - 2; i >= 0; i-- {
		if lens[i] > 2*total {
			break
		}
		total += lens[i]
		k++
	}
	return k
}

// makeHuge allocates a slice advised for huge pages before its first touch.
func makeHuge[T any](n int) []T {
	s := make([]T, n)
	adviseHuge(s, false)
	return s
}

// touchBuckets reads one byte per cache line of every bucket [lo[i],
// hi[i]) of s, whose entries are width bytes. The loads are independent, so
// their misses overlap and the buckets are in cache when they are scanned;
// scanned one after the other, each bucket's lines would arrive at the pace
// of the scan loop. (A portable stand-in for a software prefetch; the sum
// only keeps the loads.)
//
//go:noinline
func touchBuckets(s []byte, lo, hi []uint32, width int) byte {
	var sum byte
	hi = hi[:len(lo)]
	for i, a := range lo {
		b := int(hi[i]) * width
		for j := int(a) * width; j < b; j += 64 {
			sum += s[j]
		}
		if int(a)*width < b {
			sum += s[b-1]
		}
	}
	return sum
}
