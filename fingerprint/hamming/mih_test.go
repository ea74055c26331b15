package hamming

import (
	"bufio"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// --- data generators (shared with mih_bench_test.go) ---

func randHash256(rng *rand.Rand) Hash256 {
	return Hash256{rng.Uint64(), rng.Uint64(), rng.Uint64(), rng.Uint64()}
}

func randHashes256(rng *rand.Rand, n int) []Hash256 {
	out := make([]Hash256, n)
	for i := range out {
		out[i] = randHash256(rng)
	}
	return out
}

// flip256 flips k distinct random bits of h.
func flip256(rng *rand.Rand, h Hash256, k int) Hash256 {
	for _, b := range rng.Perm(256)[:k] {
		h[b/64] ^= 1 << (b % 64)
	}
	return h
}

// noisy256 flips each bit of h with probability p.
func noisy256(rng *rand.Rand, h Hash256, p float64) Hash256 {
	for w := range h {
		for b := range 64 {
			if rng.Float64() < p {
				h[w] ^= 1 << b
			}
		}
	}
	return h
}

// clustered256 returns n noisy copies (each bit flipped with probability p)
// of `centres` random centres, with the bits set in fixed forced to zero:
// skewed data like real banks (near-duplicates, correlated and constant
// bits).
func clustered256(rng *rand.Rand, n, centres int, p float64, fixed Hash256) []Hash256 {
	cs := randHashes256(rng, centres)
	out := make([]Hash256, n)
	for i := range out {
		h := noisy256(rng, cs[rng.IntN(centres)], p)
		for w := range h {
			h[w] &^= fixed[w]
		}
		out[i] = h
	}
	return out
}

func randHashes64(rng *rand.Rand, n int) []Hash64 {
	out := make([]Hash64, n)
	for i := range out {
		out[i] = Hash64(rng.Uint64())
	}
	return out
}

func flip64(rng *rand.Rand, h Hash64, k int) Hash64 {
	for _, b := range rng.Perm(64)[:k] {
		h ^= 1 << b
	}
	return h
}

func noisy64(rng *rand.Rand, h Hash64, p float64) Hash64 {
	for b := range 64 {
		if rng.Float64() < p {
			h ^= 1 << b
		}
	}
	return h
}

func clustered64(rng *rand.Rand, n, centres int, p float64, fixed uint64) []Hash64 {
	cs := randHashes64(rng, centres)
	out := make([]Hash64, n)
	for i := range out {
		out[i] = noisy64(rng, cs[rng.IntN(centres)], p) &^ Hash64(fixed)
	}
	return out
}

// readHashFile reads one hex hash per line. testdata/haystack.txt and
// needles.txt are Meta's PDQ index test vectors (facebook/ThreatExchange,
// pdq/data/reg-test-input, BSD licence), copied unchanged: real PDQ hashes,
// whose bits are not uniform.
func readHashFile(t testing.TB, name string) []Hash256 {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []Hash256
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		h, err := ParseHash256(sc.Text())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out = append(out, h)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// --- helpers ---

type hit struct {
	id   uint32
	dist int
}

func brute256(data []Hash256, q Hash256, r int) []hit {
	var out []hit
	for i, h := range data {
		if d := q.Distance(h); d <= r {
			out = append(out, hit{uint32(i), d})
		}
	}
	return out
}

func brute64(data []Hash64, q Hash64, r int) []hit {
	var out []hit
	for i, h := range data {
		if d := q.Distance(h); d <= r {
			out = append(out, hit{uint32(i), d})
		}
	}
	return out
}

// collect runs a search and fails on an id reported twice.
func collect(t *testing.T, search func(fn func(uint32, int) bool)) []hit {
	t.Helper()
	var out []hit
	seen := map[uint32]bool{}
	search(func(id uint32, d int) bool {
		if seen[id] {
			t.Errorf("id %d reported twice", id)
		}
		seen[id] = true
		out = append(out, hit{id, d})
		return true
	})
	slices.SortFunc(out, func(a, b hit) int { return int(a.id) - int(b.id) })
	return out
}

func diffHits(want, got []hit) string {
	if slices.Equal(want, got) {
		return ""
	}
	w := map[uint32]int{}
	for _, h := range want {
		w[h.id] = h.dist
	}
	var msg string
	n := 0
	for _, h := range got {
		if d, ok := w[h.id]; !ok || d != h.dist {
			msg += fmt.Sprintf(" extra %v (want dist %d, present %v);", h, d, ok)
			n++
		}
		delete(w, h.id)
	}
	for id, d := range w {
		if n++; n > 10 {
			break
		}
		msg += fmt.Sprintf(" missing {%d %d};", id, d)
	}
	return fmt.Sprintf("got %d hits, want %d:%s", len(got), len(want), msg)
}

// --- unit tests of the building blocks ---

func TestBallIter(t *testing.T) {
	for _, w := range []int{1, 2, 5, 8, 11} {
		for rho := -1; rho <= w+1; rho++ {
			centre := uint32(0x5a5a5a5a) & (1<<w - 1)
			var it ballIter
			it.reset(centre, w, rho)
			seen := map[uint32]bool{}
			buf := make([]uint32, 7) // odd batch size exercises resumption
			for n := it.fill(buf); n > 0; n = it.fill(buf) {
				for _, k := range buf[:n] {
					if k >= 1<<w {
						t.Fatalf("w=%d rho=%d: key %x out of range", w, rho, k)
					}
					if seen[k] {
						t.Fatalf("w=%d rho=%d: key %x twice", w, rho, k)
					}
					seen[k] = true
				}
			}
			want := 0
			for k := range uint32(1) << w {
				if bits.OnesCount32(k^centre) <= rho {
					want++
					if !seen[k] {
						t.Fatalf("w=%d rho=%d: key %x missing", w, rho, k)
					}
				}
			}
			if len(seen) != want || float64(want) != ballSize(w, rho) {
				t.Fatalf("w=%d rho=%d: %d keys, want %d, ballSize %v", w, rho, len(seen), want, ballSize(w, rho))
			}
		}
	}
}

func TestAllocateCoversRadius(t *testing.T) {
	cm := defaultConfig256().cost
	for _, tc := range []struct {
		width, m int
		n        float64
	}{{256, 11, 1e7}, {256, 16, 1e5}, {256, 32, 10}, {64, 3, 1e8}, {64, 8, 1e3}} {
		tabs := split(tc.width, tc.m)
		occ := make([]float64, tc.m)
		for i := range occ {
			occ[i] = tc.n / float64(uint64(1)<<tabs[i].width)
		}
		occ[0] *= 1000 // one skewed table
		rho := make([]int8, tc.m)
		for r := 0; r <= tc.width; r++ {
			allocate(rho, tabs, 8, occ, r, cm)
			cover := 0
			for i, p := range rho {
				if p < -1 || int(p) > tabs[i].width {
					t.Fatalf("%+v r=%d: rho[%d]=%d", tc, r, i, p)
				}
				cover += int(p) + 1
			}
			if cover != r+1 {
				t.Fatalf("%+v r=%d: cover %d, want %d (%v)", tc, r, cover, r+1, rho)
			}
		}
		// Small radii should avoid the skewed table.
		allocate(rho, tabs, 8, occ, tc.m-2, cm)
		if rho[0] != -1 {
			t.Errorf("%+v: skewed table probed at small radius: %v", tc, rho)
		}
	}
}

func TestSplit(t *testing.T) {
	for _, tc := range []struct{ width, m int }{{256, 11}, {256, 16}, {64, 3}, {64, 8}} {
		tabs := split(tc.width, tc.m)
		pos := 0
		for _, tb := range tabs {
			if tb.start != pos || tb.width < tc.width/tc.m || tb.width > tc.width/tc.m+1 {
				t.Fatalf("%+v: bad table %+v", tc, tb)
			}
			pos += tb.width
		}
		if pos != tc.width {
			t.Fatalf("%+v: covers %d bits", tc, pos)
		}
	}
}

func TestCSRSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name string
		n, w int
		skew bool
	}{
		{"empty", 0, 10, false},
		{"one", 1, 12, false},
		{"small", 1000, 16, false},
		{"skewed", 5000, 12, true},
		{"radix", radixMinEntries + 12345, 20, false},
		{"radix-skewed", radixMinEntries + 1, radixLowBits + 3, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keys := make([]uint32, tc.n)
			for i := range keys {
				keys[i] = rng.Uint32() & (1<<tc.w - 1)
				if tc.skew && i%3 != 0 {
					keys[i] = 7
				}
			}
			off := make([]uint32, 1<<tc.w+1)
			off[3] = 99 // csrSort must not depend on off being zeroed
			ids := make([]uint32, tc.n)
			src := make([]uint64, tc.n)
			for i := range src {
				src[i] = uint64(i)<<20 | uint64(keys[i])
			}
			dst := make([]uint64, tc.n)
			const base = 1000
			csrSort(keys, tc.w, off, src, func(pos, i uint32, v uint64) {
				ids[pos] = base + i
				dst[pos] = v
			})
			pos := make([]int64, tc.n)
			for i := range pos {
				pos[i] = -1
			}
			for p, id := range ids {
				i := int(id) - base
				if i < 0 || i >= tc.n || pos[i] != -1 {
					t.Fatalf("bad or repeated id %d at %d", id, p)
				}
				pos[i] = int64(p)
				if dst[p] != src[i] {
					t.Fatalf("value at %d is %x, want %x", p, dst[p], src[i])
				}
			}
			if off[0] != 0 || off[len(off)-1] != uint32(tc.n) {
				t.Fatalf("off[0]=%d off[last]=%d, n=%d", off[0], off[len(off)-1], tc.n)
			}
			for k := 1; k < len(off); k++ {
				if off[k] < off[k-1] {
					t.Fatalf("offsets decrease at %d", k)
				}
			}
			for i, p := range pos {
				k := keys[i]
				if p < int64(off[k]) || p >= int64(off[k+1]) {
					t.Fatalf("entry %d (key %d) at %d, bucket is [%d,%d)", i, k, p, off[k], off[k+1])
				}
			}
		})
	}
}

