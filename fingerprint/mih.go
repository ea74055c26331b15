package fingerprint

// Exact Hamming-radius search by multi-index hashing (Norouzi, Punjani and
// Fleet, "Fast Search in Hamming Space with Multi-Index Hashing", CVPR 2012).
//
// A hash is cut into m disjoint substrings ("tables") of b_i bits. For a query
// q and radius r, pick sub-radii ρ_i ≥ -1 with Σ(ρ_i+1) ≥ r+1. If a stored
// hash h has d(q,h) ≤ r, some substring i must satisfy d_i(q,h) ≤ ρ_i:
// otherwise every d_i ≥ ρ_i+1 and d(q,h) = Σd_i ≥ Σ(ρ_i+1) > r. (ρ_i = -1
// means table i is not probed; with all ρ_i = ⌊r/m⌋ this is the paper's
// pigeonhole, the general form lets cheap exact-match tables and
// expensive neighbourhood tables share the radius.) Probing every key within
// ρ_i of q's substring in every table therefore finds every true neighbour;
// candidates are verified with the full distance, so the result is exactly
// the brute-force set for every radius.
//
// The sub-radii are chosen per query radius from a cost model (probes cost a
// random memory access, candidates a verification), and when the model says a
// plain scan is cheaper (large radius, small segment) the segment is scanned.
//
// Layout: each table is a CSR bucket array built by a two-level radix
// counting sort, an offsets array of 2^b+1 uint32 (bucket k is
// entries[off[k]:off[k+1]]) plus the packed entries. Probing is staged so
// that the processor can overlap the cache misses of many buckets: first all
// bucket bounds of a batch of keys are loaded, then the buckets are read,
// then (256-bit) the candidates are verified. Without staging each probe is a
// chain of dependent misses and the search runs several times slower.
//
// Incremental adds go to an unsorted pending tail that is scanned linearly;
// when it reaches a few thousand entries it becomes a segment (its own
// tables, sized for its own length), and segments are merged like a binary
// counter (two neighbours of similar size are rebuilt as one), so an index
// grown by Add holds O(log n) segments and each entry is rebuilt O(log n)
// times. Ids are positions in the hash array, so a segment is just an id
// range and merging needs no id remapping.

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
// on a Sapphire Rapids server core with banks of 10^6–10^7 hashes (see
// BENCHMARKS.md). Only relative values matter.
type costModel struct {
	probe float64 // per probed bucket: bound lookups and the bucket's first line
	cand  float64 // per candidate entry read and verified
	lin   float64 // per entry of a linear scan
}

