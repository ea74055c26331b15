package hamming

import "math/bits"

// Index64 is Index256 for 64-bit hashes (pHash): exact radius search for
// every radius 0..64, ids are positions, the same sharing and concurrency
// rules apply.
//
// Unlike Index256 its tables keep each hash inline next to the bucket
// entries (8 bytes plus a 4-byte id per table), so a candidate is verified
// from the bucket's own cache lines, without a random access; three tables
// cost 36 bytes per entry.
type Index64 struct {
	segments[Hash64, *seg64]
}

type seg64 struct {
	lo, hi int
	tabs   []table64
	plans  []segPlan
}

// table64: bucket k holds vals[off[k]:off[k+1]] with ids in the same order.
type table64 struct {
	shift uint8
	width uint8
	mask  uint32
	off   []uint32
	vals  []Hash64
	ids   []uint32
}

func defaultConfig64() mihConfig {
	return mihConfig{
		designRadius: 8,
		records:      []int{12},
		hashBytes:    8,
		perEntry:     48,
		allowance:    2.5e8,
		slope:        2.5,
		pendingMax:   8192,
		cost:         costModel{probe: 40, scan: 1.15, lin: 1},
	}
}

// NewIndex64 indexes hashes; hashes[i] gets id i. It panics if there are
// 2^32-1 hashes or more.
func NewIndex64(hashes []Hash64) *Index64 {
	return newIndex64(hashes, defaultConfig64())
}

func newIndex64(hashes []Hash64, cfg mihConfig) *Index64 {
	ix := &Index64{}
	ix.init(hashes, cfg, buildSeg64)
	return ix
}

// Add appends h and returns its id (see Index256.Add).
func (ix *Index64) Add(h Hash64) uint32 { return ix.add(h, defaultConfig64, buildSeg64) }

// Bytes returns the approximate memory held, including the hash array
// (which NewIndex64 shares with its caller).
func (ix *Index64) Bytes() int64 {
	if ix == nil {
		return 0
	}
	return ix.bytes()
}

func (s *seg64) span() (lo, hi int) { return s.lo, s.hi }

func (s *seg64) bytes() int64 {
	n := int64(64 + len(s.plans)*24)
	for _, t := range s.tabs {
		n += int64(cap(t.off)+cap(t.ids))*4 + int64(cap(t.vals))*8 + 64
	}
	for _, p := range s.plans {
		n += int64(cap(p.rho))
	}
	return n
}

// Search calls fn(id, distance) for every indexed hash within radius of q,
// each once, in no particular order, until fn returns false.
func (ix *Index64) Search(q Hash64, radius int, fn func(id uint32, dist int) bool) {
	if radius < 0 {
		return
	}
	radius = min(radius, 64)
	for _, s := range ix.segs {
		if !s.search(uint64(q), radius, ix.hashes, fn) {
			return
		}
	}
	scan64(ix.hashes, ix.pendLo, len(ix.hashes), uint64(q), radius, fn)
}

// scan64 is the linear scan over ids [lo, hi). The distance loop runs in
// matchVals, without the callback, so that it stays in registers; this
// doubles its speed.
func scan64(all []Hash64, lo, hi int, q uint64, r int, fn func(uint32, int) bool) bool {
	var found [candBatch]uint32
	for a := lo; a < hi; {
		e := min(hi, a+len(found))
		n := matchVals(all, a, e, q, r, found[:])
		for _, id := range found[:n] {
			if !fn(id, bits.OnesCount64(uint64(all[id])^q)) {
				return false
			}
		}
		a = e
	}
	return true
}

func buildSeg64(all []Hash64, lo, hi int, cfg *mihConfig) *seg64 {
	s := &seg64{lo: lo, hi: hi}
	lay := chooseLayout(hi-lo, 64, cfg)
	s.tabs = make([]table64, len(lay.tabs))
	occ := make([]float64, len(lay.tabs))
	hs := all[lo:hi]
	parallel(len(lay.tabs), cfg.workers, func(i int) {
		tb := lay.tabs[i]
		t := table64{shift: uint8(tb.start), width: uint8(tb.width), mask: uint32(1)<<tb.width - 1}
		keys := makeHuge[uint32](len(hs))
		for j, h := range hs {
			keys[j] = t.key(uint64(h))
		}
		t.off = makeHuge[uint32](1<<t.width + 1)
		t.vals = makeHuge[Hash64](len(hs))
		t.ids = makeHuge[uint32](len(hs))
		csrSort(keys, int(t.width), t.off, hs, func(pos, i uint32, h Hash64) {
			t.vals[pos] = h
			t.ids[pos] = uint32(lo) + i
		})
		occ[i] = occupancy(t.off)
		s.tabs[i] = t
	})
	s.plans = makePlans(hi-lo, 64, lay, occ, cfg)
	return s
}

