//go:build !linux

package fingerprint

import "time"

// threadCPU is unavailable here; the benchmarks then omit q/cpu-s.
func threadCPU() (time.Duration, bool) { return 0, false }
