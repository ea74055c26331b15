package scan

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"image"

	"github.com/leakwatch/leakwatch/fingerprint"
	"github.com/leakwatch/leakwatch/fingerprint/hamming"
)

// Cached fingerprints, version 8 (big-endian):
//
//	version (1 byte, 8), policy (8: policyKey of the match options the
//	image was matched with), bank (8), flags (1: bit 0, a match was found
//	from the pixels alone), refused count (2, at most
//	fpMaxRefused), then per refused capture its ID's length (2, at most
//	fpMaxRefusedID) and bytes (fingerprint.Fingerprint.Refused: captures
//	whose hash match a reading of the image refused), then the version 3
//	body.
//
// The bank is the ContentKey of the bank the image's pixels were matched
// against (keypoint patches, local features and the readings of hash
// matches), 0 if they were not. The version 3 body:
//
//	version (1 byte, 3), PDQ quality (1), pHash (8),
//
//	the eight dihedral PDQ hashes of the whole image (8 x 32),
//	reference-front-end quality (1; 255 if not computed) and eight
//	dihedral hashes (8 x 32),
//	candidate count (1, at most fingerprint.MaxCandidates), then per
//	candidate: kind (1), quality (1), region (1), rectangle x0 y0 x1 y1
//	(4 x 2, clamped to 0..65535) and PDQ hash (32).
//
// Older entries are refused (errFPVersion) and recomputed: version 7 had
// no flags (the same bytes at another URL were matched from the cache,
// which cannot find again what the pixels alone found), version 6
// recorded the bank's newest enrollment time (enrollments can finish out
// of order), version 5 neither the policy (an entry from a scan without
// the feature route, which refuses nothing, or without the patches served
// a later scan that has them) nor the bank but the scan's clock, version
// 4 lacked the refused captures, version 3 also the time, version 2 the
// reference hashes, and version 1 held only the whole-image hashes.
// fpNoCandidates in the candidate count means they were not computed.
const fpNoCandidates = 255

const (
	fpCodecVersion   = 8
	fpFlagsSize      = 1
	fpPixelMatched   = 1 << 0
	fpV3             = 3
	fpPolicySize     = 8
	fpMaxRefused     = 256
	fpMaxRefusedID   = 1024
	fpRefusedSize    = 2 // the count; none refused
	fpBankSize       = 8
	fpHeaderSize     = 1 + 1 + 8 + 8*32 + 1 + 8*32 + 1 // version 3
	fpCandidateSize  = 1 + 1 + 1 + 4*2 + 32
	fpMaxEncodedSize = fpHeaderSize + fingerprint.MaxCandidates*fpCandidateSize
)

// errFPVersion reports a cached fingerprint of another version.
var errFPVersion = errors.New("cached fingerprint has an old or unknown encoding")

// cacheEntry is a cached fingerprint and how it was matched.
type cacheEntry struct {
	fp fingerprint.Fingerprint
	// policy is the policyKey of the match options it was matched with.
	policy uint64
	// bank is the ContentKey of the bank its pixels were matched against
	// (zero: they were not).
	bank uint64
	// pixelMatched says a match was found from the pixels alone (the
	// feature or patch route): the entry serves a 304 of the same URL,
	// whose match is recorded, but the same bytes fetched anew (another
	// URL, another site) are matched from their pixels again.
	pixelMatched bool
}

// policyKey identifies match options: a cached fingerprint matched with
// other options may lack what this policy's pixel routes would have found
// or refused (a wider radius offers hash matches that were never read).
// Every field is listed (TestPolicyKey fails on one that is not), so the
// key is the same in every process for the same options.
func policyKey(o fingerprint.MatchOptions) uint64 {
	f := o.Features.WithDefaults()
	h := fnv.New64a()
	fmt.Fprintln(h, o.PDQRadius, o.RegionRadius, o.SubImageRadius, o.MinQuality, o.PHashRadius,
		o.Dihedral, o.SubImages, o.Patches, o.PatchRadius, o.PatchMatchRadius, o.NoFeatures)
	fmt.Fprintln(h, f.MaxDistance, f.Probes, f.Tests, f.MaxLogNFA, f.MinInlierFraction, f.MaxVerify, f.MaxCorr, f.MaxRead,
		f.MinSiteAgreement)
	return h.Sum64()
}