func TestMergeCount(t *testing.T) {
	for _, tc := range []struct {
		lens []int
		want int
	}{
		{[]int{10}, 1},
		{[]int{100, 10}, 1},
		{[]int{20, 10}, 2},
		{[]int{64, 32, 16, 8}, 4},
		{[]int{1000, 64, 32, 16, 8}, 4},
		{[]int{65, 32, 16}, 3},
		{[]int{70, 16, 16}, 2},
	} {
		if got := mergeCount(tc.lens); got != tc.want {
			t.Errorf("mergeCount(%v) = %d, want %d", tc.lens, got, tc.want)
		}
	}
}

// TestLayoutMemory checks the modelled memory of the chosen layouts against
// the targets: ≤ 96 bytes per hash all-in for 256-bit and ≤ 48 for 64-bit
// at 10^8 hashes and beyond.
func TestLayoutMemory(t *testing.T) {
	for _, tc := range []struct {
		width int
		cfg   mihConfig
		limit float64
	}{{256, defaultConfig256(), 96}, {64, defaultConfig64(), 48}} {
		for _, n := range []int{1e8, 3e8, 1e9} {
			lay := chooseLayout(n, tc.width, &tc.cfg)
			if len(lay.tabs) == 0 {
				t.Fatalf("%d-bit n=%d: no tables", tc.width, n)
			}
			mem := float64(n) * (tc.cfg.hashBytes + float64(len(lay.tabs)*lay.record))
			for _, tb := range lay.tabs {
				mem += 4 * float64(uint64(1)<<tb.width+1)
			}
			if per := mem / float64(n); per > tc.limit {
				t.Errorf("%d-bit n=%d: %.1f bytes per hash, want ≤ %v", tc.width, n, per, tc.limit)
			}
		}
	}
}

