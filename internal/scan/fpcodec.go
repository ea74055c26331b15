package scan

import (
	"encoding/binary"
	"errors"

	"github.com/leakwatch/leakwatch/fingerprint"
)

// Cached fingerprints are stored as: version byte, quality byte, pHash
// (8 bytes), then the eight dihedral PDQ hashes (32 bytes each).
const fpCodecVersion = 1

func encodeFP(fp fingerprint.Fingerprint) []byte {
	b := make([]byte, 2, 2+8+8*32)
	b[0], b[1] = fpCodecVersion, byte(fp.PDQ.Quality)
	b = binary.BigEndian.AppendUint64(b, uint64(fp.PHash))
	for _, h := range fp.PDQ.Hashes {
		for _, w := range h {
			b = binary.BigEndian.AppendUint64(b, w)
		}
	}
	return b
}

func decodeFP(b []byte) (fingerprint.Fingerprint, error) {
	var fp fingerprint.Fingerprint
	if len(b) != 2+8+8*32 || b[0] != fpCodecVersion {
		return fp, errors.New("unknown cached fingerprint encoding")
	}
	fp.PDQ.Quality = int(b[1])
	fp.PHash = fingerprint.Hash64(binary.BigEndian.Uint64(b[2:]))
	p := b[10:]
	for i := range fp.PDQ.Hashes {
		for w := 0; w < 4; w++ {
			fp.PDQ.Hashes[i][w] = binary.BigEndian.Uint64(p)
			p = p[8:]
		}
	}
	return fp, nil
}
