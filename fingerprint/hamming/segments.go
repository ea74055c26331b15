package hamming

import (
	"fmt"
	"slices"
	"unsafe"
)

// segment is what the Add policy needs from a segment of either width.
type segment interface {
	span() (lo, hi int)
	bytes() int64
}

// segments is the width-independent half of an index: the hash array, the
// segments that index its ids and the pending tail, with the Add and merge
// policy of mih.go. Index64 and Index256 embed it and keep their own search,
// the hot loop, on concrete types.
type segments[H any, S segment] struct {
	hashes []H
	segs   []S
	pendLo int // ids [pendLo, len(hashes)) are in no segment yet
	cfg    mihConfig
}

// buildFunc indexes the ids [lo, hi) of all as one segment.
type buildFunc[H any, S segment] func(all []H, lo, hi int, cfg *mihConfig) S

// init indexes hashes as one segment; hashes[i] gets id i.
func (ix *segments[H, S]) init(hashes []H, cfg mihConfig, build buildFunc[H, S]) {
	checkIDSpace(len(hashes))
	ix.hashes, ix.cfg = slices.Clip(hashes), cfg
	if len(hashes) > 0 {
		ix.segs = []S{build(ix.hashes, 0, len(hashes), &ix.cfg)}
		ix.pendLo = len(hashes)
	}
}

func checkIDSpace(n int) {
	if uint64(n) >= 1<<32-1 {
		panic(fmt.Sprintf("hamming: index of %d hashes exceeds the uint32 id space", n))
	}
}

// Len returns the number of hashes indexed.
func (ix *segments[H, S]) Len() int { return len(ix.hashes) }

// add appends h and returns its id; a zero index takes the defaults.
func (ix *segments[H, S]) add(h H, defaults func() mihConfig, build buildFunc[H, S]) uint32 {
	if ix.cfg.pendingMax == 0 { // zero Index
		ix.cfg = defaults()
	}
	id := len(ix.hashes)
	checkIDSpace(id + 1)
	ix.hashes = append(ix.hashes, h)
	if len(ix.hashes)-ix.pendLo >= ix.cfg.pendingMax {
		ix.flush(build)
	}
	return uint32(id)
}

// flush turns the pending tail into a segment, merged with as many of the
// youngest segments as the binary-counter rule asks for.
func (ix *segments[H, S]) flush(build buildFunc[H, S]) {
	lens := make([]int, 0, len(ix.segs)+1)
	for _, s := range ix.segs {
		lo, hi := s.span()
		lens = append(lens, hi-lo)
	}
	lens = append(lens, len(ix.hashes)-ix.pendLo)
	keep := len(ix.segs) + 1 - mergeCount(lens)
	lo := ix.pendLo
	if keep < len(ix.segs) {
		lo, _ = ix.segs[keep].span()
	}
	clear(ix.segs[keep:]) // let the replaced segments go before building
	ix.segs = append(ix.segs[:keep], build(ix.hashes, lo, len(ix.hashes), &ix.cfg))
	ix.pendLo = len(ix.hashes)
}

// bytes returns the approximate memory held, hash array included.
func (ix *segments[H, S]) bytes() int64 {
	var h H
	n := int64(cap(ix.hashes))*int64(unsafe.Sizeof(h)) + 64
	for _, s := range ix.segs {
		n += s.bytes()
	}
	return n
}
