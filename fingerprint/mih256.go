package fingerprint

import (
	"fmt"
	"math/bits"
	"slices"
)

// Index256 answers "every id within radius r" for 256-bit hashes (PDQ),
// exactly: the same set as a brute-force scan, for every radius 0..256.
//
// Ids are positions: NewIndex256's slice gives ids 0..len-1 and Add returns
// the next one. The index keeps a reference to that slice (clipped, so Add
// never writes into the caller's spare capacity); the caller must not modify
// its elements afterwards.
//
// Search may run concurrently with other Searches; Add, which may rebuild
// part of the index, needs exclusive access.
//
// Tables store only ids; the hashes are read from the hash array to verify a
// candidate. (Storing the 32-byte hash inline in each of the ~11 tables would
// cost ~350 bytes per entry; instead the search gathers a batch of candidate
// ids first and verifies them in a loop whose loads are independent, so the
// misses overlap.)
type Index256 struct {
	hashes []Hash256
	segs   []*seg256
	pendLo int // ids [pendLo, len(hashes)) are in no segment yet
	cfg    mihConfig
}

// seg256 indexes the ids [lo, hi).
type seg256 struct {
	lo, hi int
	tabs   []table256
	plans  []segPlan // by radius; nil rho: scan
}

// table256 is one substring table: bucket k holds ids[off[k]:off[k+1]].
type table256 struct {
	w0, w1 uint8  // words holding the substring (equal unless it straddles)
	s0, s1 uint8  // right shift of w0, left shift of w1 (64: none)
	width  uint8  // bits
	mask   uint32 // 1<<width - 1
	off    []uint32
	ids    []uint32
}

func defaultConfig256() mihConfig {
	return mihConfig{
		designRadius: 31,
		offsetBytes:  16,
		offsetFloor:  8 << 20,
		pendingMax:   2048,
		cost:         costModel{probe: 20, cand: 8, lin: 2.5},
	}
}

// NewIndex256 indexes hashes; hashes[i] gets id i. It panics if there are
// 2^32-1 hashes or more.
func NewIndex256(hashes []Hash256) *Index256 {
	return newIndex256(hashes, defaultConfig256())
}

func newIndex256(hashes []Hash256, cfg mihConfig) *Index256 {
	checkIDSpace(len(hashes))
	ix := &Index256{hashes: slices.Clip(hashes), cfg: cfg}
	if len(hashes) > 0 {
		ix.segs = []*seg256{buildSeg256(ix.hashes, 0, len(hashes), &ix.cfg)}
		ix.pendLo = len(hashes)
	}
	return ix
}

func checkIDSpace(n int) {
	if uint64(n) >= 1<<32-1 {
		panic(fmt.Sprintf("fingerprint: index of %d hashes exceeds the uint32 id space", n))
	}
}

// Len returns the number of hashes indexed.
func (ix *Index256) Len() int { return len(ix.hashes) }

// Add appends h and returns its id. It is amortised O(log n) table inserts;
// now and then it rebuilds the youngest segments (see the package notes in
// mih.go).
func (ix *Index256) Add(h Hash256) uint32 {
	id := len(ix.hashes)
	checkIDSpace(id + 1)
	ix.hashes = append(ix.hashes, h)
	if len(ix.hashes)-ix.pendLo >= ix.cfg.pendingMax {
		ix.flush()
	}
	return uint32(id)
}

// flush turns the pending tail into a segment, merged with as many of the
// youngest segments as the binary-counter rule asks for.
func (ix *Index256) flush() {
	lens := make([]int, 0, len(ix.segs)+1)
	for _, s := range ix.segs {
		lens = append(lens, s.hi-s.lo)
	}
	lens = append(lens, len(ix.hashes)-ix.pendLo)
	keep := len(ix.segs) + 1 - mergeCount(lens)
	lo := ix.pendLo
	if keep < len(ix.segs) {
		lo = ix.segs[keep].lo
	}
	clear(ix.segs[keep:]) // let the replaced segments go before building
	ix.segs = append(ix.segs[:keep], buildSeg256(ix.hashes, lo, len(ix.hashes), &ix.cfg))
	ix.pendLo = len(ix.hashes)
}

// Bytes returns the approximate memory held, including the hash array
// (which NewIndex256 shares with its caller).
func (ix *Index256) Bytes() int64 {
	if ix == nil {
		return 0
	}
	n := int64(cap(ix.hashes))*32 + 64
	for _, s := range ix.segs {
		n += s.bytes()
	}
	return n
}

// Search calls fn(id, distance) for every indexed hash within radius of q,
// each once, in no particular order, until fn returns false.
func (ix *Index256) Search(q Hash256, radius int, fn func(id uint32, dist int) bool) {
	if radius < 0 {
		return
	}
	radius = min(radius, 256)
	for _, s := range ix.segs {
		if !s.search(&q, radius, ix.hashes, fn) {
			return
		}
	}
	scan256(ix.hashes, ix.pendLo, len(ix.hashes), &q, radius, fn)
}

