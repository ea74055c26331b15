package fingerprint

import (
	"encoding/binary"
	"errors"
	"sort"
	"time"
)

// captureTable stores capture metadata in its on-disk encoding: one byte
// slice of records and the offset of each record. A bank of 10^7 captures
// then costs its encoded size plus 8 bytes per capture, loads without a
// per-capture allocation, and decodes a Capture only when a match needs it.
//
// Record: uvarint-length-prefixed ID, kind and source, varint enrolled-at
// (Unix seconds), uvarint metadata pair count, then the pairs.
type captureTable struct {
	data []byte
	off  []uint64
	// byID is built on first use (Add, Lookup): searching never needs it.
	byID map[string]uint32
}

func (t *captureTable) len() int { return len(t.off) }

// appendRecord encodes c at the end of the table.
func (t *captureTable) appendRecord(c Capture) {
	t.off = append(t.off, uint64(len(t.data)))
	t.data = appendCapture(t.data, c)
	if t.byID != nil {
		t.byID[c.ID] = uint32(len(t.off) - 1)
	}
}

func appendCapture(b []byte, c Capture) []byte {
	putStr := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	putStr(c.ID)
	putStr(c.Kind)
	putStr(c.Source)
	b = binary.AppendVarint(b, c.EnrolledAt.Unix())
	keys := make([]string, 0, len(c.Meta))
	for k := range c.Meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		putStr(k)
		putStr(c.Meta[k])
	}
	return b
}

var errRecord = errors.New("bad capture record")

// record decodes capture i. Only the ID is decoded when full is false.
func (t *captureTable) record(i uint32, full bool) (Capture, error) {
	var c Capture
	p := t.data[t.off[i]:]
	str := func() (string, error) {
		n, k := binary.Uvarint(p)
		if k <= 0 || n > uint64(len(p)-k) {
			return "", errRecord
		}
		s := string(p[k : k+int(n)])
		p = p[k+int(n):]
		return s, nil
	}
	var err error
	if c.ID, err = str(); err != nil || !full {
		return c, err
	}
	if c.Kind, err = str(); err != nil {
		return c, err
	}
	if c.Source, err = str(); err != nil {
		return c, err
	}
	ts, k := binary.Varint(p)
	if k <= 0 {
		return c, errRecord
	}
	p = p[k:]
	c.EnrolledAt = time.Unix(ts, 0).UTC()
	nm, k := binary.Uvarint(p)
	if k <= 0 || nm > uint64(len(p)) {
		return c, errRecord
	}
	p = p[k:]
	for j := uint64(0); j < nm; j++ {
		key, err1 := str()
		val, err2 := str()
		if err1 != nil || err2 != nil {
			return c, errRecord
		}
		if c.Meta == nil {
			c.Meta = make(map[string]string, nm)
		}
		c.Meta[key] = val
	}
	return c, nil
}

// get decodes capture i; the table was validated when loaded or built.
func (t *captureTable) get(i uint32) Capture {
	c, _ := t.record(i, true)
	return c
}

// index builds byID if needed and reports the first duplicate ID.
func (t *captureTable) index() (dup string) {
	if t.byID != nil {
		return ""
	}
	t.byID = make(map[string]uint32, len(t.off))
	for i := range t.off {
		c, _ := t.record(uint32(i), false)
		if _, ok := t.byID[c.ID]; ok && dup == "" {
			dup = c.ID
		}
		t.byID[c.ID] = uint32(i)
	}
	return dup
}

// minRecordSize is the smallest encoded capture record.
const minRecordSize = 5

// scanRecords walks n records in data, returning their offsets and the
// bank's ContentKey; it checks every length against the data so a damaged
// file is refused at load time.
func scanRecords(data []byte, n uint64) ([]uint64, uint64, error) {
	off := make([]uint64, 0, min(n, uint64(len(data))/minRecordSize))
	p := 0
	var content uint64
	skip := func() bool {
		l, k := binary.Uvarint(data[p:])
		if k <= 0 || l > uint64(len(data)-p-k) {
			return false
		}
		p += k + int(l)
		return true
	}
	for i := uint64(0); i < n; i++ {
		off = append(off, uint64(p))
		idAt := p
		for range 3 { // ID, kind, source
			if !skip() {
				return nil, 0, errRecord
			}
		}
		ts, k := binary.Varint(data[p:])
		if k <= 0 {
			return nil, 0, errRecord
		}
		p += k
		idLen, lenSize := binary.Uvarint(data[idAt:])
		content += captureKey(data[idAt+lenSize:idAt+lenSize+int(idLen)], ts)
		nm, k := binary.Uvarint(data[p:])
		if k <= 0 || nm > uint64(len(data)-p) {
			return nil, 0, errRecord
		}
		p += k
		for j := uint64(0); j < 2*nm; j++ {
			if !skip() {
				return nil, 0, errRecord
			}
		}
	}
	if p != len(data) {
		return nil, 0, errRecord
	}
	return off, content, nil
}
