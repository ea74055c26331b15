//go:build !linux

package hamming

import "time"

// threadCPU is unavailable here; the benchmarks then omit q/cpu-s.
func threadCPU() (time.Duration, bool) { return 0, false }