// mihConfig holds the tunables; tests and benchmarks override them.
type mihConfig struct {
	// tables forces the number of tables (0: chosen from the segment length).
	tables int
	// designRadius is the radius the table layout is optimised for.
	designRadius int
	// offsetBytes bounds the offsets arrays, in bytes per entry, beyond
	// offsetFloor bytes, so small segments do not carry huge empty tables.
	offsetBytes float64
	offsetFloor float64
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

// tableCost is the modelled cost of probing a table of width w whose probed
// buckets hold occ entries on average, with sub-radius rho.
func (cm costModel) tableCost(w, rho int, occ float64) float64 {
	return ballSize(w, rho) * (cm.probe + cm.cand*occ)
}

// allocate sets rho[i] ≥ -1 so that Σ(rho[i]+1) = r+1, greedily giving each
// unit of radius to the table whose cost grows least (optimal while the
// costs are convex, i.e. for radii below half the table width, which is
// where probing can beat a scan). It returns the modelled cost.
func allocate(rho []int8, tabs []tableBits, occ []float64, r int, cm costModel) float64 {
	for i := range rho {
		rho[i] = -1
	}
	total := 0.0
	for range r + 1 {
		best, bestDelta := -1, math.Inf(1)
		for i, t := range tabs {
			if int(rho[i]) >= t.width {
				continue
			}
			d := cm.tableCost(t.width, int(rho[i])+1, occ[i]) - cm.tableCost(t.width, int(rho[i]), occ[i])
			if d < bestDelta {
				best, bestDelta = i, d
			}
		}
		if best < 0 {
			// Σ(width+1) ≥ width+m > r for every r ≤ hash width.
			panic("fingerprint: radius exceeds hash width")
		}
		rho[best]++
		total += bestDelta
	}
	return total
}

// chooseLayout returns the table layout for a segment of n hashes of width
// bits, or nil when a linear scan is modelled as cheaper at the design
// radius. It tries every table count, estimating bucket occupancy as for
// uniformly random hashes, and keeps the cheapest layout whose offsets fit
// the memory budget.
func chooseLayout(n, width int, cfg *mihConfig) []tableBits {
	if cfg.mode == modeLinear || n == 0 {
		return nil
	}
	lo, hi := (width+maxTableBits-1)/maxTableBits, width/minTableBits
	if cfg.tables > 0 {
		lo, hi = cfg.tables, cfg.tables
	}
	var best []tableBits
	bestCost := math.Inf(1)
	if cfg.mode == modeAuto {
		bestCost = float64(n) * cfg.cost.lin
	}
	budget := cfg.offsetFloor + cfg.offsetBytes*float64(n)
	for m := lo; m <= hi; m++ {
		tabs := split(width, m)
		occ := make([]float64, m)
		mem := 0.0
		for i, t := range tabs {
			occ[i] = float64(n) / math.Ldexp(1, t.width)
			mem += 4 * (math.Ldexp(1, t.width) + 1)
		}
		if mem > budget && cfg.tables == 0 {
			continue
		}
		rho := make([]int8, m)
		c := allocate(rho, tabs, occ, min(cfg.designRadius, width), cfg.cost)
		if c < bestCost {
			best, bestCost = tabs, c
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
func makePlans(n, width int, tabs []tableBits, occ []float64, cfg *mihConfig) []segPlan {
	plans := make([]segPlan, width+1)
	if len(tabs) == 0 {
		return plans
	}
	lin := float64(n) * cfg.cost.lin
	for r := range plans {
		rho := make([]int8, len(tabs))
		c := allocate(rho, tabs, occ, r, cfg.cost)
		if cfg.mode == modeMIH || (cfg.mode == modeAuto && c < lin) {
			plans[r].rho = rho
		}
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

// csrSort builds the bucket offsets of one table: off has 2^w+1 entries and,
// on return, bucket k's entries belong at [off[k], off[k+1]). keyAt(i)
// returns the key of entry i; place(i, pos) must store entry i at pos. For
// large tables it runs a two-level radix sort, first scattering (key, i)
// pairs into 2^p partitions by the key's high bits (few sequential write
// streams), then sorting each partition, whose writes stay in cache; a
// direct counting sort would make one random DRAM write per entry.
func csrSort(n, w int, off []uint32, keyAt func(i int) uint32, place func(i int, pos uint32)) {
	if n < radixMinEntries || w <= radixLowBits {
		for i := range n {
			off[keyAt(i)+1]++
		}
		for k := 1; k < len(off); k++ {
			off[k] += off[k-1]
		}
		// off[k] is now the end of bucket k-1 = start of bucket k; use it as
		// the write cursor, which leaves off[k] = end of bucket k ...
		for i := range n {
			k := keyAt(i)
			place(i, off[k])
			off[k]++
		}
		// ... and shift back.
		copy(off[1:], off[:len(off)-1])
		off[0] = 0
		return
	}
	pb := min(w-radixLowBits, radixMaxPartBits)
	lb := w - pb
	parts := make([]uint32, 1<<pb+1)
	for i := range n {
		parts[keyAt(i)>>lb+1]++
	}
	for p := 1; p < len(parts); p++ {
		parts[p] += parts[p-1]
	}
	cur := make([]uint32, 1<<pb)
	copy(cur, parts)
	tmp := make([]uint64, n)
	lmask := uint32(1)<<lb - 1
	for i := range n {
		k := keyAt(i)
		p := k >> lb
		tmp[cur[p]] = uint64(k&lmask)<<32 | uint64(i)
		cur[p]++
	}
	cnt := make([]uint32, 1<<lb)
	for p := range 1 << pb {
		chunk := tmp[parts[p]:parts[p+1]]
		clear(cnt)
		for _, e := range chunk {
			cnt[e>>32]++
		}
		pos := parts[p]
		base := p << lb
		for l, c := range cnt {
			off[base+l] = pos
			cnt[l] = pos
			pos += c
		}
		for _, e := range chunk {
			l := e >> 32
			place(int(uint32(e)), cnt[l])
			cnt[l]++
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
