//go:build linux

package fingerprint

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time of the process (user and system, all
// threads): benchmarks report images per CPU-second because the
// reference machine is shared and wall time includes other work.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
