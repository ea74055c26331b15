package fingerprint

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"

	"github.com/gofrs/flock"
	"github.com/leakwatch/leakwatch/fingerprint/feature"
	"github.com/leakwatch/leakwatch/fingerprint/hamming"
)

// Bank file layout, version 4 (all integers little-endian):
//
//	header (64 bytes)
//	  [0:8)   magic "LWBANK\r\n"
//	  [8:12)  format version (4)
//	  [12:16) flags (0)
//	  [16:24) capture count
//	  [24:32) PDQ entry count
//	  [32:40) pHash entry count
//	  [40:48) capture section length in bytes
//	  [48:56) patch frame count (version 2; 0 in version 1)
//	  [56:60) feature block count (versions 3 and 4; 0 before)
//	  [60:64) CRC-32C of bytes [0:60)
//	captures: per capture, uvarint-length-prefixed ID, kind, source,
//	          varint enrolled-at (Unix seconds), uvarint meta pair count, pairs
//	PDQ entries: 38 bytes each: hash (32 bytes, hex order), capture index
//	          (uint32), region (uint8), quality (uint8)
//	pHash entries: 12 bytes each: hash (uint64), capture index (uint32)
//	patch frames (version 2): 14 bytes each, one per PDQ entry of region
//	          RegionPatch, in entry order: entry index (uint32), then
//	          X, Y, D, W, H (uint16 each, fractions of 65535; PatchFrame)
//	feature blocks (versions 3 and 4): one per capture with local
//	          features, in capture order: capture index (uint32), enrolled
//	          width and height (uint16 each), feature count (uint8), then
//	          per feature its descriptor (16 bytes; 32 in version 3), X, Y
//	          (uint16, fractions of 65535), scale and angle (uint8 each;
//	          feature.Feature)
//	trailer (8 bytes): CRC-32C of everything before it, then "LWBE"
//
// The whole file is read with one read and checked before anything is
// parsed, so a truncated or corrupted bank is refused, never half-loaded.
// Versions 1 and 2 (no local features) are read, and such a bank matches
// through its hashes only until its captures are enrolled again. Version 3
// (256-bit descriptors) is read and its descriptors kept at the 128 bits
// version 4 stores (feature.FromDrawn), so it needs no re-enrollment.
// Version 4 is written.
const (
	bankMagic      = "LWBANK\r\n"
	bankVersion    = 4
	bankHeaderSize = 64
	pdqEntrySize   = 38
	phEntrySize    = 12
	frameEntrySize = 14
	bankTrailer    = "LWBE"
	// featBlockHeader is a feature block's capture index, size and count.
	featBlockHeader = 4 + 2 + 2 + 1
	// featV3Bytes is a feature in version 3: a 256-bit descriptor.
	featV3Bytes = 32 + 2 + 2 + 1 + 1
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// MarshalBinary encodes the bank in the version 4 file format.
func (b *Bank) MarshalBinary() ([]byte, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	caps := b.caps.data
	nf := 0
	for _, r := range b.pdqReg {
		if r == RegionPatch {
			nf++
		}
	}
	nFeat, nb := b.featureCounts()
	featBytes := nb*featBlockHeader + nFeat*feature.FeatureBytes
	size := bankHeaderSize + len(caps) + len(b.pdqHash)*pdqEntrySize + len(b.phHash)*phEntrySize + nf*frameEntrySize + featBytes + 8
	out := make([]byte, bankHeaderSize, size)
	copy(out, bankMagic)
	le := binary.LittleEndian
	le.PutUint32(out[8:], bankVersion)
	le.PutUint64(out[16:], uint64(b.caps.len()))
	le.PutUint64(out[24:], uint64(len(b.pdqHash)))
	le.PutUint64(out[32:], uint64(len(b.phHash)))
	le.PutUint64(out[40:], uint64(len(caps)))
	le.PutUint64(out[48:], uint64(nf))
	le.PutUint32(out[56:], uint32(nb))
	le.PutUint32(out[60:], crc32.Checksum(out[:60], castagnoli))
	out = append(out, caps...)
	var e [pdqEntrySize]byte
	for i, h := range b.pdqHash {
		for w := 0; w < 4; w++ {
			binary.BigEndian.PutUint64(e[w*8:], h[w])
		}
		le.PutUint32(e[32:], b.pdqCap[i])
		e[36] = byte(b.pdqReg[i])
		e[37] = b.pdqQual[i]
		out = append(out, e[:]...)
	}
	var p [phEntrySize]byte
	for i, h := range b.phHash {
		le.PutUint64(p[:], uint64(h))
		le.PutUint32(p[8:], b.phCap[i])
		out = append(out, p[:]...)
	}
	for i, r := range b.pdqReg {
		if r != RegionPatch {
			continue
		}
		out = le.AppendUint32(out, uint32(i))
		for _, v := range b.pdqFrame[i] {
			out = le.AppendUint16(out, v)
		}
	}
	for ci := range b.featCaptures() {
		// One capture at a time: once the index holds the features, a
		// copy of them all would double the bank's memory while saving.
		c := b.featSet(ci)
		if len(c.Features) == 0 {
			continue
		}
		out = le.AppendUint32(out, uint32(ci))
		out = le.AppendUint16(out, c.W)
		out = le.AppendUint16(out, c.H)
		out = append(out, byte(len(c.Features)))
		for _, f := range c.Features {
			for _, w := range f.Desc {
				out = le.AppendUint64(out, w)
			}
			out = le.AppendUint16(out, f.X)
			out = le.AppendUint16(out, f.Y)
			out = append(out, f.Scale, f.Angle)
		}
	}
	out = le.AppendUint32(out, crc32.Checksum(out, castagnoli))
	out = append(out, bankTrailer...)
	return out, nil
}

// UnmarshalBank decodes a bank file. Every failure wraps ErrBankFormat and
// names the problem.
func UnmarshalBank(data []byte) (*Bank, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrBankFormat, fmt.Sprintf(format, a...))
	}
	if len(data) < len(bankMagic) || string(data[:len(bankMagic)]) != bankMagic {
		return nil, bad("not a leakwatch bank (bad magic)")
	}
	if len(data) < bankHeaderSize+8 {
		return nil, bad("truncated: %d bytes", len(data))
	}
	le := binary.LittleEndian
	version := le.Uint32(data[8:])
	if version < 1 || version > bankVersion {
		return nil, bad("unsupported format version %d (this build reads versions 1 to %d; a newer leakwatch wrote it)", version, bankVersion)
	}
	if crc32.Checksum(data[:60], castagnoli) != le.Uint32(data[60:]) {
		return nil, bad("header checksum mismatch")
	}
	// Flags and reserved bytes are written as zero; anything else is a
	// file this build does not understand, and would not survive a save.
	nb := uint64(le.Uint32(data[56:]))
	if le.Uint32(data[12:]) != 0 || (version < 3 && nb != 0) {
		return nil, bad("unknown flags or reserved bytes set")
	}
	nc, np, nh, cl := le.Uint64(data[16:]), le.Uint64(data[24:]), le.Uint64(data[32:]), le.Uint64(data[40:])
	nf := le.Uint64(data[48:])
	const maxN = 1 << 32
	if nc >= maxN || np >= maxN || nh >= maxN || cl >= 1<<44 || nf > np || (version == 1 && nf != 0) || nb > nc {
		return nil, bad("implausible counts")
	}
	want := uint64(bankHeaderSize) + cl + np*pdqEntrySize + nh*phEntrySize + nf*frameEntrySize + 8
	if nb == 0 && uint64(len(data)) != want {
		return nil, bad("size %d bytes, header says %d (truncated or padded)", len(data), want)
	}
	if uint64(len(data)) < want+nb*featBlockHeader {
		return nil, bad("size %d bytes, header says at least %d (truncated)", len(data), want+nb*featBlockHeader)
	}
	// Feature blocks vary in length: their total is what the fixed parts
	// leave, checked block by block below. A file cut short has lost its
	// trailer, which is how its size is known to be wrong.
	if nb > 0 && string(data[len(data)-4:]) != bankTrailer {
		return nil, bad("size %d bytes with no trailer (truncated or padded)", len(data))
	}
	featLen := uint64(len(data)) - want
	body := len(data) - 8
	if string(data[body+4:]) != bankTrailer {
		return nil, bad("missing trailer")
	}
	if crc32.Checksum(data[:body], castagnoli) != le.Uint32(data[body:]) {
		return nil, bad("checksum mismatch (corrupted)")
	}
	// A capture record is at least 5 bytes (three lengths, a time, a
	// metadata count): a count beyond that is a lie, refused before
	// anything is allocated for it.
	if nc > cl/minRecordSize {
		return nil, bad("%d captures cannot fit in %d bytes of records", nc, cl)
	}
	caps := data[bankHeaderSize : bankHeaderSize+int(cl)]
	offs, content, err := scanRecords(caps, nc)
	if err != nil {
		return nil, bad("capture records damaged")
	}
	// The records are kept in their encoded form: one copy, no per-capture
	// allocation.
	b := &Bank{caps: captureTable{data: append([]byte(nil), caps...), off: offs}, content: content}
	off := bankHeaderSize + int(cl)
	b.pdqHash = make([]hamming.Hash256, np)
	b.pdqCap = make([]uint32, np)
	b.pdqReg = make([]Region, np)
	b.pdqQual = make([]uint8, np)
	b.pdqFrame = make([]frame16, np)
	for i := range b.pdqHash {
		e := data[off : off+pdqEntrySize]
		off += pdqEntrySize
		for w := 0; w < 4; w++ {
			b.pdqHash[i][w] = binary.BigEndian.Uint64(e[w*8:])
		}
		b.pdqCap[i] = le.Uint32(e[32:])
		b.pdqReg[i] = Region(e[36])
		b.pdqQual[i] = e[37]
		switch b.pdqReg[i] {
		case RegionImported:
			b.imported++
		case RegionPatch:
			b.patches++
		}
		if uint64(b.pdqCap[i]) >= nc || e[37] > 100 {
			return nil, bad("PDQ entry %d refers to capture %d of %d", i, b.pdqCap[i], nc)
		}
		// Entries are written capture by capture; lookups by capture
		// (central regions, pHash) rely on that order.
		if i > 0 && b.pdqCap[i] < b.pdqCap[i-1] {
			return nil, bad("PDQ entry %d out of capture order", i)
		}
	}
	b.phHash = make([]hamming.Hash64, nh)
	b.phCap = make([]uint32, nh)
	for i := range b.phHash {
		e := data[off : off+phEntrySize]
		off += phEntrySize
		b.phHash[i] = hamming.Hash64(le.Uint64(e))
		b.phCap[i] = le.Uint32(e[8:])
		if uint64(b.phCap[i]) >= nc {
			return nil, bad("pHash entry %d refers to capture %d of %d", i, b.phCap[i], nc)
		}
		if i > 0 && b.phCap[i] <= b.phCap[i-1] {
			return nil, bad("pHash entry %d out of capture order", i)
		}
	}
	// Every patch entry has exactly one frame, in entry order.
	if uint64(b.patches) != nf {
		return nil, bad("%d patch entries but %d patch frames", b.patches, nf)
	}
	next := 0 // frames must name increasing entries
	for k := uint64(0); k < nf; k++ {
		e := data[off : off+frameEntrySize]
		off += frameEntrySize
		i := int(le.Uint32(e))
		if i < next || i >= len(b.pdqReg) || b.pdqReg[i] != RegionPatch {
			return nil, bad("patch frame %d names PDQ entry %d, not a patch after entry %d", k, i, next)
		}
		next = i + 1
		for j := range b.pdqFrame[i] {
			b.pdqFrame[i][j] = le.Uint16(e[4+2*j:])
		}
	}
	b.feat = make([]feature.CaptureSet, nc)
	end := off + int(featLen)
	prev := -1
	for k := uint64(0); k < nb; k++ {
		if end-off < featBlockHeader {
			return nil, bad("feature block %d truncated", k)
		}
		ci := int(le.Uint32(data[off:]))
		w, h, n := le.Uint16(data[off+4:]), le.Uint16(data[off+6:]), int(data[off+8])
		off += featBlockHeader
		if ci <= prev || uint64(ci) >= nc || n == 0 || w == 0 || h == 0 {
			return nil, bad("feature block %d names capture %d (after %d) with %d features of a %dx%d capture", k, ci, prev, n, w, h)
		}
		size := feature.FeatureBytes
		if version == 3 {
			size = featV3Bytes
		}
		if end-off < n*size {
			return nil, bad("feature block %d truncated", k)
		}
		prev = ci
		fs := make([]feature.Feature, n)
		for i := range fs {
			e := data[off : off+size]
			off += size
			g := e[size-6:]
			if version == 3 {
				fs[i].Desc = feature.FromDrawn([4]uint64{le.Uint64(e), le.Uint64(e[8:]), le.Uint64(e[16:]), le.Uint64(e[24:])})
			} else {
				for j := range fs[i].Desc {
					fs[i].Desc[j] = le.Uint64(e[8*j:])
				}
			}
			fs[i].X, fs[i].Y = le.Uint16(g), le.Uint16(g[2:])
			fs[i].Scale, fs[i].Angle = g[4], g[5]
		}
		b.feat[ci] = feature.CaptureSet{W: w, H: h, Features: fs}
	}
	if off != end {
		return nil, bad("%d bytes after the last feature block", end-off)
	}
	return b, nil
}

