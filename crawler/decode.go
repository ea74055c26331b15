package crawler

import (
	"compress/gzip"
	"fmt"
	"io"
	"strings"
)

// decodeGrace is decoded without a ratio check: small bodies compress
// well legitimately.
const decodeGrace = 1 << 20

// decodeBody undoes a Content-Encoding, metering it: once past
// decodeGrace, the decoded bytes may not exceed ratio times the encoded
// bytes received, so an encoded bomb is cut before the consumer (which
// may spool it to disk) sees the mass. The transport is asked not to
// decode (it would do so unmetered).
func decodeBody(r io.Reader, encoding string, ratio int) (io.Reader, error) {
	wire := &countReader{r: r}
	var dec io.Reader
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "", "identity":
		return r, nil
	case "gzip", "x-gzip":
		z, err := gzip.NewReader(wire)
		if err != nil {
			return nil, fmt.Errorf("Content-Encoding gzip: %w", err)
		}
		dec = z
	default:
		return nil, fmt.Errorf("%w: %q (only gzip is asked for)", ErrEncoding, encoding)
	}
	return &ratioReader{r: dec, wire: wire, ratio: int64(ratio)}, nil
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

type ratioReader struct {
	r     io.Reader
	wire  *countReader
	out   int64
	ratio int64
}

func (m *ratioReader) Read(p []byte) (int, error) {
	n, err := m.r.Read(p)
	m.out += int64(n)
	if m.out > decodeGrace && m.out > m.ratio*m.wire.n {
		return n, fmt.Errorf("%w: %d bytes decoded from %d received, ratio limit %d", ErrEncodingRatio, m.out, m.wire.n, m.ratio)
	}
	return n, err
}