func (t *table64) key(h uint64) uint32 { return uint32(h>>t.shift) & t.mask }

// search is seg256.search without the partial-key stage: the buckets hold
// the hashes themselves, so after the bounds and the touch of their lines
// each bucket is scanned in place.
func (s *seg64) search(q uint64, r int, all []Hash64, fn func(uint32, int) bool) bool {
	rho := s.plans[r].rho
	if rho == nil {
		return scan64(all, s.lo, s.hi, q, r, fn)
	}
	var (
		qk     [64 / minTableBits]uint32
		keys   [probeBatch]uint32
		lo, hi [probeBatch]uint32
		found  [candBatch]uint32
		it     ballIter
	)
	for t := range s.tabs {
		qk[t] = s.tabs[t].key(q)
	}
	for t := range s.tabs {
		if rho[t] < 0 {
			continue
		}
		tb := &s.tabs[t]
		off, vals, ids := tb.off, tb.vals, tb.ids
		it.reset(qk[t], int(tb.width), int(rho[t]))
		for nk := it.fill(keys[:]); nk > 0; nk = it.fill(keys[:]) {
			for i, k := range keys[:nk] {
				lo[i], hi[i] = off[k], off[k+1]
			}
			touchVals(vals, lo[:nk], hi[:nk])
			for i := range nk {
				for a, b := int(lo[i]), int(hi[i]); a < b; {
					e := min(b, a+len(found))
					nf := matchVals(vals, a, e, q, r, found[:])
					for _, j := range found[:nf] {
						v := uint64(vals[j])
						if s.reportedBefore(t, v, &qk, rho) {
							continue
						}
						if !fn(ids[j], bits.OnesCount64(v^q)) {
							return false
						}
					}
					a = e
				}
			}
		}
	}
	return true
}

// reportedBefore reports whether a match found in table t was already found
// in an earlier probed table: each hash is reported by the first table whose
// substring is within that table's sub-radius, so no seen-set is needed.
func (s *seg64) reportedBefore(t int, v uint64, qk *[64 / minTableBits]uint32, rho []int8) bool {
	for u := range t {
		if rho[u] >= 0 && bits.OnesCount32(s.tabs[u].key(v)^qk[u]) <= int(rho[u]) {
			return true
		}
	}
	return false
}

// matchVals writes to out the positions a..e-1 of vals within r of q and
// returns how many; len(out) ≥ e-a. Separate and not inlined so that its
// loop keeps its values in registers.
//
//go:noinline
func matchVals(vals []Hash64, a, e int, q uint64, r int, out []uint32) int {
	n := 0
	for j, v := range vals[a:e] {
		if bits.OnesCount64(uint64(v)^q) <= r {
			out[n] = uint32(a + j)
			n++
		}
	}
	return n
}

// touchVals is touchBuckets for the 8-byte hashes of a table64.
//
//go:noinline
func touchVals(vals []Hash64, lo, hi []uint32) Hash64 {
	var sum Hash64
	hi = hi[:len(lo)]
	for i, a := range lo {
		b := hi[i]
		for j := a; j < b; j += 8 {
			sum += vals[j]
		}
		if a < b {
			sum += vals[b-1]
		}
	}
	return sum
}

// probeStats is Index256.probeStats for 64-bit hashes.
func (ix *Index64) probeStats(q Hash64, r int) (probes, cands int) {
	r = min(max(r, 0), 64)
	for _, s := range ix.segs {
		rho := s.plans[r].rho
		if rho == nil {
			cands += s.hi - s.lo
			continue
		}
		var it ballIter
		var keys [probeBatch]uint32
		for t := range s.tabs {
			tb := &s.tabs[t]
			it.reset(tb.key(uint64(q)), int(tb.width), int(rho[t]))
			for nk := it.fill(keys[:]); nk > 0; nk = it.fill(keys[:]) {
				for _, k := range keys[:nk] {
					probes++
					cands += int(tb.off[k+1] - tb.off[k])
				}
			}
		}
	}
	return probes, cands + len(ix.hashes) - ix.pendLo
}