func TestChooseLayout(t *testing.T) {
	c256, c64 := defaultConfig256(), defaultConfig64()
	for _, tc := range []struct {
		name     string
		n, width int
		cfg      mihConfig
		lo, hi   int // accepted table counts; 0,0: linear
	}{
		{"256 tiny", 50, 256, c256, 0, 0},
		{"256 1e7", 1e7, 256, c256, 11, 16},
		{"256 1e8", 1e8, 256, c256, 10, 12},
		{"64 tiny", 50, 64, c64, 0, 0},
		{"64 1e8", 1e8, 64, c64, 3, 3},
	} {
		got := len(chooseLayout(tc.n, tc.width, &tc.cfg).tabs)
		if got < tc.lo || got > tc.hi {
			t.Errorf("%s: %d tables, want %d..%d", tc.name, got, tc.lo, tc.hi)
		}
	}
}

// --- property tests against brute force ---

var radii256 = []int{0, 1, 5, 8, 16, 31, 32, 48, 64, 100, 256}

type config256 struct {
	name string
	cfg  mihConfig
	maxR int // probing every radius up to 256 with wide tables is slow
}

func configs256() []config256 {
	mk := func(f func(*mihConfig)) mihConfig {
		c := defaultConfig256()
		f(&c)
		return c
	}
	return []config256{
		{"auto", defaultConfig256(), 256},
		{"linear", mk(func(c *mihConfig) { c.mode = modeLinear }), 256},
		{"mih11", mk(func(c *mihConfig) { c.mode, c.tables = modeMIH, 11 }), 48},
		{"mih16", mk(func(c *mihConfig) { c.mode, c.tables = modeMIH, 16 }), 64},
		{"mih32", mk(func(c *mihConfig) { c.mode, c.tables = modeMIH, 32 }), 256},
		{"auto13", mk(func(c *mihConfig) { c.tables = 13 }), 256},
		{"mih13-rec4", mk(func(c *mihConfig) { c.mode, c.tables, c.records = modeMIH, 13, []int{4} }), 48},
		{"mih16-rec6", mk(func(c *mihConfig) { c.mode, c.tables, c.records = modeMIH, 16, []int{6} }), 64},
	}
}

