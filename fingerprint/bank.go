package fingerprint

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"sort"
	"sync"
	"time"

	"github.com/leakwatch/leakwatch/fingerprint/feature"
	"github.com/leakwatch/leakwatch/fingerprint/hamming"
	"github.com/leakwatch/leakwatch/fingerprint/pdq"
)

// Capture describes one enrolled photograph. It holds identifiers and
// metadata only: a bank never stores pixels.
type Capture struct {
	ID         string            `json:"capture_id"`
	Kind       string            `json:"kind,omitempty"`
	Source     string            `json:"source,omitempty"`
	EnrolledAt time.Time         `json:"enrolled_at"`
	Meta       map[string]string `json:"meta,omitempty"`
}

// Region numbers an enrolled PDQ hash: 0 is the whole capture, other values
// are sub-regions enrolled for crop resistance (see Regions).
type Region uint8

// RegionImported marks a PDQ hash imported from another system (bank
// import). Such hashes come from Meta's reference front end, so they are
// compared only with a query's reference hashes (Fingerprint.Reference).
const RegionImported Region = 255

// RegionHash is one enrolled PDQ hash of a capture or of a region of it.
type RegionHash struct {
	Hash    hamming.Hash256
	Region  Region
	Quality int
	// Frame places a patch (Region == RegionPatch) in the capture.
	Frame PatchFrame
}

// Enrollment is what Bank.Add stores for one capture.
type Enrollment struct {
	Capture Capture
	PDQ     []RegionHash
	PHash   hamming.Hash64
	// NoPHash marks an enrollment without a pHash (e.g. PDQ imported from
	// another system), so no meaningless zero hash is indexed.
	NoPHash bool
	// Features are the capture's local features (empty for imported
	// hashes and enrollments without features).
	Features feature.CaptureSet
}

// ErrDuplicate reports a capture ID that is already in the bank.
var ErrDuplicate = errors.New("capture already enrolled")

// Bank is the in-memory fingerprint bank. It is safe for concurrent use:
// searches take a read lock, Add a write lock.
type Bank struct {
	mu   sync.RWMutex
	caps captureTable

	pdqHash []hamming.Hash256
	pdqCap  []uint32
	pdqReg  []Region
	pdqQual []uint8
	// pdqFrame holds each entry's patch frame (zero for other regions).
	pdqFrame []frame16

	phHash []hamming.Hash64
	phCap  []uint32

	ix256 *hamming.Index256
	ix64  *hamming.Index64

	// feat holds each capture's local features, by capture index.
	feat   []feature.CaptureSet
	featIx *feature.Index

	imported int    // PDQ entries with RegionImported
	patches  int    // PDQ entries with RegionPatch
	content  uint64 // ContentKey: the sum of every capture's captureKey
}

// Imported counts PDQ hashes imported from other systems.
func (b *Bank) Imported() int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.imported
}

// Patches counts enrolled keypoint patches (RegionPatch entries).
func (b *Bank) Patches() int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.patches
}

// ContentKey identifies the bank's captures (IDs and enrollment times),
// whatever order they were added in: any capture added changes it. A
// fingerprint whose pixels were matched against a bank with another key
// has not been checked against every capture (see internal/scan's cache);
// a time would not do, since enrollments can finish out of order.
func (b *Bank) ContentKey() uint64 {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.content
}

// captureKey is one capture's share of ContentKey.
func captureKey(id []byte, enrolledAt int64) uint64 {
	h := fnv.New64a()
	h.Write(id)
	h.Write(binary.BigEndian.AppendUint64([]byte{0}, uint64(enrolledAt)))
	return h.Sum64()
}

// NewBank returns an empty bank.
func NewBank() *Bank {
	return &Bank{caps: captureTable{byID: make(map[string]uint32)}}
}

// Len returns the number of captures.
func (b *Bank) Len() int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.caps.len()
}

// Stats summarises a bank.
type Stats struct {
	Captures    int `json:"captures"`
	PDQHashes   int `json:"pdq_hashes"`
	PHashHashes int `json:"phash_hashes"`
	PatchHashes int `json:"patch_hashes"`
	// Features counts local features; FeatureCaptures the captures that
	// have some (0 in a bank written before the feature route).
	Features        int            `json:"features"`
	FeatureCaptures int            `json:"feature_captures"`
	Kinds           map[string]int `json:"kinds"`
	LowQuality      int            `json:"low_quality_captures"`
	IndexBytes      int64          `json:"index_bytes"` // 0 until the index is built
}

// Stats counts what the bank holds.
func (b *Bank) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := Stats{Captures: b.caps.len(), PDQHashes: len(b.pdqHash), PHashHashes: len(b.phHash), Kinds: map[string]int{}}
	for i := range b.caps.off {
		s.Kinds[b.caps.get(uint32(i)).Kind]++
	}
	for i, q := range b.pdqQual {
		if b.pdqReg[i] == 0 && int(q) < pdq.MinQuality {
			s.LowQuality++
		}
		if b.pdqReg[i] == RegionPatch {
			s.PatchHashes++
		}
	}
	s.Features, s.FeatureCaptures = b.featureCounts()
	// The index is reported only if built: counting must not cost a
	// multi-second build (doctor calls Stats).
	if b.ix256 != nil && b.ix64 != nil {
		s.IndexBytes = b.ix256.Bytes() + b.ix64.Bytes()
	}
	return s
}

// Capture returns capture i (as numbered in search hits).
func (b *Bank) Capture(i uint32) Capture {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.caps.get(i)
}

