package hamming

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"testing"
	"time"
)

// The index benchmarks build one index per (distribution, N) and keep only
// the latest alive, so run them one N at a time in this order. N=1e8 needs
// about 10 GB and runs only with LEAKWATCH_BENCH_1E8=1.
//
//	go test -run='^$' -bench='Search256|Brute256' -benchtime=2000x ./fingerprint/hamming/
//
// Metrics: q/s (one goroutine, wall clock), q/cpu-s (the same per CPU-second
// of its thread, which on a shared machine excludes time slices lost to
// other work), probes/q (bucket lookups), cand/q (bucket entries checked;
// 64-bit: verified inline; brute force: N), fetch/q (256-bit: full hashes
// read after the inline partial-key check), hits/q, build-s (index build
// wall time, all cores) and B/entry (Index.Bytes()/N, hash array included).

func benchSizes() []int {
	sizes := []int{1e5, 1e6, 1e7}
	if os.Getenv("LEAKWATCH_BENCH_1E8") == "1" {
		sizes = append(sizes, 1e8)
	}
	return sizes
}

const benchQueries = 4096

// benchData is one generated data set; benchIndex the index built on it.
// Each width keeps only its latest of each alive.
type benchKey struct {
	dist string
	n    int
}

type benchData[H any] struct {
	key     benchKey
	data    []H
	queries []H
}

type benchIndex[X any] struct {
	key   benchKey
	ix    X
	build time.Duration
}

// benchCache holds the latest data set and index of one hash width.
type benchCache[H, X any] struct {
	data  benchData[H]
	index benchIndex[X]
}

var (
	cache256 benchCache[Hash256, *Index256]
	cache64  benchCache[Hash64, *Index64]
)

// andNoise returns a word whose bits are each set with probability 2^-k.
func andNoise(rng *rand.Rand, k int) uint64 {
	w := ^uint64(0)
	for range k {
		w &= rng.Uint64()
	}
	return w
}

// benchHashes says how a width's data sets are drawn: random hashes, and
// noise whose bits are each set with probability 2^-k.
type benchHashes[H any] struct {
	seed  uint64
	rand  func(rng *rand.Rand) H
	noise func(rng *rand.Rand, h H, k int) H
	// memberK and queryK are the noise of cluster members around their
	// centre and of clustered queries around a member.
	memberK, queryK int
}

// bench256 and bench64 describe the data sets:
//
//	random:    uniform hashes; queries are half uniform (no neighbours),
//	           half stored hashes with noise 2^-5 per bit (~8 bits flipped
//	           of 256, ~2 of 64).
//	clustered: N/64 uniform centres. 256 bits: members flip each bit with
//	           p=1/16 (~16 bits from the centre, ~30 between members);
//	           queries are members with ~8 bits flipped. 64 bits: members
//	           ~2 bits from their centre, queries ~1 bit from a member.
//	           (Near-duplicate-heavy banks; the tests also cover constant
//	           bits, which PDQ's and pHash's median thresholds make unlikely
//	           in real hashes.)
var (
	bench256 = benchHashes[Hash256]{
		seed: 256,
		rand: randHash256,
		noise: func(rng *rand.Rand, h Hash256, k int) Hash256 {
			for w := range h {
				h[w] ^= andNoise(rng, k)
			}
			return h
		},
		memberK: 4, queryK: 5,
	}
	bench64 = benchHashes[Hash64]{
		seed:    64,
		rand:    func(rng *rand.Rand) Hash64 { return Hash64(rng.Uint64()) },
		noise:   func(rng *rand.Rand, h Hash64, k int) Hash64 { return h ^ Hash64(andNoise(rng, k)) },
		memberK: 5, queryK: 6,
	}
)

// set generates (or returns the cached) N hashes and benchQueries queries
// of distribution dist, dropping the cached index of the previous set.
func (c *benchCache[H, X]) set(g benchHashes[H], dist string, n int) benchData[H] {
	k := benchKey{dist, n}
	if c.data.key == k {
		return c.data
	}
	*c = benchCache[H, X]{}
	runtime.GC()
	rng := rand.New(rand.NewPCG(uint64(n), g.seed))
	d := benchData[H]{key: k, data: make([]H, n), queries: make([]H, benchQueries)}
	switch dist {
	case "random":
		for i := range d.data {
			d.data[i] = g.rand(rng)
		}
		for i := range d.queries {
			if i%2 == 0 {
				d.queries[i] = g.rand(rng)
				continue
			}
			d.queries[i] = g.noise(rng, d.data[rng.IntN(n)], 5)
		}
	case "clustered":
		centres := make([]H, max(n/64, 1))
		for i := range centres {
			centres[i] = g.rand(rng)
		}
		for i := range d.data {
			d.data[i] = g.noise(rng, centres[rng.IntN(len(centres))], g.memberK)
		}
		for i := range d.queries {
			d.queries[i] = g.noise(rng, d.data[rng.IntN(n)], g.queryK)
		}
	default:
		panic(dist)
	}
	c.data = d
	return d
}