// scan256 is the linear scan over ids [lo, hi).
func scan256(all []Hash256, lo, hi int, q *Hash256, r int, fn func(uint32, int) bool) bool {
	q0, q1, q2, q3 := q[0], q[1], q[2], q[3]
	for i, h := range all[lo:hi] {
		d := bits.OnesCount64(h[0]^q0) + bits.OnesCount64(h[1]^q1) +
			bits.OnesCount64(h[2]^q2) + bits.OnesCount64(h[3]^q3)
		if d <= r && !fn(uint32(lo+i), d) {
			return false
		}
	}
	return true
}

func buildSeg256(all []Hash256, lo, hi int, cfg *mihConfig) *seg256 {
	s := &seg256{lo: lo, hi: hi}
	layout := chooseLayout(hi-lo, 256, cfg)
	s.tabs = make([]table256, len(layout))
	occ := make([]float64, len(layout))
	hs := all[lo:hi]
	parallel(len(layout), cfg.workers, func(i int) {
		t := newTable256(layout[i])
		t.off = make([]uint32, 1<<t.width+1)
		t.ids = make([]uint32, len(hs))
		csrSort(len(hs), int(t.width), t.off,
			func(j int) uint32 { return t.key(&hs[j]) },
			func(j int, pos uint32) { t.ids[pos] = uint32(lo + j) })
		occ[i] = occupancy(t.off)
		s.tabs[i] = t
	})
	s.plans = makePlans(hi-lo, 256, layout, occ, cfg)
	return s
}

func newTable256(tb tableBits) table256 {
	t := table256{
		w0:    uint8(tb.start / 64),
		s0:    uint8(tb.start % 64),
		width: uint8(tb.width),
		mask:  uint32(1)<<tb.width - 1,
	}
	t.w1, t.s1 = t.w0, 64
	if int(t.s0)+tb.width > 64 {
		t.w1, t.s1 = t.w0+1, 64-t.s0
	}
	return t
}

// key extracts the table's substring of h.
func (t *table256) key(h *Hash256) uint32 {
	return uint32(h[t.w0&3]>>t.s0|h[t.w1&3]<<t.s1) & t.mask
}

func (s *seg256) bytes() int64 {
	n := int64(64 + len(s.plans)*24)
	for _, t := range s.tabs {
		n += int64(cap(t.off)+cap(t.ids))*4 + 64
	}
	for _, p := range s.plans {
		n += int64(cap(p.rho))
	}
	return n
}

// search reports the segment's hashes within r of q; false means fn stopped.
func (s *seg256) search(q *Hash256, r int, all []Hash256, fn func(uint32, int) bool) bool {
	rho := s.plans[r].rho
	if rho == nil {
		return scan256(all, s.lo, s.hi, q, r, fn)
	}
	var (
		qk     [256 / minTableBits]uint32
		keys   [probeBatch]uint32
		lo, hi [probeBatch]uint32
		cand   [candBatch]uint32
		it     ballIter
	)
	for t := range s.tabs {
		qk[t] = s.tabs[t].key(q)
	}
	q0, q1, q2, q3 := q[0], q[1], q[2], q[3]
	// verify checks the gathered candidates of table t. A hash within r is
	// reported only by the first probed table whose substring is within that
	// table's sub-radius, so each id is reported once without a seen-set.
	verify := func(t int, cand []uint32) bool {
		for _, id := range cand {
			h := &all[id]
			d := bits.OnesCount64(h[0]^q0) + bits.OnesCount64(h[1]^q1) +
				bits.OnesCount64(h[2]^q2) + bits.OnesCount64(h[3]^q3)
			if d > r {
				continue
			}
			dup := false
			for u := range t {
				if rho[u] >= 0 && bits.OnesCount32(s.tabs[u].key(h)^qk[u]) <= int(rho[u]) {
					dup = true
					break
				}
			}
			if !dup && !fn(id, d) {
				return false
			}
		}
		return true
	}
	for t := range s.tabs {
		if rho[t] < 0 {
			continue
		}
		tb := &s.tabs[t]
		off, ids := tb.off, tb.ids
		it.reset(qk[t], int(tb.width), int(rho[t]))
		for {
			nk := it.fill(keys[:])
			if nk == 0 {
				break
			}
			// Stage 1: all bucket bounds (independent loads).
			for i, k := range keys[:nk] {
				lo[i], hi[i] = off[k], off[k+1]
			}
			// Stage 2: gather candidate ids; stage 3: verify them.
			nc := 0
			for i := range nk {
				for _, id := range ids[lo[i]:hi[i]] {
					if nc == len(cand) {
						if !verify(t, cand[:nc]) {
							return false
						}
						nc = 0
					}
					cand[nc] = id
					nc++
				}
			}
			if !verify(t, cand[:nc]) {
				return false
			}
		}
	}
	return true
}

// probeStats returns how many buckets a search for q at radius r probes and
// how many candidate entries they hold (a scanned segment counts all its
// entries as candidates and no probes). Benchmarks report it.
func (ix *Index256) probeStats(q Hash256, r int) (probes, cands int) {
	r = min(max(r, 0), 256)
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
			it.reset(tb.key(&q), int(tb.width), int(rho[t]))
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
