//go:build linux

package hamming

import (
	"syscall"
	"time"
)

// threadCPU returns the CPU time of the calling OS thread (lock the
// goroutine to its thread around a measurement). The benchmarks report
// queries per CPU-second beside queries per second because the reference
// machine is shared: wall time includes time slices given to other work.
func threadCPU() (time.Duration, bool) {
	const rusageThread = 1 // RUSAGE_THREAD
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