type dataset256 struct {
	name    string
	data    []Hash256
	queries []Hash256
}

func datasets256(t *testing.T) []dataset256 {
	rng := rand.New(rand.NewPCG(256, 1))
	queriesFrom := func(data []Hash256, extra ...Hash256) []Hash256 {
		q := append([]Hash256(nil), extra...)
		for range 8 {
			q = append(q, data[rng.IntN(len(data))])
		}
		for _, k := range []int{1, 3, 10, 20, 31, 40} {
			q = append(q, flip256(rng, data[rng.IntN(len(data))], k))
		}
		return append(q, randHash256(rng), Hash256{}, Hash256{^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0)})
	}
	var sets []dataset256
	random := randHashes256(rng, 3000)
	sets = append(sets, dataset256{"random", random, queriesFrom(random)})

	cl := clustered256(rng, 3000, 5, 0.06, Hash256{})
	sets = append(sets, dataset256{"clustered", cl, queriesFrom(cl)})

	// 200 of 256 bits constant: huge buckets and many duplicates.
	constBits := clustered256(rng, 2000, 50, 0.1, Hash256{^uint64(0), ^uint64(0), ^uint64(0), 0xff})
	sets = append(sets, dataset256{"const-bits", constBits, queriesFrom(constBits)})

	dups := make([]Hash256, 0, 1000)
	base := randHashes256(rng, 10)
	for i := range 1000 {
		dups = append(dups, base[i%10])
	}
	sets = append(sets, dataset256{"duplicates", dups, queriesFrom(dups, flip256(rng, base[0], 2))})

	hay := readHashFile(t, "haystack.txt")
	sets = append(sets, dataset256{"pdq-haystack", hay, queriesFrom(hay, readHashFile(t, "needles.txt")...)})
	return sets
}

