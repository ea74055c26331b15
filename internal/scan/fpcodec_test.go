package scan

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/leakwatch/leakwatch/fingerprint"
	"github.com/leakwatch/leakwatch/fingerprint/hamming"
	"github.com/leakwatch/leakwatch/fingerprint/pdq"
)

func TestFPCodecRoundTrip(t *testing.T) {
	full := fingerprint.Fingerprint{PDQ: pdq.Dihedral{Quality: 87}, PHash: 0x0123456789abcdef}
	for i := range full.PDQ.Hashes {
		full.PDQ.Hashes[i] = hamming.Hash256{uint64(i), 1 << 63, 42, ^uint64(i)}
	}
	full.Candidates = []fingerprint.Candidate{
		{Kind: fingerprint.CandidateSubImage, Hash: hamming.Hash256{1, 2, 3, 4}, Quality: 100, Rect: image.Rect(10, 20, 300, 400)},
		{Kind: fingerprint.CandidateWindow, Hash: hamming.Hash256{5}, Quality: 49, Rect: image.Rect(0, 0, 65535, 65535)},
		{Kind: fingerprint.CandidateStraightened, Hash: hamming.Hash256{6}, Quality: 0, Region: 3, Rect: image.Rect(1, 1, 2, 2)},
	}
	withRef := full
	withRef.HasReference = true
	withRef.Reference = pdq.Dihedral{Quality: 64}
	withRef.Reference.Hashes[5] = hamming.Hash256{9, 9, 9, 9}
	tests := []struct {
		name string
		fp   fingerprint.Fingerprint
	}{
		{"no candidates", fingerprint.Fingerprint{PHash: 7}},
		{"candidates", full},
		{"reference hashes", withRef},
		{"candidates not computed", fingerprint.Fingerprint{PHash: 9, WholeOnly: true}},
		{"refused captures", fingerprint.Fingerprint{PHash: 11, Refused: []string{"plate-0001", "", "☃"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := cacheEntry{fp: tt.fp, policy: 0xfedcba9876543210, bank: 0x0123456789abcdef, pixelMatched: tt.name == "candidates"}
			b := encodeFP(want)
			got, err := decodeFP(b)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.fp, got.fp, cmpopts.IgnoreUnexported(fingerprint.Fingerprint{})); d != "" {
				t.Errorf("round trip (-want +got):\n%s", d)
			}
			if got.bank != want.bank || got.policy != want.policy || got.pixelMatched != want.pixelMatched {
				t.Errorf("bank %x, policy %x, pixel-matched %v; want %x, %x, %v", got.bank, got.policy, got.pixelMatched, want.bank, want.policy, want.pixelMatched)
			}
			// Entries from before the refusals (versions 3 and 4), the
			// policy (version 5), the bank's content key (version 6) and
			// the flags (version 7) are recomputed, not read as refusing
			// nothing, as matched against this bank or as matched from
			// the hashes alone.
			for _, old := range [][]byte{encodeFPv3(tt.fp), asV4(b), asV5(b), asV6(b), asV7(b)} {
				if _, err := decodeFP(old); !errors.Is(err, errFPVersion) {
					t.Errorf("version %d entry: %v, want errFPVersion", old[0], err)
				}
			}
		})
	}
}

// TestPolicyKey: every field of the match options, nested ones included,
// changes the key (a field added to the options and not to the key fails
// here), and the same options give the same key.
func TestPolicyKey(t *testing.T) {
	base := fingerprint.DefaultMatchOptions()
	base.Features = base.Features.WithDefaults()
	if policyKey(base) != policyKey(fingerprint.DefaultMatchOptions()) {
		t.Fatal("the same options give two keys")
	}
	var edited fingerprint.MatchOptions
	var walk func(v reflect.Value, path string)
	walk = func(v reflect.Value, path string) {
		for i := range v.NumField() {
			f, name := v.Field(i), path+v.Type().Field(i).Name
			switch f.Kind() {
			case reflect.Struct:
				walk(f, name+".")
				continue
			case reflect.Bool:
				f.SetBool(!f.Bool())
			case reflect.Int:
				f.SetInt(f.Int() + 1)
			case reflect.Float64:
				f.SetFloat(f.Float() + 0.5)
			default:
				t.Errorf("%s is a %s: list it in policyKey in a stable form and here", name, f.Kind())
				continue
			}
			if policyKey(edited) == policyKey(base) {
				t.Errorf("changing %s leaves the key unchanged", name)
			}
			edited = base
		}
	}
	edited = base
	walk(reflect.ValueOf(&edited).Elem(), "")
}

func TestFPCodecClampsAndBounds(t *testing.T) {
	fp := fingerprint.Fingerprint{}
	fp.Candidates = make([]fingerprint.Candidate, fingerprint.MaxCandidates+5)
	for i := range fp.Candidates {
		fp.Candidates[i] = fingerprint.Candidate{Kind: fingerprint.CandidateWindow, Quality: 300, Rect: image.Rect(-5, 0, 70000, 1)}
	}
	b := encodeFP(cacheEntry{fp: fp})
	if bound := fpMaxEncodedSize + fpPolicySize + fpBankSize + fpFlagsSize + fpRefusedSize; len(b) > bound {
		t.Fatalf("encoded %d bytes, bound is %d", len(b), bound)
	}
	got, err := decodeFP(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.fp.Candidates) != fingerprint.MaxCandidates {
		t.Errorf("kept %d candidates, want %d", len(got.fp.Candidates), fingerprint.MaxCandidates)
	}
	c := got.fp.Candidates[0]
	if c.Quality != 255 || c.Rect != image.Rect(0, 0, 65535, 1) {
		t.Errorf("candidate not clamped: %+v", c)
	}
}

