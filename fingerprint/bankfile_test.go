package fingerprint

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leakwatch/leakwatch/fingerprint/feature"
	"github.com/leakwatch/leakwatch/fingerprint/hamming"
)

func sampleBank(t testing.TB, n int) *Bank {
	b := NewBank()
	for i := 0; i < n; i++ {
		var h hamming.Hash256
		h[0], h[1], h[2], h[3] = uint64(i)*0x9E3779B97F4A7C15, uint64(i)<<7, ^uint64(i), uint64(i*i)
		err := b.Add(Enrollment{
			Capture: Capture{ID: "cap-" + string(rune('a'+i%26)) + string(rune('0'+i/26)), Kind: "face", Source: "gate 3", EnrolledAt: time.Unix(1700000000+int64(i), 0).UTC(), Meta: map[string]string{"lane": "2"}},
			PDQ: []RegionHash{{Hash: h, Quality: 90}, {Hash: h, Region: 1, Quality: 80},
				{Hash: hamming.Hash256{h[3], h[2], h[1], h[0]}, Region: RegionPatch, Quality: 70, Frame: PatchFrame{X: 0.25, Y: 0.5, D: 0.2, W: 1, H: 0.75}}},
			PHash: hamming.Hash64(uint64(i) * 31),
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func TestBankRoundTrip(t *testing.T) {
	b := sampleBank(t, 50)
	path := filepath.Join(t.TempDir(), "bank.lwb")
	if err := b.Save(path); err != nil {
		t.Fatal(err)
	}
	got, err := LoadBank(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Len() != 50 {
		t.Fatalf("len %d", got.Len())
	}
	for _, c := range b.Captures() {
		g, ok := got.Lookup(c.ID)
		if !ok || g.Kind != c.Kind || g.Source != c.Source || !g.EnrolledAt.Equal(c.EnrolledAt) || g.Meta["lane"] != "2" {
			t.Fatalf("capture %s: got %+v", c.ID, g)
		}
	}
	var hits int
	got.SearchPDQ(b.pdqHash[10], 0, func(h PDQHit) bool { hits++; return true })
	if hits != 2 {
		t.Fatalf("exact search found %d entries, want 2 (full + region)", hits)
	}
}

func TestBankRefusesDamage(t *testing.T) {
	data, _ := sampleBank(t, 5).MarshalBinary()
	flip := func(i int) []byte { d := append([]byte(nil), data...); d[i] ^= 1; return d }
	wrongVersion := append([]byte(nil), data...)
	wrongVersion[8] = 9
	tests := map[string][]byte{
		"empty":            nil,
		"not a bank":       []byte("hello world, this is not a bank file at all......................................"),
		"truncated":        data[:len(data)-10],
		"header only":      data[:bankHeaderSize],
		"flipped hash bit": flip(len(data) - 20),
		"flipped header":   flip(20),
		"wrong version":    wrongVersion,
		"padded":           append(append([]byte(nil), data...), 0),
	}
	for name, d := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := UnmarshalBank(d); !errors.Is(err, ErrBankFormat) {
				t.Fatalf("err = %v, want ErrBankFormat", err)
			}
		})
	}
}

func TestUpdateBankConcurrentWriters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bank.lwb")
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 5; i++ {
				err := UpdateBank(path, func(b *Bank) error {
					return b.Add(Enrollment{Capture: Capture{ID: string(rune('A'+w)) + string(rune('0'+i))}, PDQ: []RegionHash{{Quality: 60}}})
				})
				if err != nil {
					t.Error(err)
				}
			}
		}(w)
	}
	wg.Wait()
	b, err := LoadBank(path)
	if err != nil {
		t.Fatal(err)
	}
	if b.Len() != 20 {
		t.Fatalf("bank has %d captures, want 20: a concurrent update was lost", b.Len())
	}
	if _, err := os.Stat(path + ".lock"); err != nil {
		t.Fatal(err)
	}
}

func FuzzUnmarshalBank(f *testing.F) {
	d, _ := sampleBank(f, 3).MarshalBinary()
	f.Add(d)
	withFeatures := sampleBank(f, 6)
	for i := range 6 {
		withFeatures.feat[i] = sampleFeatures(i)
	}
	d, _ = withFeatures.MarshalBinary()
	f.Add(d)
	f.Add([]byte(bankMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := UnmarshalBank(data)
		if err != nil {
			if !errors.Is(err, ErrBankFormat) {
				t.Fatalf("error not wrapping ErrBankFormat: %v", err)
			}
			return
		}
		again, err := b.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := UnmarshalBank(again); err != nil {
			t.Fatalf("re-encoded bank refused: %v", err)
		}
	})
}

