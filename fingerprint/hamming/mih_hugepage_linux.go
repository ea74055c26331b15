//go:build linux

package hamming

import (
	"runtime"
	"syscall"
	"unsafe"
)

// madvCollapse is MADV_COLLAPSE (Linux 6.1+); older kernels reject it,
// which is harmless.
const madvCollapse = 25

// hugePageMin is the smallest array worth advising.
const hugePageMin = 4 << 20

// adviseHuge asks the kernel to back s with 2 MiB transparent huge pages
// (MADV_HUGEPAGE, effective where THP is in "madvise" mode) and, with
// collapse, to convert the already-touched pages now (MADV_COLLAPSE).
//
// Probing and verification are random accesses over arrays of hundreds of
// megabytes; with 4 KiB pages nearly every one also misses the TLB, and
// under virtualisation a page walk costs as much as the access itself.
// Huge pages made the 256-bit search ~25% faster at 10^7 hashes. The advice
// never changes the contents; errors (old kernel, THP disabled) are ignored.
func adviseHuge[T any](s []T, collapse bool) {
	var zero T
	size := uintptr(cap(s)) * unsafe.Sizeof(zero)
	if size < hugePageMin {
		return
	}
	const huge = 2 << 20
	p := uintptr(unsafe.Pointer(unsafe.SliceData(s)))
	start := (p + huge - 1) &^ (huge - 1)
	end := (p + size) &^ (huge - 1)
	if end <= start {
		return
	}
	_, _, _ = syscall.Syscall(syscall.SYS_MADVISE, start, end-start, syscall.MADV_HUGEPAGE)
	if collapse {
		_, _, _ = syscall.Syscall(syscall.SYS_MADVISE, start, end-start, madvCollapse)
	}
	runtime.KeepAlive(s)
}