// Lookup returns the capture with the given ID.
func (b *Bank) Lookup(id string) (Capture, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.caps.index()
	i, ok := b.caps.byID[id]
	if !ok {
		return Capture{}, false
	}
	return b.caps.get(i), true
}

// Captures returns the captures sorted by ID.
func (b *Bank) Captures() []Capture {
	b.mu.RLock()
	defer b.mu.RUnlock()
	out := make([]Capture, b.caps.len())
	for i := range out {
		out[i] = b.caps.get(uint32(i))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Add enrolls one capture. An ID already present returns ErrDuplicate and
// leaves the bank unchanged, so re-running enroll on the same folder is
// idempotent.
func (b *Bank) Add(e Enrollment) error {
	if e.Capture.ID == "" {
		return errors.New("capture ID is empty")
	}
	if len(e.Capture.ID) > 1024 {
		return errors.New("capture ID longer than 1024 bytes")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if n := len(e.Features.Features); n > 255 || (n > 0 && (e.Features.W == 0 || e.Features.H == 0)) {
		return fmt.Errorf("capture %s: %d local features of a %dx%d capture (at most 255, of a non-empty capture)", e.Capture.ID, n, e.Features.W, e.Features.H)
	}
	b.caps.index()
	if _, ok := b.caps.byID[e.Capture.ID]; ok {
		return fmt.Errorf("%w: %s", ErrDuplicate, e.Capture.ID)
	}
	if b.caps.len() >= 1<<32-1 {
		return errors.New("bank is full")
	}
	ci := uint32(b.caps.len())
	b.caps.appendRecord(e.Capture)
	b.content += captureKey([]byte(e.Capture.ID), e.Capture.EnrolledAt.Unix())
	for _, r := range e.PDQ {
		b.pdqHash = append(b.pdqHash, r.Hash)
		b.pdqCap = append(b.pdqCap, ci)
		b.pdqReg = append(b.pdqReg, r.Region)
		b.pdqQual = append(b.pdqQual, clampQuality(r.Quality))
		var f frame16
		if r.Region == RegionPatch {
			f = r.Frame.fixed()
		}
		b.pdqFrame = append(b.pdqFrame, f)
		switch r.Region {
		case RegionImported:
			b.imported++
		case RegionPatch:
			b.patches++
		}
	}
	b.feat = append(b.featSets(), e.Features)
	b.featIx = nil
	if !e.NoPHash {
		b.phHash = append(b.phHash, e.PHash)
		b.phCap = append(b.phCap, ci)
	}
	// The indexes share the hash arrays; they are rebuilt on the next
	// search rather than grown here, which would copy the arrays and leave
	// a slower multi-segment index. Enrollment adds in bulk between loads
	// and saves, so the rebuild happens once.
	b.ix256, b.ix64 = nil, nil
	return nil
}

func clampQuality(q int) uint8 {
	if q < 0 {
		return 0
	}
	if q > 100 {
		return 100
	}
	return uint8(q)
}

// buildLocked builds the indexes on first use. b.mu must be held for writing.
func (b *Bank) buildLocked() {
	if b.ix256 == nil {
		b.ix256 = hamming.NewIndex256(b.pdqHash)
	}
	if b.ix64 == nil {
		b.ix64 = hamming.NewIndex64(b.phHash)
	}
}

// BuildIndex builds the search indexes now rather than on the first search.
func (b *Bank) BuildIndex() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buildLocked()
}

// PDQHit is one enrolled PDQ hash within the search radius.
type PDQHit struct {
	Capture  uint32
	Region   Region
	Quality  int
	Distance int
	// Frame places the hash in its capture when Region is RegionPatch.
	Frame PatchFrame
}

// SearchPDQ calls fn for every enrolled PDQ hash within radius of q.
func (b *Bank) SearchPDQ(q hamming.Hash256, radius int, fn func(PDQHit) bool) {
	radius = min(max(radius, 0), 256)
	b.ensureIndex()
	b.mu.RLock()
	defer b.mu.RUnlock()
	b.ix256.Search(q, radius, func(id uint32, d int) bool {
		h := PDQHit{Capture: b.pdqCap[id], Region: b.pdqReg[id], Quality: int(b.pdqQual[id]), Distance: d}
		if h.Region == RegionPatch {
			h.Frame = b.pdqFrame[id].frame()
		}
		return fn(h)
	})
}

// centralRegions returns capture ci's enrolled central regions. Entries
// are appended capture by capture, so pdqCap is sorted.
func (b *Bank) centralRegions(ci uint32) []RegionHash {
	b.mu.RLock()
	defer b.mu.RUnlock()
	i := sort.Search(len(b.pdqCap), func(k int) bool { return b.pdqCap[k] >= ci })
	var out []RegionHash
	for ; i < len(b.pdqCap) && b.pdqCap[i] == ci; i++ {
		if IsCentralRegion(b.pdqReg[i]) {
			out = append(out, RegionHash{Hash: b.pdqHash[i], Region: b.pdqReg[i], Quality: int(b.pdqQual[i])})
		}
	}
	return out
}

// SearchPHash calls fn for every enrolled pHash within radius of q.
func (b *Bank) SearchPHash(q hamming.Hash64, radius int, fn func(capture uint32, dist int) bool) {
	radius = min(max(radius, 0), 64)
	b.ensureIndex()
	b.mu.RLock()
	defer b.mu.RUnlock()
	b.ix64.Search(q, radius, func(id uint32, d int) bool {
		return fn(b.phCap[id], d)
	})
}

func (b *Bank) ensureIndex() {
	b.mu.RLock()
	ok := b.ix256 != nil && b.ix64 != nil
	b.mu.RUnlock()
	if !ok {
		b.BuildIndex()
	}
}
