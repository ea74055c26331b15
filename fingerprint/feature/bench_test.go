package feature_test

import (
	"fmt"
	"image/color"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"testing"

	"github.com/leakwatch/leakwatch/fingerprint/feature"
	"github.com/leakwatch/leakwatch/fixtures/photos"
	"github.com/leakwatch/leakwatch/fixtures/transform"
)

// BenchmarkExtractQuery describes a 1920x1080 photograph as a query
// (shrunk to 1024 pixels, 8 levels, up to 2000 keypoints, mirrored
// descriptors): the route's cost per query image after decoding.
func BenchmarkExtractQuery(b *testing.B) {
	g := feature.GrayFromImage(transform.ResizeTo(1920, 1080)(photos.All()[0].Image))
	o := feature.QueryOptions()
	b.ResetTimer()
	for b.Loop() {
		feature.ExtractQuery(g, o)
	}
}

// BenchmarkEnroll describes a capture for the bank (512 pixels, 64
// features kept).
func BenchmarkEnroll(b *testing.B) {
	g := feature.GrayFromImage(transform.ResizeTo(1920, 1080)(photos.All()[0].Image))
	for b.Loop() {
		s := feature.ResizeArea(g, 512, 288)
		feature.Encode(feature.Select(feature.Extract(s, feature.EnrollOptions()), 64, s.W, s.H), s.W, s.H)
	}
}

// syntheticBank returns n captures of 64 features each, made from real
// descriptors with a third of their bits flipped at random, so that the
// bit statistics (and the index lists' balance) are those of real ones.
func syntheticBank(n int) []feature.CaptureSet {
	var real []feature.Keypoint
	// Not the first photograph: BenchmarkSearchCopy queries a copy of
	// it, and its perturbed features scattered over 10^5 captures would
	// land on its own often enough to be left out as common.
	for _, p := range photos.All()[1:9] {
		real = append(real, feature.Extract(feature.GrayFromImage(p.Image), feature.EnrollOptions())...)
	}
	r := rand.New(rand.NewPCG(uint64(n), 1))
	sets := make([]feature.CaptureSet, n)
	for i := range sets {
		fs := make([]feature.Feature, 64)
		for j := range fs {
			d := real[r.IntN(len(real))].Desc
			for w := range d {
				d[w] ^= r.Uint64() & r.Uint64() & (r.Uint64() | r.Uint64())
			}
			fs[j] = feature.Feature{Desc: d, X: uint16(r.Uint32()), Y: uint16(r.Uint32()), Scale: uint8(r.IntN(64)), Angle: uint8(r.Uint32())}
		}
		sets[i] = feature.CaptureSet{W: 512, H: 384, Features: fs}
	}
	return sets
}

// benchSizes are the bank sizes the search benchmarks run at: 10^3 to
// 10^5 captures, and by tens up to LEAKWATCH_BENCH_MAX_CAPTURES when it is
// set (10^6 takes about 4 GB and a minute to build).
func benchSizes() []int {
	sizes := []int{1e3, 1e4, 1e5}
	if m, err := strconv.Atoi(os.Getenv("LEAKWATCH_BENCH_MAX_CAPTURES")); err == nil {
		for n := int(1e6); n <= m; n *= 10 {
			sizes = append(sizes, n)
		}
	}
	return sizes
}

// BenchmarkSearch looks up and verifies an unrelated photograph's query
// keypoints in banks of growing size: the cost per query beyond
// extraction, and the index's memory per capture.
func BenchmarkSearch(b *testing.B) {
	all := photos.All()
	q := feature.GrayFromImage(transform.ResizeTo(1920, 1080)(all[len(all)-1].Image))
	query := feature.ExtractQuery(q, feature.QueryOptions())
	for _, n := range benchSizes() {
		b.Run(fmt.Sprintf("captures=%d", n), func(b *testing.B) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			ix := feature.NewIndex(syntheticBank(n))
			runtime.GC()
			runtime.ReadMemStats(&after)
			var st feature.SearchStats
			b.ResetTimer()
			for b.Loop() {
				_, st = ix.Search(query, feature.DefaultSearchOptions())
			}
			b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(n), "heap-bytes/capture")
			b.ReportMetric(float64(st.Entries), "entries/query")
			b.ReportMetric(float64(st.Verified), "verified/query")
			runtime.KeepAlive(ix)
		})
	}
}

// BenchmarkSearchCopy looks up a copy (turned 17 degrees) of a photograph enrolled among synthetic captures and the other fixture
// photographs: lookup, the verification of the captures it leads to, and
// the site readings.
func BenchmarkSearchCopy(b *testing.B) {
	all := photos.All()
	var real []feature.CaptureSet
	for _, p := range all {
		g := feature.GrayFromImage(p.Image)
		if m := max(g.W, g.H); m > 512 {
			g = feature.ResizeArea(g, g.W*512/m, g.H*512/m)
		}
		real = append(real, feature.Encode(feature.Select(feature.Extract(g, feature.EnrollOptions()), 64, g.W, g.H), g.W, g.H))
	}
	// The query is described as match describes it: from its 512-pixel
	// working plane, doubled.
	g := feature.GrayFromImage(transform.Rotate(17, color.Black)(all[0].Image))
	if m := max(g.W, g.H); m > 512 {
		g = feature.ResizeArea(g, g.W*512/m, g.H*512/m)
	}
	query := feature.ExtractQuery(g, feature.QueryOptions())
	for _, n := range benchSizes() {
		b.Run(fmt.Sprintf("captures=%d", n), func(b *testing.B) {
			ix := feature.NewIndex(append(slices.Clone(real), syntheticBank(n)...))
			var st feature.SearchStats
			var hits []feature.Hit
			for b.Loop() {
				hits, st = ix.Search(query, feature.DefaultSearchOptions())
			}
			if len(hits) == 0 || hits[0].Capture != 0 {
				b.Fatalf("the copy was not found: %+v", hits)
			}
			b.ReportMetric(float64(st.Verified), "verified/query")
			b.ReportMetric(float64(st.Read), "read/query")
			// The key grows with the bank: a copy's evidence must not
			// shrink with it.
			b.ReportMetric(float64(hits[0].Verdict.Inliers), "inliers")
		})
	}
}