// LoadBank reads a bank file with a single read.
func LoadBank(path string) (*Bank, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load bank: %w", err)
	}
	b, err := UnmarshalBank(data)
	if err != nil {
		return nil, fmt.Errorf("load bank %s: %w", path, err)
	}
	return b, nil
}

// Save writes the bank atomically: a temporary file in the same directory
// is written, synced and renamed over path, so a reader sees the old bank
// or the new one, never a partial file.
func (b *Bank) Save(path string) error {
	data, err := b.MarshalBinary()
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".bank-*")
	if err != nil {
		return fmt.Errorf("save bank: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("save bank: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("save bank: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("save bank: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("save bank: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// UpdateBank loads the bank at path (or starts an empty one if the file does
// not exist), lets fn change it and saves it, holding an exclusive lock on
// path+".lock" throughout. Writers are serialised by that lock; readers never
// take it, because Save replaces the file atomically: a long-running watcher
// keeps using the snapshot it loaded and reloads when the file changes.
func UpdateBank(path string, fn func(*Bank) error) error {
	lk := flock.New(path + ".lock")
	if err := lk.Lock(); err != nil {
		return fmt.Errorf("lock bank: %w", err)
	}
	defer lk.Unlock()
	b, err := LoadBank(path)
	if errors.Is(err, os.ErrNotExist) {
		b, err = NewBank(), nil
	}
	if err != nil {
		return err
	}
	if err := fn(b); err != nil {
		return err
	}
	return b.Save(path)
}

// Verify checks what loading does not: that capture IDs are unique.
func (b *Bank) Verify() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	saved := b.caps.byID
	b.caps.byID = nil
	if dup := b.caps.index(); dup != "" {
		b.caps.byID = saved
		return fmt.Errorf("%w: duplicate capture ID %q", ErrBankFormat, dup)
	}
	return nil
}