// In a bank mixing imported PDQ hashes (no pHash) with enrolled captures,
// each capture's pHash is still found for match evidence.
func TestPHashDistanceMixedBank(t *testing.T) {
	b := NewBank()
	for i, noPH := range []bool{true, false, true, false} {
		e := Enrollment{Capture: Capture{ID: string(rune('a' + i))}, PHash: hamming.Hash64(0xF0 << i), NoPHash: noPH,
			PDQ: []RegionHash{{Quality: 90}}}
		if err := b.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	for ci, want := range map[uint32]int{0: -1, 1: 0, 2: -1, 3: 0} {
		q := hamming.Hash64(0xF0 << ci)
		if got := b.phashDistance(ci, q); got != want {
			t.Errorf("capture %d: distance %d, want %d", ci, got, want)
		}
	}
}

// A header claiming billions of captures over a few bytes of records is
// refused before anything is allocated for them.
func TestBankRefusesImplausibleCaptureCount(t *testing.T) {
	data, _ := sampleBank(t, 2).MarshalBinary()
	le := binary.LittleEndian
	le.PutUint64(data[16:], 1<<32-2)
	le.PutUint32(data[60:], crc32.Checksum(data[:60], castagnoli))
	body := len(data) - 8
	le.PutUint32(data[body:], crc32.Checksum(data[:body], castagnoli))
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	before := ms.TotalAlloc
	if _, err := UnmarshalBank(data); !errors.Is(err, ErrBankFormat) {
		t.Fatalf("err = %v", err)
	}
	runtime.ReadMemStats(&ms)
	if ms.TotalAlloc-before > 1<<20 {
		t.Fatalf("allocated %d bytes for a lying header", ms.TotalAlloc-before)
	}
}

// sampleFeatures gives every other capture a few local features.
func sampleFeatures(i int) feature.CaptureSet {
	if i%2 == 1 {
		return feature.CaptureSet{}
	}
	cs := feature.CaptureSet{W: uint16(512 - i), H: 384}
	for j := range 1 + i%5 {
		cs.Features = append(cs.Features, feature.Feature{
			Desc: feature.Descriptor{uint64(i)<<32 ^ uint64(j), ^uint64(i * j)},
			X:    uint16(1000 * j), Y: uint16(65535 - j), Scale: uint8(j * 7), Angle: uint8(i * 13),
		})
	}
	return cs
}

// marshalled is b's bank file and the bank read back from it.
func marshalled(t *testing.T, b *Bank) ([]byte, *Bank) {
	t.Helper()
	data, err := b.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	got, err := UnmarshalBank(data)
	if err != nil {
		t.Fatal(err)
	}
	return data, got
}

func TestFeaturesSurviveTheBankFile(t *testing.T) {
	b := sampleBank(t, 12)
	// Features are added after the hashes: the patch-frame tests read
	// frames at the end of a bank without features.
	for i := range 12 {
		b.feat[i] = sampleFeatures(i)
	}
	data, got := marshalled(t, b)
	if got.Features() != b.Features() || got.Features() == 0 {
		t.Fatalf("%d features after the round trip, want %d", got.Features(), b.Features())
	}
	for i := range 12 {
		want := sampleFeatures(i)
		c := got.feat[i]
		if c.W != want.W || c.H != want.H || !slices.Equal(c.Features, want.Features) {
			t.Errorf("capture %d: %+v, want %+v", i, c, want)
		}
	}
	// A feature block naming a capture out of order is refused.
	bad := slices.Clone(data)
	end := len(bad) - 8
	blk := end - (featBlockHeader + (1+10%5)*feature.FeatureBytes) // capture 10's block
	binary.LittleEndian.PutUint32(bad[blk:], 3)
	reseal(bad)
	if _, err := UnmarshalBank(bad); !errors.Is(err, ErrBankFormat) {
		t.Errorf("out-of-order feature block: %v", err)
	}
}

// Once the feature index is built it holds the bank's only copy of the
// features: saving, counting and enrolling more still see every capture's
// features as enrolled.
func TestFeaturesSurviveTheIndex(t *testing.T) {
	b := sampleBank(t, 12)
	for i := range 12 {
		b.feat[i] = sampleFeatures(i)
	}
	want := b.Features()
	b.featureIndex()
	if b.feat != nil {
		t.Fatal("the bank keeps a second copy of the features")
	}
	if got := b.Features(); got != want || got == 0 {
		t.Fatalf("%d features counted from the index, want %d", got, want)
	}
	if s := b.Stats(); s.Features != want || s.FeatureCaptures != 6 {
		t.Errorf("stats: %d features in %d captures, want %d in 6", s.Features, s.FeatureCaptures, want)
	}
	extra := feature.CaptureSet{W: 300, H: 200, Features: []feature.Feature{{Desc: feature.Descriptor{7, 9}, X: 5, Y: 6, Scale: 3, Angle: 4}}}
	if err := b.Add(Enrollment{Capture: Capture{ID: "late", Kind: "face"}, PDQ: []RegionHash{{Quality: 90}}, Features: extra}); err != nil {
		t.Fatal(err)
	}
	b.featureIndex()
	_, got := marshalled(t, b)
	for i := range 13 {
		w := extra
		if i < 12 {
			w = sampleFeatures(i)
		}
		c := got.feat[i]
		if c.W != w.W || c.H != w.H || !slices.Equal(c.Features, w.Features) {
			t.Errorf("capture %d after the index: %+v, want %+v", i, c, w)
		}
	}
}

// A bank of version 3 (256-bit descriptors) loads, its descriptors kept at
// the bits version 4 stores, its geometry unchanged.
func TestVersion3BankLoads(t *testing.T) {
	b := sampleBank(t, 12)
	for i := range 12 {
		b.feat[i] = sampleFeatures(i)
	}
	v4, err := b.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	// Rewrite the feature blocks with 32-byte descriptors of random bits.
	nb := int(binary.LittleEndian.Uint32(v4[56:]))
	blocks := 0
	for i := range 12 {
		if n := len(b.feat[i].Features); n > 0 {
			blocks += featBlockHeader + n*feature.FeatureBytes
		}
	}
	if nb == 0 || blocks == 0 {
		t.Fatal("sample bank has no features")
	}
	start := len(v4) - 8 - blocks
	v3 := slices.Clone(v4[:start])
	binary.LittleEndian.PutUint32(v3[8:], 3)
	r := rand.New(rand.NewPCG(3, 3))
	want := map[int][]feature.Feature{}
	for i := range 12 {
		c := b.feat[i]
		if len(c.Features) == 0 {
			continue
		}
		v3 = binary.LittleEndian.AppendUint32(v3, uint32(i))
		v3 = binary.LittleEndian.AppendUint16(v3, c.W)
		v3 = binary.LittleEndian.AppendUint16(v3, c.H)
		v3 = append(v3, byte(len(c.Features)))
		for _, f := range c.Features {
			var drawn [4]uint64
			for j := range drawn {
				drawn[j] = r.Uint64()
				v3 = binary.LittleEndian.AppendUint64(v3, drawn[j])
			}
			v3 = binary.LittleEndian.AppendUint16(v3, f.X)
			v3 = binary.LittleEndian.AppendUint16(v3, f.Y)
			v3 = append(v3, f.Scale, f.Angle)
			f.Desc = feature.FromDrawn(drawn)
			want[i] = append(want[i], f)
		}
	}
	v3 = append(v3, make([]byte, 8)...)
	copy(v3[len(v3)-4:], bankTrailer)
	reseal(v3)
	got, err := UnmarshalBank(v3)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 12 {
		if !slices.Equal(got.feat[i].Features, want[i]) {
			t.Errorf("capture %d: %+v, want %+v", i, got.feat[i].Features, want[i])
		}
	}
	// The same blocks read as version 4 are the wrong length.
	binary.LittleEndian.PutUint32(v3[8:], 4)
	reseal(v3)
	if _, err := UnmarshalBank(v3); !errors.Is(err, ErrBankFormat) {
		t.Errorf("version 3 blocks read as version 4: %v", err)
	}
}

// A bank written before local features (version 2) still loads, without them.
func TestVersion2BankLoads(t *testing.T) {
	b := NewBank()
	for i := range 3 {
		e := Enrollment{Capture: Capture{ID: fmt.Sprint("old-", i)}, PDQ: []RegionHash{{Quality: 90}}}
		if err := b.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	data, err := b.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	binary.LittleEndian.PutUint32(data[8:], 2)
	reseal(data)
	got, err := UnmarshalBank(data)
	if err != nil {
		t.Fatal(err)
	}
	if got.Len() != 3 || got.Features() != 0 {
		t.Errorf("%d captures, %d features", got.Len(), got.Features())
	}
	binary.LittleEndian.PutUint32(data[8:], bankVersion+1)
	reseal(data)
	if _, err := UnmarshalBank(data); !errors.Is(err, ErrBankFormat) || !strings.Contains(err.Error(), "newer") {
		t.Errorf("a newer version: %v", err)
	}
}

// TestContentKey: the key changes with every capture added, does not
// depend on the order they were added in, and is the same once the bank
// has been through its file.
func TestContentKey(t *testing.T) {
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	enroll := func(ids ...string) *Bank {
		b := NewBank()
		for _, id := range ids {
			e := Enrollment{Capture: Capture{ID: id, EnrolledAt: at.Add(time.Duration(len(id)) * time.Second)}}
			if err := b.Add(e); err != nil {
				t.Fatal(err)
			}
		}
		return b
	}
	ab, ba, abc := enroll("a", "bb"), enroll("bb", "a"), enroll("a", "bb", "ccc")
	if ab.ContentKey() != ba.ContentKey() {
		t.Error("the key depends on the order captures were added in")
	}
	if ab.ContentKey() == abc.ContentKey() || ab.ContentKey() == NewBank().ContentKey() {
		t.Error("adding a capture left the key unchanged")
	}
	later := NewBank()
	for _, id := range []string{"a", "bb"} {
		if err := later.Add(Enrollment{Capture: Capture{ID: id, EnrolledAt: at.Add(time.Hour)}}); err != nil {
			t.Fatal(err)
		}
	}
	if later.ContentKey() == ab.ContentKey() {
		t.Error("the same IDs enrolled at another time have the same key")
	}
	data, err := abc.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := UnmarshalBank(data)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.ContentKey() != abc.ContentKey() {
		t.Errorf("key %x after the file, %x before", loaded.ContentKey(), abc.ContentKey())
	}
}