func checkIndex256(t *testing.T, ix *Index256, data []Hash256, queries []Hash256, maxR int) {
	t.Helper()
	if ix.Len() != len(data) {
		t.Fatalf("Len() = %d, want %d", ix.Len(), len(data))
	}
	for _, r := range radii256 {
		if r > maxR {
			continue
		}
		for qi, q := range queries {
			want := brute256(data, q, r)
			got := collect(t, func(fn func(uint32, int) bool) { ix.Search(q, r, fn) })
			if d := diffHits(want, got); d != "" {
				t.Fatalf("query %d radius %d: %s", qi, r, d)
			}
		}
	}
}

func TestIndex256MatchesBruteForce(t *testing.T) {
	for _, ds := range datasets256(t) {
		for _, c := range configs256() {
			t.Run(ds.name+"/"+c.name, func(t *testing.T) {
				ix := newIndex256(ds.data, c.cfg)
				checkIndex256(t, ix, ds.data, ds.queries, c.maxR)
			})
		}
	}
}

// TestIndex256Large checks production-sized layouts, where segment-local ids
// take 19 bits and leave only a few bits of each record for the partial key.
func TestIndex256Large(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 300k-entry indexes")
	}
	rng := rand.New(rand.NewPCG(11, 12))
	data := append(randHashes256(rng, 150_000), clustered256(rng, 150_000, 3000, 0.06, Hash256{0xffff})...)
	var queries []Hash256
	for i := range 12 {
		h := data[rng.IntN(len(data))]
		queries = append(queries, flip256(rng, h, 3*i))
	}
	mk := func(f func(*mihConfig)) mihConfig {
		c := defaultConfig256()
		f(&c)
		return c
	}
	for _, c := range []config256{
		{"auto", defaultConfig256(), 48},
		{"mih11-rec4", mk(func(c *mihConfig) { c.mode, c.tables, c.records = modeMIH, 11, []int{4} }), 40},
		{"mih13-rec5", mk(func(c *mihConfig) { c.mode, c.tables, c.records = modeMIH, 13, []int{5} }), 40},
		{"mih16-rec6", mk(func(c *mihConfig) { c.mode, c.tables, c.records = modeMIH, 16, []int{6} }), 48},
	} {
		t.Run(c.name, func(t *testing.T) {
			ix := newIndex256(data, c.cfg)
			checkIndex256(t, ix, data, queries, c.maxR)
		})
	}
}

func TestIndex256Add(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	data := clustered256(rng, 2500, 20, 0.08, Hash256{0, 0xffff0000ffff0000, 0, 0})
	queries := []Hash256{data[3], flip256(rng, data[1000], 12), data[2499], randHash256(rng)}
	for _, c := range configs256() {
		if c.cfg.tables > 0 && c.cfg.tables < 16 {
			continue // forced 20+-bit tables for every 50-entry segment: slow, nothing new
		}
		for _, built := range []int{0, 1, 37, 1200} {
			t.Run(fmt.Sprintf("%s/built=%d", c.name, built), func(t *testing.T) {
				cfg := c.cfg
				cfg.pendingMax = 50
				ix := newIndex256(slices.Clone(data[:built]), cfg)
				for i, h := range data[built:] {
					if id := ix.Add(h); int(id) != built+i {
						t.Fatalf("Add returned id %d, want %d", id, built+i)
					}
				}
				checkIndex256(t, ix, data, queries, min(c.maxR, 48))
				checkSegments(t, len(ix.segs), ix.pendLo, cfg.pendingMax, len(data), func(i int) (int, int) {
					return ix.segs[i].lo, ix.segs[i].hi
				})
			})
		}
	}
}