// encodeFP encodes e for the cache. It returns nil for a fingerprint whose
// refused captures do not fit: caching it without them would let their
// matches back.
func encodeFP(e cacheEntry) []byte {
	if len(e.fp.Refused) > fpMaxRefused {
		return nil
	}
	body := encodeFPv3(e.fp)
	out := make([]byte, 0, len(body)+fpPolicySize+fpBankSize+fpFlagsSize+fpRefusedSize)
	out = append(out, fpCodecVersion)
	out = binary.BigEndian.AppendUint64(out, e.policy)
	out = binary.BigEndian.AppendUint64(out, e.bank)
	var flags byte
	if e.pixelMatched {
		flags |= fpPixelMatched
	}
	out = append(out, flags)
	out = binary.BigEndian.AppendUint16(out, uint16(len(e.fp.Refused)))
	for _, id := range e.fp.Refused {
		if len(id) > fpMaxRefusedID {
			return nil
		}
		out = binary.BigEndian.AppendUint16(out, uint16(len(id)))
		out = append(out, id...)
	}
	return append(out, body[1:]...)
}

// decodeRefused reads the refused captures of an entry and returns the
// rest.
func decodeRefused(b []byte) ([]string, []byte, error) {
	if len(b) < fpRefusedSize {
		return nil, nil, fmt.Errorf("cached fingerprint: no refused count")
	}
	n := int(binary.BigEndian.Uint16(b))
	if n > fpMaxRefused {
		return nil, nil, fmt.Errorf("cached fingerprint: %d refused captures", n)
	}
	b = b[2:]
	var out []string
	for range n {
		if len(b) < 2 {
			return nil, nil, fmt.Errorf("cached fingerprint: refused captures cut short")
		}
		l := int(binary.BigEndian.Uint16(b))
		if l > fpMaxRefusedID || len(b) < 2+l {
			return nil, nil, fmt.Errorf("cached fingerprint: refused capture ID of %d bytes", l)
		}
		out = append(out, string(b[2:2+l]))
		b = b[2+l:]
	}
	return out, b, nil
}

func encodeFPv3(fp fingerprint.Fingerprint) []byte {
	cands := fp.Candidates
	if len(cands) > fingerprint.MaxCandidates {
		cands = cands[:fingerprint.MaxCandidates]
	}
	b := make([]byte, 0, fpHeaderSize+len(cands)*fpCandidateSize)
	b = append(b, fpV3, clampByte(fp.PDQ.Quality))
	b = binary.BigEndian.AppendUint64(b, uint64(fp.PHash))
	for _, h := range fp.PDQ.Hashes {
		b = appendHash(b, h)
	}
	// Reference quality 255 means the reference hashes were not computed.
	refQ := byte(255)
	if fp.HasReference {
		refQ = clampByte(fp.Reference.Quality)
	}
	b = append(b, refQ)
	for _, h := range fp.Reference.Hashes {
		b = appendHash(b, h)
	}
	if fp.WholeOnly {
		b = append(b, fpNoCandidates)
	} else {
		b = append(b, byte(len(cands)))
	}
	for _, c := range cands {
		b = append(b, byte(c.Kind), clampByte(c.Quality), byte(c.Region))
		for _, v := range [4]int{c.Rect.Min.X, c.Rect.Min.Y, c.Rect.Max.X, c.Rect.Max.Y} {
			b = binary.BigEndian.AppendUint16(b, uint16(min(max(v, 0), 0xffff)))
		}
		b = appendHash(b, c.Hash)
	}
	return b
}