// indexFor builds (or returns the cached) index of d, timing the build.
func (c *benchCache[H, X]) indexFor(d benchData[H], build func([]H) X) benchIndex[X] {
	if c.index.key == d.key {
		return c.index
	}
	c.index = benchIndex[X]{}
	runtime.GC()
	start := time.Now()
	ix := build(d.data)
	c.index = benchIndex[X]{key: d.key, ix: ix, build: time.Since(start)}
	return c.index
}

func sizeName(n int) string {
	e := 0
	for m := n; m >= 10 && m%10 == 0; m /= 10 {
		e++
	}
	return fmt.Sprintf("N=1e%d", e)
}

// runQueries times b.N searches, cycling through the queries, on one
// locked OS thread, and reports q/s, q/cpu-s and hits/q.
func runQueries(b *testing.B, search func(i int, fn func(uint32, int) bool)) {
	hits := 0
	count := func(uint32, int) bool {
		hits++
		return true
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	c0, cpuOK := threadCPU()
	b.ResetTimer()
	for i := range b.N {
		search(i%benchQueries, count)
	}
	b.StopTimer()
	c1, _ := threadCPU()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "q/s")
	if cpuOK && c1-c0 >= 100*time.Millisecond {
		b.ReportMetric(float64(b.N)/(c1-c0).Seconds(), "q/cpu-s")
	}
	b.ReportMetric(float64(hits)/float64(b.N), "hits/q")
}

func BenchmarkSearch256(b *testing.B) {
	const radius = 31
	for _, n := range benchSizes() {
		for _, dist := range []string{"random", "clustered"} {
			b.Run(sizeName(n)+"/"+dist, func(b *testing.B) {
				d := cache256.set(bench256, dist, n)
				bi := cache256.indexFor(d, NewIndex256)
				probes, entries, fetches := 0, 0, 0
				for _, q := range d.queries[:256] {
					p, e, f := bi.ix.probeStats(q, radius)
					probes, entries, fetches = probes+p, entries+e, fetches+f
				}
				runQueries(b, func(i int, fn func(uint32, int) bool) { bi.ix.Search(d.queries[i], radius, fn) })
				b.ReportMetric(float64(probes)/256, "probes/q")
				b.ReportMetric(float64(entries)/256, "cand/q")
				b.ReportMetric(float64(fetches)/256, "fetch/q")
				b.ReportMetric(bi.build.Seconds(), "build-s")
				b.ReportMetric(float64(bi.ix.Bytes())/float64(n), "B/entry")
			})
		}
	}
}

func BenchmarkBrute256(b *testing.B) {
	const radius = 31
	for _, n := range benchSizes() {
		b.Run(sizeName(n)+"/random", func(b *testing.B) {
			d := cache256.set(bench256, "random", n)
			runQueries(b, func(i int, fn func(uint32, int) bool) { scan256(d.data, 0, n, &d.queries[i], radius, fn) })
			b.ReportMetric(float64(n), "cand/q")
			b.ReportMetric(32, "B/entry")
		})
	}
}

func BenchmarkSearch64(b *testing.B) {
	const radius = 8
	for _, n := range benchSizes() {
		for _, dist := range []string{"random", "clustered"} {
			b.Run(sizeName(n)+"/"+dist, func(b *testing.B) {
				d := cache64.set(bench64, dist, n)
				bi := cache64.indexFor(d, NewIndex64)
				probes, cands := 0, 0
				for _, q := range d.queries[:256] {
					p, c := bi.ix.probeStats(q, radius)
					probes, cands = probes+p, cands+c
				}
				runQueries(b, func(i int, fn func(uint32, int) bool) { bi.ix.Search(d.queries[i], radius, fn) })
				b.ReportMetric(float64(probes)/256, "probes/q")
				b.ReportMetric(float64(cands)/256, "cand/q")
				b.ReportMetric(bi.build.Seconds(), "build-s")
				b.ReportMetric(float64(bi.ix.Bytes())/float64(n), "B/entry")
			})
		}
	}
}

func BenchmarkBrute64(b *testing.B) {
	const radius = 8
	for _, n := range benchSizes() {
		b.Run(sizeName(n)+"/random", func(b *testing.B) {
			d := cache64.set(bench64, "random", n)
			runQueries(b, func(i int, fn func(uint32, int) bool) { scan64(d.data, 0, n, uint64(d.queries[i]), radius, fn) })
			b.ReportMetric(float64(n), "cand/q")
			b.ReportMetric(8, "B/entry")
		})
	}
}