// checkSegments verifies that segments tile [0, pendLo) and that the
// binary-counter merging keeps their number logarithmic.
func checkSegments(t *testing.T, nseg, pendLo, pendingMax, n int, bounds func(int) (int, int)) {
	t.Helper()
	pos := 0
	for i := range nseg {
		lo, hi := bounds(i)
		if lo != pos || hi <= lo {
			t.Fatalf("segment %d is [%d,%d), expected to start at %d", i, lo, hi, pos)
		}
		pos = hi
	}
	if pos != pendLo || n-pendLo >= pendingMax {
		t.Fatalf("segments end at %d, pending from %d, n=%d", pos, pendLo, n)
	}
	if limit := 2 * bits.Len(uint(n/pendingMax+1)); nseg > limit {
		t.Fatalf("%d segments for %d entries, want at most %d", nseg, n, limit)
	}
}

func TestIndex256SmallAndEdge(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	h := randHash256(rng)
	near := flip256(rng, h, 1)
	for _, c := range configs256() {
		t.Run(c.name, func(t *testing.T) {
			empty := newIndex256(nil, c.cfg)
			if got := collect(t, func(fn func(uint32, int) bool) { empty.Search(h, 256, fn) }); len(got) != 0 {
				t.Fatalf("empty index returned %v", got)
			}
			if empty.Len() != 0 {
				t.Fatalf("empty Len() = %d", empty.Len())
			}

			one := newIndex256([]Hash256{h}, c.cfg)
			for _, tc := range []struct {
				q    Hash256
				r    int
				want []hit
			}{
				{h, 0, []hit{{0, 0}}},
				{h, 31, []hit{{0, 0}}},
				{near, 0, nil},
				{near, 1, []hit{{0, 1}}},
				{near, -1, nil},
				{near, 1000, []hit{{0, 1}}},
			} {
				if tc.r > c.maxR {
					continue
				}
				got := collect(t, func(fn func(uint32, int) bool) { one.Search(tc.q, tc.r, fn) })
				if d := diffHits(tc.want, got); d != "" {
					t.Errorf("one-entry index, radius %d: %s", tc.r, d)
				}
			}
			if id := empty.Add(h); id != 0 {
				t.Fatalf("Add to empty index returned %d", id)
			}
			if got := collect(t, func(fn func(uint32, int) bool) { empty.Search(near, 1, fn) }); len(got) != 1 {
				t.Fatalf("after Add: %v", got)
			}
		})
	}
}

func TestZeroIndex(t *testing.T) {
	var ix Index256
	var ix64 Index64
	rng := rand.New(rand.NewPCG(1, 1))
	data := randHashes256(rng, 5000)
	for i, h := range data {
		if id := ix.Add(h); int(id) != i {
			t.Fatalf("Add returned %d, want %d", id, i)
		}
		ix64.Add(Hash64(h[0]))
	}
	q := flip256(rng, data[4321], 20)
	want := brute256(data, q, 31)
	if d := diffHits(want, collect(t, func(fn func(uint32, int) bool) { ix.Search(q, 31, fn) })); d != "" || len(want) == 0 {
		t.Fatalf("zero Index256 after Adds: %s (want %d hits)", d, len(want))
	}
	got := collect(t, func(fn func(uint32, int) bool) { ix64.Search(Hash64(data[17][0]), 0, fn) })
	if len(got) != 1 || got[0] != (hit{17, 0}) {
		t.Fatalf("zero Index64 after Adds: %v", got)
	}
}

func TestIndex256StopsEarly(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	data := clustered256(rng, 3000, 3, 0.02, Hash256{})
	for _, c := range configs256() {
		if c.maxR < 48 {
			continue
		}
		ix := newIndex256(data, c.cfg)
		ix.Add(data[0])
		total := len(brute256(append(data, data[0]), data[0], 48))
		for _, stopAfter := range []int{1, 3, total} {
			calls := 0
			ix.Search(data[0], 48, func(uint32, int) bool {
				calls++
				return calls < stopAfter
			})
			if calls != stopAfter {
				t.Errorf("%s: fn called %d times, want %d", c.name, calls, stopAfter)
			}
		}
	}
}

