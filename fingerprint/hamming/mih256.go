package hamming

import (
	"encoding/binary"
	"math/bits"
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
// A table entry is a 4–6 byte record: a segment-local id and, in the
// remaining bits, part of the next table's key, which the pigeonring filter
// of mih.go checks inline; the full hash is read from the hash array only
// for the few entries that pass.
type Index256 struct {
	segments[Hash256, *seg256]
}

// seg256 indexes the ids [lo, hi) of the hash array.
type seg256 struct {
	lo, hi int
	rb     int // bytes per record
	idBits int
	tabs   []table256
	plans  []segPlan // by radius; nil rho: scan
}

// table256 is one substring table: bucket k holds the records [off[k],
// off[k+1]). Record j is the little-endian integer in rec[rb·j:rb·(j+1)]:
// bits 0..idBits-1 are the id minus the segment's lo, the bits above hold
// the low part bits of the next table's key (see pack). rec has 8 bytes of
// padding so that a record can be read with one 8-byte load.
type table256 struct {
	sub   subkey
	part  int    // partial-key bits
	pmask uint64 // where they are in a record
	off   []uint32
	rec   []byte
}

// subkey extracts bits [start, start+width) of a Hash256.
type subkey struct {
	w0, w1 uint8  // words holding the substring (equal unless it straddles)
	s0, s1 uint8  // right shift of w0, left shift of w1 (64: none)
	width  uint8  // bits
	mask   uint32 // 1<<width - 1
}

func newSubkey(tb tableBits) subkey {
	k := subkey{
		w0:    uint8(tb.start / 64),
		s0:    uint8(tb.start % 64),
		width: uint8(tb.width),
		mask:  uint32(1)<<tb.width - 1,
	}
	k.w1, k.s1 = k.w0, 64
	if int(k.s0)+tb.width > 64 {
		k.w1, k.s1 = k.w0+1, 64-k.s0
	}
	return k
}

func (k *subkey) of(h *Hash256) uint32 {
	return uint32(h[k.w0&3]>>k.s0|h[k.w1&3]<<k.s1) & k.mask
}

func defaultConfig256() mihConfig {
	return mihConfig{
		designRadius: 31,
		records:      []int{4, 5, 6},
		packed:       true,
		hashBytes:    32,
		perEntry:     96,
		allowance:    1e9,
		slope:        10,
		pendingMax:   2048,
		cost:         costModel{probe: 54, scan: 2.2, cand: 60, lin: 4.5},
	}
}

// NewIndex256 indexes hashes; hashes[i] gets id i. It panics if there are
// 2^32-1 hashes or more.
func NewIndex256(hashes []Hash256) *Index256 {
	return newIndex256(hashes, defaultConfig256())
}

func newIndex256(hashes []Hash256, cfg mihConfig) *Index256 {
	ix := &Index256{}
	ix.init(hashes, cfg, buildSeg256)
	return ix
}

// Add appends h and returns its id. It costs amortised O(log n) table
// inserts; now and then it rebuilds the youngest segments (see mih.go).
func (ix *Index256) Add(h Hash256) uint32 { return ix.add(h, defaultConfig256, buildSeg256) }

// Bytes returns the approximate memory held, including the hash array
// (which NewIndex256 shares with its caller).
func (ix *Index256) Bytes() int64 {
	if ix == nil {
		return 0
	}
	return ix.bytes()
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

// probeStats returns, for a search of q at radius r, the buckets probed,
// the entries checked inline and the hashes fetched (scans count as
// fetches). Benchmarks report them.
func (ix *Index256) probeStats(q Hash256, r int) (probes, entries, fetches int) {
	r = min(max(r, 0), 256)
	for _, s := range ix.segs {
		p, e, f := s.probeStats(&q, r)
		probes, entries, fetches = probes+p, entries+e, fetches+f
	}
	return probes, entries, fetches + len(ix.hashes) - ix.pendLo
}

// scan256 is the linear scan over ids [lo, hi); see scan64.
func scan256(all []Hash256, lo, hi int, q *Hash256, r int, fn func(uint32, int) bool) bool {
	var found [candBatch]uint32
	for a := lo; a < hi; {
		e := min(hi, a+len(found))
		n := matchHashes(all, a, e, q, r, found[:])
		for _, id := range found[:n] {
			if !fn(id, q.Distance(all[id])) {
				return false
			}
		}
		a = e
	}
	return true
}

// matchHashes writes to out the ids a..e-1 within r of q and returns how
// many; len(out) ≥ e-a.
//
//go:noinline
func matchHashes(all []Hash256, a, e int, q *Hash256, r int, out []uint32) int {
	q0, q1, q2, q3 := q[0], q[1], q[2], q[3]
	n := 0
	hs := all[a:e]
	for i := range hs {
		h := &hs[i]
		d := bits.OnesCount64(h[0]^q0) + bits.OnesCount64(h[1]^q1) +
			bits.OnesCount64(h[2]^q2) + bits.OnesCount64(h[3]^q3)
		if d <= r {
			out[n] = uint32(a + i)
			n++
		}
	}
	return n
}

func buildSeg256(all []Hash256, lo, hi int, cfg *mihConfig) *seg256 {
	lay := chooseLayout(hi-lo, 256, cfg)
	s := &seg256{lo: lo, hi: hi, rb: lay.record, idBits: idBits(hi - lo), tabs: make([]table256, len(lay.tabs))}
	occ := make([]float64, len(lay.tabs))
	hs := all[lo:hi]
	if len(lay.tabs) > 0 {
		// Verification reads hashes at random: see adviseHuge.
		adviseHuge(hs, true)
	}
	parallel(len(lay.tabs), cfg.workers, func(i int) {
		next := newSubkey(lay.tabs[(i+1)%len(lay.tabs)])
		t := table256{sub: newSubkey(lay.tabs[i]), part: partialBits(s.rb, s.idBits, int(next.width))}
		t.pmask = s.pack(0, 1<<t.part-1)
		keys := makeHuge[uint32](len(hs))
		part := makeHuge[uint32](len(hs))
		for j := range hs {
			keys[j] = t.sub.of(&hs[j])
			part[j] = next.of(&hs[j])
		}
		t.off = makeHuge[uint32](1<<t.sub.width + 1)
		t.rec = makeHuge[byte](s.rb*len(hs) + 8)
		pm := uint64(1)<<t.part - 1
		csrSort(keys, int(t.sub.width), t.off, part, func(pos, j, p uint32) {
			s.put(t.rec, pos, s.pack(j, uint64(p)&pm))
		})
		occ[i] = occupancy(t.off)
		s.tabs[i] = t
	})
	s.plans = makePlans(hi-lo, 256, lay, occ, cfg)
	return s
}

// pack makes a record from a local id and a partial key: the partial key's
// low 32-idBits bits above the id, the rest from bit 32 on.
func (s *seg256) pack(id uint32, p uint64) uint64 {
	low := uint64(1)<<(32-s.idBits) - 1
	return uint64(id) | (p&low)<<s.idBits | (p>>(32-s.idBits))<<32
}

// put stores record v at position pos.
func (s *seg256) put(rec []byte, pos uint32, v uint64) {
	o := int(pos) * s.rb
	binary.LittleEndian.PutUint32(rec[o:], uint32(v))
	switch s.rb {
	case 5:
		rec[o+4] = byte(v >> 32)
	case 6:
		binary.LittleEndian.PutUint16(rec[o+4:], uint16(v>>32))
	}
}

func (s *seg256) span() (lo, hi int) { return s.lo, s.hi }

func (s *seg256) bytes() int64 {
	n := int64(64 + len(s.plans)*24)
	for _, t := range s.tabs {
		n += int64(cap(t.off))*4 + int64(cap(t.rec)) + 64
	}
	for _, pl := range s.plans {
		n += int64(cap(pl.rho))
	}
	return n
}

// search reports the segment's hashes within r of q; false means fn stopped.
//
// Per table t (sub-radius rho[t], next table u) every key within rho[t] of
// the query's key is probed in stages so that the cache misses of a batch
// overlap instead of forming a chain: the bucket bounds of up to probeBatch
// keys, a touch of every cache line of those buckets, the inline check of
// their records (a record at key distance d passes if its partial key is
// within rho[t]+rho[u]+1-d of the query's), and the fetch and full distance
// of the survivors.
func (s *seg256) search(q *Hash256, r int, all []Hash256, fn func(uint32, int) bool) bool {
	rho := s.plans[r].rho
	if rho == nil {
		return scan256(all, s.lo, s.hi, q, r, fn)
	}
	var (
		qk     [256 / minTableBits]uint32
		keys   [probeBatch]uint32
		lo, hi [probeBatch]uint32
		slack  [probeBatch]int8
		cand   [candBatch]uint32
		it     ballIter
	)
	m := len(s.tabs)
	for t := range s.tabs {
		qk[t] = s.tabs[t].sub.of(q)
	}
	idMask := uint64(1)<<s.idBits - 1
	for t := range s.tabs {
		if rho[t] < 0 {
			continue
		}
		tb := &s.tabs[t]
		off, rec := tb.off, tb.rec
		u := (t + 1) % m
		qp := s.pack(0, uint64(qk[u])) & tb.pmask
		bound := int(rho[t]) + int(rho[u]) + 1
		it.reset(qk[t], int(tb.sub.width), int(rho[t]))
		for nk := it.fill(keys[:]); nk > 0; nk = it.fill(keys[:]) {
			for i, k := range keys[:nk] {
				lo[i], hi[i] = off[k], off[k+1]
				slack[i] = int8(bound - bits.OnesCount32(k^qk[t]))
			}
			touchBuckets(rec, lo[:nk], hi[:nk], s.rb)
			nc := 0
			for i := range nk {
				for a, b := int(lo[i]), int(hi[i]); a < b; {
					if nc == len(cand) {
						if !s.verify(t, cand[:nc], q, r, &qk, rho, all, fn) {
							return false
						}
						nc = 0
					}
					e := min(b, a+len(cand)-nc)
					nc += filterRecords(rec, s.rb, a, e, qp, tb.pmask, idMask, int(slack[i]), uint32(s.lo), cand[nc:])
					a = e
				}
			}
			if !s.verify(t, cand[:nc], q, r, &qk, rho, all, fn) {
				return false
			}
		}
	}
	return true
}

// filterRecords copies to out the ids (base + local id) of records a..e-1
// whose partial key is within slack of the query's (qp, packed like a
// record) and returns how many; len(out) ≥ e-a. It is a separate, not
// inlined function so that its loop keeps its values in registers.
//
//go:noinline
func filterRecords(rec []byte, rb, a, e int, qp, pmask, idMask uint64, slack int, base uint32, out []uint32) int {
	if slack < 0 {
		return 0
	}
	n := 0
	for o, end := a*rb, e*rb; o < end; o += rb {
		v := binary.LittleEndian.Uint64(rec[o:])
		if bits.OnesCount64((v^qp)&pmask) <= slack {
			out[n] = base + uint32(v&idMask)
			n++
		}
	}
	return n
}

// verify fetches the candidates of table t and reports those within r for
// which t is the canonical start.
func (s *seg256) verify(t int, cand []uint32, q *Hash256, r int, qk *[256 / minTableBits]uint32, rho []int8, all []Hash256, fn func(uint32, int) bool) bool {
	q0, q1, q2, q3 := q[0], q[1], q[2], q[3]
	for _, id := range cand {
		h := &all[id]
		d := bits.OnesCount64(h[0]^q0) + bits.OnesCount64(h[1]^q1) +
			bits.OnesCount64(h[2]^q2) + bits.OnesCount64(h[3]^q3)
		if d <= r && s.firstStart(t, h, qk, rho) && !fn(id, d) {
			return false
		}
	}
	return true
}

// firstStart reports whether table t is the canonical start of h (see the
// pigeonring notes in mih.go): the first table from which every chain of
// consecutive tables satisfies Σ(d_j - rho_j - 1) ≤ -1. A hash within the
// radius has at least one such start and is reported from exactly the first.
func (s *seg256) firstStart(t int, h *Hash256, qk *[256 / minTableBits]uint32, rho []int8) bool {
	var z [256 / minTableBits]int
	m := len(s.tabs)
	for j := range s.tabs {
		z[j] = bits.OnesCount32(s.tabs[j].sub.of(h)^qk[j]) - int(rho[j]) - 1
	}
	for i := 0; i <= t; i++ {
		if z[i] > -1 {
			continue // d_i > rho_i: not probed from i, not a start
		}
		valid, sum := true, 0
		for l := range m {
			if sum += z[(i+l)%m]; sum > -1 {
				valid = false
				break
			}
		}
		if valid {
			return i == t
		}
	}
	return false
}

func (s *seg256) probeStats(q *Hash256, r int) (probes, entries, fetches int) {
	rho := s.plans[r].rho
	if rho == nil {
		return 0, 0, s.hi - s.lo
	}
	var (
		qk   [256 / minTableBits]uint32
		keys [probeBatch]uint32
		it   ballIter
	)
	m := len(s.tabs)
	for t := range s.tabs {
		qk[t] = s.tabs[t].sub.of(q)
	}
	for t := range s.tabs {
		tb := &s.tabs[t]
		u := (t + 1) % m
		qp := s.pack(0, uint64(qk[u])) & tb.pmask
		it.reset(qk[t], int(tb.sub.width), int(rho[t]))
		for nk := it.fill(keys[:]); nk > 0; nk = it.fill(keys[:]) {
			for _, k := range keys[:nk] {
				probes++
				sl := int(rho[t]) + int(rho[u]) + 1 - bits.OnesCount32(k^qk[t])
				for j := int(tb.off[k]); j < int(tb.off[k+1]); j++ {
					entries++
					v := binary.LittleEndian.Uint64(tb.rec[j*s.rb:])
					if bits.OnesCount64((v^qp)&tb.pmask) <= sl {
						fetches++
					}
				}
			}
		}
	}
	return probes, entries, fetches
}