// decodeFP decodes a cached fingerprint.
func decodeFP(b []byte) (cacheEntry, error) {
	if len(b) == 0 || b[0] != fpCodecVersion {
		return cacheEntry{}, errFPVersion
	}
	const head = 1 + fpPolicySize + fpBankSize + fpFlagsSize
	if len(b) < head {
		return cacheEntry{}, fmt.Errorf("cached fingerprint: %d bytes", len(b))
	}
	flags := b[head-1]
	if flags&^fpPixelMatched != 0 {
		return cacheEntry{}, fmt.Errorf("cached fingerprint: unknown flags %#x", flags)
	}
	e := cacheEntry{policy: binary.BigEndian.Uint64(b[1:]), bank: binary.BigEndian.Uint64(b[1+fpPolicySize:]),
		pixelMatched: flags&fpPixelMatched != 0}
	refused, rest, err := decodeRefused(b[head:])
	if err != nil {
		return cacheEntry{}, err
	}
	v3 := make([]byte, 0, 1+len(rest))
	v3 = append(v3, fpV3)
	fp, err := decodeFPv3(append(v3, rest...))
	if err != nil {
		return cacheEntry{}, err
	}
	fp.Refused = refused
	e.fp = fp
	return e, nil
}

func decodeFPv3(b []byte) (fingerprint.Fingerprint, error) {
	var fp fingerprint.Fingerprint
	if len(b) < fpHeaderSize || len(b) > fpMaxEncodedSize {
		return fp, fmt.Errorf("cached fingerprint: %d bytes", len(b))
	}
	fp.PDQ.Quality = int(b[1])
	fp.PHash = hamming.Hash64(binary.BigEndian.Uint64(b[2:]))
	p := b[10:]
	for i := range fp.PDQ.Hashes {
		fp.PDQ.Hashes[i], p = readHash(p)
	}
	if p[0] != 255 {
		fp.Reference.Quality, fp.HasReference = int(p[0]), true
	}
	p = p[1:]
	for i := range fp.Reference.Hashes {
		fp.Reference.Hashes[i], p = readHash(p)
	}
	n := int(p[0])
	p = p[1:]
	if n == fpNoCandidates {
		fp.WholeOnly, n = true, 0
	}
	if n > fingerprint.MaxCandidates || len(p) != n*fpCandidateSize {
		return fingerprint.Fingerprint{}, fmt.Errorf("cached fingerprint: %d candidates in %d bytes", n, len(p))
	}
	if n > 0 {
		fp.Candidates = make([]fingerprint.Candidate, n)
	}
	for i := range fp.Candidates {
		c := &fp.Candidates[i]
		kind := fingerprint.CandidateKind(p[0])
		if kind < fingerprint.CandidateSubImage || kind > fingerprint.CandidateStraightened {
			return fingerprint.Fingerprint{}, fmt.Errorf("cached fingerprint: candidate kind %d", p[0])
		}
		c.Kind, c.Quality, c.Region = kind, int(p[1]), fingerprint.Region(p[2])
		// Only a straightened candidate names a region, and only a central
		// one: a damaged entry must not be compared with patches or
		// imported hashes.
		if kind == fingerprint.CandidateStraightened && !fingerprint.IsCentralRegion(c.Region) ||
			kind != fingerprint.CandidateStraightened && c.Region != 0 {
			return fingerprint.Fingerprint{}, fmt.Errorf("cached fingerprint: candidate kind %d with region %d", p[0], p[2])
		}
		u := func(k int) int { return int(binary.BigEndian.Uint16(p[3+2*k:])) }
		// image.Rect would reorder an inverted rectangle; no encoder
		// writes one, so it marks a damaged entry.
		if u(0) > u(2) || u(1) > u(3) {
			return fingerprint.Fingerprint{}, fmt.Errorf("cached fingerprint: inverted rectangle %d,%d,%d,%d", u(0), u(1), u(2), u(3))
		}
		c.Rect = image.Rectangle{Min: image.Pt(u(0), u(1)), Max: image.Pt(u(2), u(3))}
		c.Hash, _ = readHash(p[11:])
		p = p[fpCandidateSize:]
	}
	return fp, nil
}

func appendHash(b []byte, h hamming.Hash256) []byte {
	for _, w := range h {
		b = binary.BigEndian.AppendUint64(b, w)
	}
	return b
}

func readHash(p []byte) (hamming.Hash256, []byte) {
	var h hamming.Hash256
	for w := range h {
		h[w] = binary.BigEndian.Uint64(p)
		p = p[8:]
	}
	return h, p
}

func clampByte(v int) byte { return byte(min(max(v, 0), 255)) }