func TestIndexBytes(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	var nilIx *Index256
	if nilIx.Bytes() != 0 {
		t.Fatal("nil index has bytes")
	}
	ix := NewIndex256(randHashes256(rng, 20000))
	b := ix.Bytes()
	if b < 32*20000 {
		t.Fatalf("Bytes() = %d, below the hash array alone", b)
	}
	for range 5000 {
		ix.Add(randHash256(rng))
	}
	if ix.Bytes() <= b {
		t.Fatalf("Bytes() did not grow: %d -> %d", b, ix.Bytes())
	}
	ix64 := NewIndex64(randHashes64(rng, 20000))
	if b := ix64.Bytes(); b < 8*20000 {
		t.Fatalf("Index64 Bytes() = %d", b)
	}
}

// --- Index64 ---

type config64 struct {
	name string
	cfg  mihConfig
	maxR int
}

func configs64() []config64 {
	mk := func(f func(*mihConfig)) mihConfig {
		c := defaultConfig64()
		f(&c)
		return c
	}
	return []config64{
		{"auto", defaultConfig64(), 64},
		{"linear", mk(func(c *mihConfig) { c.mode = modeLinear }), 64},
		{"mih3", mk(func(c *mihConfig) { c.mode, c.tables = modeMIH, 3 }), 12},
		{"mih4", mk(func(c *mihConfig) { c.mode, c.tables = modeMIH, 4 }), 20},
		{"mih8", mk(func(c *mihConfig) { c.mode, c.tables = modeMIH, 8 }), 64},
		{"auto5", mk(func(c *mihConfig) { c.tables = 5 }), 64},
	}
}

type dataset64 struct {
	name    string
	data    []Hash64
	queries []Hash64
}

func datasets64(t *testing.T) []dataset64 {
	rng := rand.New(rand.NewPCG(64, 1))
	queriesFrom := func(data []Hash64, extra ...Hash64) []Hash64 {
		q := append([]Hash64(nil), extra...)
		for range 6 {
			q = append(q, data[rng.IntN(len(data))])
		}
		for _, k := range []int{1, 4, 8, 12} {
			q = append(q, flip64(rng, data[rng.IntN(len(data))], k))
		}
		return append(q, Hash64(rng.Uint64()), 0, ^Hash64(0))
	}
	var sets []dataset64
	random := randHashes64(rng, 3000)
	sets = append(sets, dataset64{"random", random, queriesFrom(random)})
	cl := clustered64(rng, 3000, 5, 0.05, 0)
	sets = append(sets, dataset64{"clustered", cl, queriesFrom(cl)})
	cb := clustered64(rng, 2000, 30, 0.1, 0xffffffffff000000)
	sets = append(sets, dataset64{"const-bits", cb, queriesFrom(cb)})
	dups := make([]Hash64, 1000)
	for i := range dups {
		dups[i] = Hash64(0x0123456789abcdef) << (i % 3)
	}
	sets = append(sets, dataset64{"duplicates", dups, queriesFrom(dups)})
	// Real PDQ hashes cut into 64-bit words: real, non-uniform bits.
	var words []Hash64
	for _, h := range readHashFile(t, "haystack.txt") {
		for _, w := range h {
			words = append(words, Hash64(w))
		}
	}
	sets = append(sets, dataset64{"pdq-words", words, queriesFrom(words)})
	return sets
}

func checkIndex64(t *testing.T, ix *Index64, data, queries []Hash64, maxR int) {
	t.Helper()
	if ix.Len() != len(data) {
		t.Fatalf("Len() = %d, want %d", ix.Len(), len(data))
	}
	for r := 0; r <= maxR; r++ {
		for qi, q := range queries {
			if r > 16 && qi%3 != 0 {
				continue // large radii: fewer queries, the sets are huge anyway
			}
			want := brute64(data, q, r)
			got := collect(t, func(fn func(uint32, int) bool) { ix.Search(q, r, fn) })
			if d := diffHits(want, got); d != "" {
				t.Fatalf("query %d radius %d: %s", qi, r, d)
			}
		}
	}
}

