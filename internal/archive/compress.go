package archive

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"errors"
	"fmt"
	"io"

	"github.com/ulikunitz/xz"
)

// maxXZDict caps the LZMA2 dictionary an xz block may ask for. The decoder
// allocates the whole dictionary up front, so a 60-byte file declaring 4 GiB
// would be a memory bomb; xz -9 uses 64 MiB. xzGuard checks every block.
const maxXZDict = 128 << 20

// walkCompressed walks a gzip, bzip2 or xz stream: a compressed tar is
// walked at the same depth, anything else is one entry named after the
// hint without its suffix (and may itself be a nested archive).
func (w *walker) walkCompressed(depth int, prefix []string, br *bufio.Reader, f Format, hint string) error {
	dr, stored, err := w.decompressor(f, br)
	if err != nil {
		if perr := w.propagate(err); perr != nil {
			return perr
		}
		return corrupt(string(f), err)
	}
	// Sniff the head into a small buffer rather than a bufio.Reader, so
	// the tar reader reads straight from the decompressor: one copy fewer
	// on the hot path.
	meter := &contentMeter{r: dr, w: w}
	head := make([]byte, HeadSize)
	n, err := io.ReadFull(meter, head)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		if perr := w.propagate(err); perr != nil {
			return perr
		}
		return corrupt(string(f), err)
	}
	head = head[:n]
	content := io.MultiReader(bytes.NewReader(head), meter)
	if Detect(head) == FormatTar {
		return w.walkTar(depth, prefix, content)
	}
	if err := w.member(); err != nil {
		return err
	}
	return w.entry(depth, prefix, singleName(hint, f, stored), content, -1)
}

// decompressor returns a reader of the decompressed stream and, for gzip,
// the file name stored in its header.
func (w *walker) decompressor(f Format, br *bufio.Reader) (io.Reader, string, error) {
	switch f {
	case FormatGzip:
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, "", err
		}
		return zr, zr.Name, nil
	case FormatBzip2:
		return &safeReader{r: bzip2.NewReader(br), what: "bzip2"}, "", nil
	case FormatXZ:
		zr, err := xz.NewReader(newXZGuard(br))
		if err != nil {
			return nil, "", err
		}
		return &safeReader{r: zr, what: "xz"}, "", nil
	}
	return nil, "", fmt.Errorf("archive: %q is not a compression format", f)
}

// xzDictSize decodes the LZMA2 dictionary-size property byte.
func xzDictSize(p byte) int64 {
	if p > 40 {
		return 1 << 40 // invalid; treat as huge
	}
	if p == 40 {
		return 1<<32 - 1
	}
	return int64(2|p&1) << (p/2 + 11)
}
