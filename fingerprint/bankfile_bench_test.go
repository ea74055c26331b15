package fingerprint

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/leakwatch/leakwatch/fingerprint/hamming"
)

// BenchmarkLoadBank measures LoadBank (one read, checksum, parse) and the
// index build on a bank of N captures with one PDQ hash and one pHash each
// (N = 1e6 by default; LEAKWATCH_BENCH_BANK_N=10000000 for 1e7).
func BenchmarkLoadBank(b *testing.B) {
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("LEAKWATCH_BENCH_BANK_N")); err == nil && v > 0 {
		n = v
	}
	rng := rand.New(rand.NewPCG(1, 2))
	bank := NewBank()
	enrolled := time.Unix(1700000000, 0)
	for i := 0; i < n; i++ {
		h := hamming.Hash256{rng.Uint64(), rng.Uint64(), rng.Uint64(), rng.Uint64()}
		_ = bank.Add(Enrollment{Capture: Capture{ID: fmt.Sprintf("traveler-%09d", i), Kind: "face", Source: "crossing-7", EnrolledAt: enrolled},
			PDQ: []RegionHash{{Hash: h, Quality: 90}}, PHash: hamming.Hash64(rng.Uint64())})
	}
	path := filepath.Join(b.TempDir(), "bank.lwb")
	if err := bank.Save(path); err != nil {
		b.Fatal(err)
	}
	fi, _ := os.Stat(path)
	bank = nil
	runtime.GC()
	b.ResetTimer()
	var ms runtime.MemStats
	for i := 0; i < b.N; i++ {
		start := time.Now()
		got, err := LoadBank(path)
		if err != nil {
			b.Fatal(err)
		}
		load := time.Since(start)
		got.BuildIndex()
		b.ReportMetric(load.Seconds(), "load-s")
		runtime.GC()
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ms.HeapInuse)/float64(n), "heapB/capture")
		runtime.KeepAlive(got)
	}
	b.ReportMetric(float64(fi.Size())/float64(n), "fileB/capture")
}