func TestIndex64MatchesBruteForce(t *testing.T) {
	for _, ds := range datasets64(t) {
		for _, c := range configs64() {
			t.Run(ds.name+"/"+c.name, func(t *testing.T) {
				checkIndex64(t, newIndex64(ds.data, c.cfg), ds.data, ds.queries, c.maxR)
			})
		}
	}
}

func TestIndex64Add(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	data := clustered64(rng, 2500, 20, 0.06, 0xff00)
	queries := []Hash64{data[3], flip64(rng, data[1000], 5), data[2499], Hash64(rng.Uint64())}
	for _, c := range configs64() {
		if c.cfg.tables == 3 {
			continue // forced 21-bit tables for every 50-entry segment: slow, nothing new
		}
		for _, built := range []int{0, 1, 37, 1200} {
			t.Run(fmt.Sprintf("%s/built=%d", c.name, built), func(t *testing.T) {
				cfg := c.cfg
				cfg.pendingMax = 50
				ix := newIndex64(slices.Clone(data[:built]), cfg)
				for i, h := range data[built:] {
					if id := ix.Add(h); int(id) != built+i {
						t.Fatalf("Add returned id %d, want %d", id, built+i)
					}
				}
				checkIndex64(t, ix, data, queries, min(c.maxR, 16))
				checkSegments(t, len(ix.segs), ix.pendLo, cfg.pendingMax, len(data), func(i int) (int, int) {
					return ix.segs[i].lo, ix.segs[i].hi
				})
			})
		}
	}
}

func TestIndex64SmallAndEdge(t *testing.T) {
	h := Hash64(0xdeadbeefcafef00d)
	near := h ^ 1<<40
	for _, c := range configs64() {
		t.Run(c.name, func(t *testing.T) {
			empty := newIndex64(nil, c.cfg)
			if got := collect(t, func(fn func(uint32, int) bool) { empty.Search(h, 64, fn) }); len(got) != 0 {
				t.Fatalf("empty index returned %v", got)
			}
			one := newIndex64([]Hash64{h}, c.cfg)
			for _, tc := range []struct {
				q    Hash64
				r    int
				want []hit
			}{
				{h, 0, []hit{{0, 0}}},
				{near, 0, nil},
				{near, 1, []hit{{0, 1}}},
				{near, -5, nil},
				{^h, 64, []hit{{0, 64}}},
				{^h, 63, nil},
				{near, 99, []hit{{0, 1}}},
			} {
				if tc.r > c.maxR {
					continue
				}
				got := collect(t, func(fn func(uint32, int) bool) { one.Search(tc.q, tc.r, fn) })
				if d := diffHits(tc.want, got); d != "" {
					t.Errorf("one-entry index, query %v radius %d: %s", tc.q, tc.r, d)
				}
			}
			if id := empty.Add(h); id != 0 {
				t.Fatalf("Add to empty index returned %d", id)
			}
			if got := collect(t, func(fn func(uint32, int) bool) { empty.Search(near, 1, fn) }); len(got) != 1 {
				t.Fatalf("after Add: %v", got)
			}
		})
	}
}

func TestIndex64StopsEarly(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	data := clustered64(rng, 3000, 3, 0.02, 0)
	for _, c := range configs64() {
		if c.maxR < 12 {
			continue
		}
		ix := newIndex64(data, c.cfg)
		total := len(brute64(data, data[0], 12))
		for _, stopAfter := range []int{1, 3, total} {
			calls := 0
			ix.Search(data[0], 12, func(uint32, int) bool {
				calls++
				return calls < stopAfter
			})
			if calls != stopAfter {
				t.Errorf("%s: fn called %d times, want %d", c.name, calls, stopAfter)
			}
		}
	}
}
