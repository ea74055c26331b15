package tiff

import (
	"bytes"
	"context"
	"io"

	"github.com/klauspost/compress/zlib"
	"golang.org/x/image/ccitt"
	"golang.org/x/image/tiff/lzw"
)

// decompressors opens the stream of each block, reusing what can be
// reused from one block to the next. Every decompressor reads from a
// bytes.Reader, an io.ByteReader, so none reads past what it needs; LZW
// and deflate read it through cs, which checks the context.
type decompressors struct {
	src bytes.Reader
	cs  ctxSource
	zr  io.ReadCloser
	pb  packBits
}

// open returns the decompressed stream of block data src, rows rows high.
func (d *decompressors) open(ctx context.Context, f *file, src []byte, rows int) (io.ReadCloser, error) {
	d.src.Reset(src)
	d.cs = ctxSource{ctx: ctx, r: &d.src}
	switch f.Compression {
	case compLZW:
		return lzw.NewReader(&d.cs, lzw.MSB, 8), nil
	case compDeflate, compDeflateOld:
		var err error
		if d.zr == nil {
			d.zr, err = zlib.NewReader(&d.cs)
		} else {
			err = d.zr.(zlib.Resetter).Reset(&d.cs, nil)
		}
		if err != nil {
			d.zr = nil
			if cerr := ctx.Err(); cerr != nil {
				return nil, cerr
			}
			return nil, errs.Formatf("deflate stream: %v", err)
		}
		return io.NopCloser(d.zr), nil
	case compPackBits:
		d.pb = packBits{r: &d.src}
		return io.NopCloser(&d.pb), nil
	case compCCITT3, compCCITT4:
		order, sf := ccitt.MSB, ccitt.Group3
		if f.fillOrder == 2 {
			order = ccitt.LSB
		}
		if f.Compression == compCCITT4 {
			sf = ccitt.Group4
		}
		if f.Tiled {
			rows = f.bh // a tile's code covers its padding rows too
		}
		// Inverted for WhiteIsZero and read back through the grey
		// inversion, as x/image/tiff does: white is 255 either way.
		inv := f.Photometric == phWhiteIsZero
		return io.NopCloser(ccitt.NewReader(&d.src, order, sf, f.bw, rows, &ccitt.Options{Invert: inv})), nil
	}
	return io.NopCloser(&d.src), nil
}

// ctxSource is a block's compressed bytes as a decompressor reads them,
// checking ctx every 64 KiB: a deflate stream of empty blocks yields no
// row for megabytes of input, and a row is one read.
type ctxSource struct {
	ctx context.Context
	r   *bytes.Reader
	n   int
}

func (c *ctxSource) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

func (c *ctxSource) ReadByte() (byte, error) {
	if c.n++; c.n&(64<<10-1) == 0 {
		if err := c.ctx.Err(); err != nil {
			return 0, err
		}
	}
	return c.r.ReadByte()
}

// packBits decodes PackBits (TIFF 6.0, section 9) as a stream: a header
// byte n is followed by n+1 literal bytes (n >= 0) or by one byte to
// repeat 1-n times (n < 0); -128 is skipped.
type packBits struct {
	r    *bytes.Reader
	run  int  // bytes left in the current run
	lit  bool // a literal run, not a repeat
	fill byte // the repeated byte
}

func (p *packBits) Read(dst []byte) (int, error) {
	n := 0
	for n < len(dst) {
		if p.run == 0 {
			h, err := p.r.ReadByte()
			if err != nil {
				if n > 0 {
					return n, nil
				}
				return 0, io.EOF
			}
			switch c := int8(h); {
			case c >= 0:
				p.run, p.lit = int(c)+1, true
			case c == -128:
				continue
			default:
				b, err := p.r.ReadByte()
				if err != nil {
					return n, io.ErrUnexpectedEOF
				}
				p.run, p.lit, p.fill = 1-int(c), false, b
			}
		}
		k := min(p.run, len(dst)-n)
		if p.lit {
			m, _ := p.r.Read(dst[n : n+k])
			p.run -= m
			n += m
			if m < k {
				return n, io.ErrUnexpectedEOF
			}
			continue
		}
		for i := range k {
			dst[n+i] = p.fill
		}
		p.run -= k
		n += k
	}
	return n, nil
}
