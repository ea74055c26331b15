package scan

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"testing"
	"time"

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
			want := cacheEntry{fp: tt.fp, policy: 0xfedcba9876543210, bankAt: time.Unix(1764000000, 0).UTC()}
			b := encodeFP(want)
			got, err := decodeFP(b)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.fp, got.fp, cmpopts.IgnoreUnexported(fingerprint.Fingerprint{})); d != "" {
				t.Errorf("round trip (-want +got):\n%s", d)
			}
			if !got.bankAt.Equal(want.bankAt) || got.policy != want.policy {
				t.Errorf("bank time %v, policy %x; want %v, %x", got.bankAt, got.policy, want.bankAt, want.policy)
			}
			// Entries from before the refusals (versions 3 and 4) and
			// from before the policy (version 5) are recomputed, not read
			// as refusing nothing.
			for _, old := range [][]byte{encodeFPv3(tt.fp), asV4(b), asV5(b)} {
				if _, err := decodeFP(old); !errors.Is(err, errFPVersion) {
					t.Errorf("version %d entry: %v, want errFPVersion", old[0], err)
				}
			}
		})
	}
}

// TestPolicyKey: options that change what a scan finds or refuses from
// pixels give another key; the same options the same key.
func TestPolicyKey(t *testing.T) {
	base := fingerprint.DefaultMatchOptions()
	if policyKey(base) != policyKey(fingerprint.DefaultMatchOptions()) {
		t.Fatal("the same options give two keys")
	}
	for name, edit := range map[string]func(*fingerprint.MatchOptions){
		"no features":  func(o *fingerprint.MatchOptions) { o.NoFeatures = true },
		"no patches":   func(o *fingerprint.MatchOptions) { o.Patches = false },
		"wider radius": func(o *fingerprint.MatchOptions) { o.PDQRadius++ },
		"reading":      func(o *fingerprint.MatchOptions) { o.Features.MaxRead++ },
	} {
		o := base
		edit(&o)
		if policyKey(o) == policyKey(base) {
			t.Errorf("%s: same key as the default policy", name)
		}
	}
}

func TestFPCodecClampsAndBounds(t *testing.T) {
	fp := fingerprint.Fingerprint{}
	fp.Candidates = make([]fingerprint.Candidate, fingerprint.MaxCandidates+5)
	for i := range fp.Candidates {
		fp.Candidates[i] = fingerprint.Candidate{Kind: fingerprint.CandidateWindow, Quality: 300, Rect: image.Rect(-5, 0, 70000, 1)}
	}
	b := encodeFP(cacheEntry{fp: fp})
	if bound := fpMaxEncodedSize + fpPolicySize + fpBankAtSize + fpRefusedSize; len(b) > bound {
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
	const refusedAt = 1 + fpPolicySize + fpBankAtSize
	head := fpPolicySize + fpBankAtSize + fpRefusedSize + fpHeaderSize
	refused := encodeFP(cacheEntry{fp: fingerprint.Fingerprint{Refused: []string{"abc"}}})
	refusedCut := bytes.Clone(refused)
	refusedCut[refusedAt+3] = 200 // the ID runs past the entry
	tooMany := bytes.Clone(good)
	tooMany[refusedAt] = 0xff
	badKind := bytes.Clone(good)
	badKind[head] = 9
	badRegion := bytes.Clone(good)
	badRegion[head+2] = byte(fingerprint.RegionPatch)
	badTime := bytes.Clone(good)
	badTime[1+fpPolicySize] = 0xff
	tests := []struct {
		name    string
		b       []byte
		version bool
	}{
		{"empty", nil, true},
		{"version 1", append([]byte{1}, make([]byte, 2+8+8*32-1)...), true},
		{"truncated header", good[:head-1], false},
		{"window naming a patch region", badRegion, false},
		{"bank time out of range", badTime, false},
		{"truncated candidate", good[:len(good)-1], false},
		{"trailing byte", append(bytes.Clone(good), 0), false},
		{"unknown kind", badKind, false},
		{"refused ID past the end", refusedCut, false},
		{"too many refused", tooMany, false},
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
	}}, bankAt: time.Unix(1764000000, 0), policy: policyKey(fingerprint.DefaultMatchOptions())}))
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

// asV5 is a version 6 entry as version 5 wrote it: a flags byte instead
// of the policy, and the time.
func asV5(b []byte) []byte {
	return append([]byte{5, 0}, b[1+fpPolicySize:]...)
}

// asV4 is a version 6 entry as version 4 wrote it, without the policy and
// the refused captures.
func asV4(b []byte) []byte {
	rest := b[1+fpPolicySize+fpBankAtSize:]
	n := int(binary.BigEndian.Uint16(rest))
	rest = rest[fpRefusedSize:]
	for range n {
		rest = rest[2+int(binary.BigEndian.Uint16(rest)):]
	}
	out := append([]byte{4}, b[1+fpPolicySize:1+fpPolicySize+fpBankAtSize]...)
	return append(out, rest...)
}
