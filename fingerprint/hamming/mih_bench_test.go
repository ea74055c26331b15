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

// dataCache holds one generated data set; indexCache one built index.
type benchKey struct {
	dist string
	n    int
}

type benchData256 struct {
	key     benchKey
	data    []Hash256
	queries []Hash256
}

type benchIndex256 struct {
	key   benchKey
	ix    *Index256
	build time.Duration
}

type benchData64 struct {
	key     benchKey
	data    []Hash64
	queries []Hash64
}

type benchIndex64 struct {
	key   benchKey
	ix    *Index64
	build time.Duration
}

var (
	cache256   benchData256
	cacheIx256 benchIndex256
	cache64    benchData64
	cacheIx64  benchIndex64
)

// andNoise returns a word whose bits are each set with probability 2^-k.
func andNoise(rng *rand.Rand, k int) uint64 {
	w := ^uint64(0)
	for range k {
		w &= rng.Uint64()
	}
	return w
}

// benchSet256 generates N hashes and benchQueries queries.
//
//	random:    uniform hashes; queries are half uniform (no neighbours),
//	           half stored hashes with ~8 bits flipped.
//	clustered: N/64 uniform centres, members flip each bit with p=1/16
//	           (~16 bits from the centre, ~30 between members); queries are
//	           members with ~8 bits flipped. (Near-duplicate-heavy banks;
//	           the tests also cover constant bits, which PDQ's and pHash's
//	           median thresholds make unlikely in real hashes.)
func benchSet256(dist string, n int) benchData256 {
	k := benchKey{dist, n}
	if cache256.key == k {
		return cache256
	}
	cache256, cacheIx256 = benchData256{}, benchIndex256{}
	runtime.GC()
	rng := rand.New(rand.NewPCG(uint64(n), 256))
	d := benchData256{key: k, data: make([]Hash256, n), queries: make([]Hash256, benchQueries)}
	switch dist {
	case "random":
		for i := range d.data {
			d.data[i] = randHash256(rng)
		}
		for i := range d.queries {
			if i%2 == 0 {
				d.queries[i] = randHash256(rng)
				continue
			}
			q := d.data[rng.IntN(n)]
			for w := range q {
				q[w] ^= andNoise(rng, 5)
			}
			d.queries[i] = q
		}
	case "clustered":
		centres := randHashes256(rng, max(n/64, 1))
		for i := range d.data {
			h := centres[rng.IntN(len(centres))]
			for w := range h {
				h[w] ^= andNoise(rng, 4)
			}
			d.data[i] = h
		}
		for i := range d.queries {
			q := d.data[rng.IntN(n)]
			for w := range q {
				q[w] ^= andNoise(rng, 5)
			}
			d.queries[i] = q
		}
	default:
		panic(dist)
	}
	cache256 = d
	return d
}

func benchIndex256For(d benchData256) benchIndex256 {
	if cacheIx256.key == d.key {
		return cacheIx256
	}
	cacheIx256 = benchIndex256{}
	runtime.GC()
	start := time.Now()
	ix := NewIndex256(d.data)
	cacheIx256 = benchIndex256{key: d.key, ix: ix, build: time.Since(start)}
	return cacheIx256
}

// benchSet64 is benchSet256 for 64-bit hashes (random queries: half
// uniform, half stored with ~2 bits flipped; clustered: members ~2 bits from
// their centre, queries ~1 bit from a member).
func benchSet64(dist string, n int) benchData64 {
	k := benchKey{dist, n}
	if cache64.key == k {
		return cache64
	}
	cache64, cacheIx64 = benchData64{}, benchIndex64{}
	runtime.GC()
	rng := rand.New(rand.NewPCG(uint64(n), 64))
	d := benchData64{key: k, data: make([]Hash64, n), queries: make([]Hash64, benchQueries)}
	switch dist {
	case "random":
		for i := range d.data {
			d.data[i] = Hash64(rng.Uint64())
		}
		for i := range d.queries {
			if i%2 == 0 {
				d.queries[i] = Hash64(rng.Uint64())
				continue
			}
			d.queries[i] = d.data[rng.IntN(n)] ^ Hash64(andNoise(rng, 5))
		}
	case "clustered":
		centres := randHashes64(rng, max(n/64, 1))
		for i := range d.data {
			d.data[i] = centres[rng.IntN(len(centres))] ^ Hash64(andNoise(rng, 5))
		}
		for i := range d.queries {
			d.queries[i] = d.data[rng.IntN(n)] ^ Hash64(andNoise(rng, 6))
		}
	default:
		panic(dist)
	}
	cache64 = d
	return d
}

func benchIndex64For(d benchData64) benchIndex64 {
	if cacheIx64.key == d.key {
		return cacheIx64
	}
	cacheIx64 = benchIndex64{}
	runtime.GC()
	start := time.Now()
	ix := NewIndex64(d.data)
	cacheIx64 = benchIndex64{key: d.key, ix: ix, build: time.Since(start)}
	return cacheIx64
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
				d := benchSet256(dist, n)
				bi := benchIndex256For(d)
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
			d := benchSet256("random", n)
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
				d := benchSet64(dist, n)
				bi := benchIndex64For(d)
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
			d := benchSet64("random", n)
			runQueries(b, func(i int, fn func(uint32, int) bool) { scan64(d.data, 0, n, uint64(d.queries[i]), radius, fn) })
			b.ReportMetric(float64(n), "cand/q")
			b.ReportMetric(8, "B/entry")
		})
	}
}