func TestFPCodecRejects(t *testing.T) {
	good := encodeFP(cacheEntry{fp: fingerprint.Fingerprint{Candidates: []fingerprint.Candidate{{Kind: fingerprint.CandidateWindow}}}})
	const refusedAt = 1 + fpPolicySize + fpBankSize + fpFlagsSize
	head := fpPolicySize + fpBankSize + fpFlagsSize + fpRefusedSize + fpHeaderSize
	refused := encodeFP(cacheEntry{fp: fingerprint.Fingerprint{Refused: []string{"abc"}}})
	refusedCut := bytes.Clone(refused)
	refusedCut[refusedAt+3] = 200 // the ID runs past the entry
	tooMany := bytes.Clone(good)
	tooMany[refusedAt] = 0xff
	badKind := bytes.Clone(good)
	badKind[head] = 9
	badRegion := bytes.Clone(good)
	badRegion[head+2] = byte(fingerprint.RegionPatch)
	badFlags := bytes.Clone(good)
	badFlags[refusedAt-1] = 0xff
	tests := []struct {
		name    string
		b       []byte
		version bool
	}{
		{"empty", nil, true},
		{"version 1", append([]byte{1}, make([]byte, 2+8+8*32-1)...), true},
		{"truncated header", good[:head-1], false},
		{"window naming a patch region", badRegion, false},
		{"truncated candidate", good[:len(good)-1], false},
		{"trailing byte", append(bytes.Clone(good), 0), false},
		{"unknown kind", badKind, false},
		{"refused ID past the end", refusedCut, false},
		{"too many refused", tooMany, false},
		{"unknown flags", badFlags, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeFP(tt.b)
			if err == nil {
				t.Fatal("accepted")
			}
			if got := errors.Is(err, errFPVersion); got != tt.version {
				t.Errorf("errors.Is(err, errFPVersion) = %v, want %v (err %v)", got, tt.version, err)
			}
		})
	}
}

// FuzzDecodeFP checks that decoding never panics and that whatever decodes
// encodes back to the same bytes (in its own version).
func FuzzDecodeFP(f *testing.F) {
	f.Add(encodeFP(cacheEntry{}))
	f.Add(encodeFP(cacheEntry{fp: fingerprint.Fingerprint{Candidates: []fingerprint.Candidate{
		{Kind: fingerprint.CandidateSubImage, Quality: 80, Rect: image.Rect(1, 2, 3, 4)},
		{Kind: fingerprint.CandidateStraightened, Region: 2},
	}}, bank: 0x0123456789abcdef, policy: policyKey(fingerprint.DefaultMatchOptions())}))
	f.Add(encodeFP(cacheEntry{fp: fingerprint.Fingerprint{Refused: []string{"cap-1", "cap-2"}}, policy: 1}))
	f.Add([]byte{2})
	f.Add([]byte{1, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := decodeFP(b)
		if err != nil {
			return
		}
		again := encodeFP(e)
		if !bytes.Equal(again, b) {
			t.Fatalf("re-encoding differs:\n%x\n%x", b, again)
		}
	})
}

// asV7 is a version 8 entry as version 7 wrote it: no flags.
func asV7(b []byte) []byte {
	out := append([]byte{7}, b[1:1+fpPolicySize+fpBankSize]...)
	return append(out, b[1+fpPolicySize+fpBankSize+fpFlagsSize:]...)
}

// asV6 is a version 8 entry as version 6 wrote it: a bank time in place
// of the content key.
func asV6(b []byte) []byte {
	out := append([]byte{6}, b[1:1+fpPolicySize]...)
	out = binary.BigEndian.AppendUint64(out, 1764000000)
	return append(out, b[1+fpPolicySize+fpBankSize+fpFlagsSize:]...)
}

// asV5 is a version 8 entry as version 5 wrote it: a flags byte and a
// time in place of the policy and the bank.
func asV5(b []byte) []byte {
	out := binary.BigEndian.AppendUint64([]byte{5, 0}, 1764000000)
	return append(out, b[1+fpPolicySize+fpBankSize+fpFlagsSize:]...)
}

// asV4 is a version 8 entry as version 4 wrote it: a time, no refused
// captures.
func asV4(b []byte) []byte {
	rest := b[1+fpPolicySize+fpBankSize+fpFlagsSize:]
	n := int(binary.BigEndian.Uint16(rest))
	rest = rest[fpRefusedSize:]
	for range n {
		rest = rest[2+int(binary.BigEndian.Uint16(rest)):]
	}
	out := binary.BigEndian.AppendUint64([]byte{4}, 1764000000)
	return append(out, rest...)
}
