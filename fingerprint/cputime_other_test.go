//go:build !linux

package fingerprint

import "time"

// processCPU is unavailable here; the benchmarks then omit img/cpu-s.
func processCPU() (time.Duration, bool) { return 0, false }
