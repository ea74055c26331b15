package archive

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"

	"github.com/nwaples/rardecode/v2"
)

// maxRARDict caps the dictionary a RAR entry may declare: the decoder
// allocates it up front, and RAR 7 allows 64 GiB. rar -m5 uses 32 MiB
// (RAR 5) and 4 MiB (RAR 4).
const maxRARDict = 128 << 20

// walkRAR walks a RAR 4 or RAR 5 archive given as its volumes in order
// (one reader for an ordinary archive). RAR is read as a stream, so
// nothing is spooled: every volume is read once, front to back, through
// the caller's meters. Solid archives decode each entry from the ones
// before it; every entry, skipped or not, is therefore read to its end
// through a meter, as for 7z, so no decoding happens unseen.
func (w *walker) walkRAR(depth int, prefix []string, vols ...io.Reader) error {
	rr, err := openRAR(vols)
	if err != nil {
		if perr := w.propagate(err); perr != nil {
			return perr
		}
		return classifyRAR(err)
	}
	defer rr.Close() // closes the current volume, a no-op for ours
	for {
		hdr, err := nextRAR(rr)
		if errors.Is(err, io.EOF) {
			return w.check()
		}
		if err != nil {
			// A header that does not parse cannot be skipped: the
			// next one is found only through it.
			if perr := w.propagate(err); perr != nil {
				return perr
			}
			return classifyRAR(err)
		}
		if err := w.member(); err != nil {
			return err
		}
		if err := w.rarEntry(depth, prefix, rr, hdr); err != nil {
			return err
		}
	}
}

func (w *walker) rarEntry(depth int, prefix []string, rr *rardecode.ReadCloser, hdr *rardecode.FileHeader) error {
	switch {
	case hdr.IsDir:
		return nil
	case hdr.Mode()&fs.ModeType != 0 || hdr.LinkType != 0:
		w.skip(reasonNotRegular)
		return nil
	case hdr.Encrypted:
		w.report(w.childPath(prefix, hdr.Name), fmt.Errorf("%w: rar entry", ErrEncrypted))
		return nil
	}
	body := &contentMeter{r: &rarReader{r: rr}, w: w}
	declared := hdr.UnPackedSize
	if hdr.UnKnownSize || declared < 0 {
		declared = -1
	}
	if err := w.entry(depth, prefix, hdr.Name, body, declared); err != nil {
		return err
	}
	if _, err := io.Copy(io.Discard, body); err != nil {
		return w.propagate(err) // an entry-level error was already reported
	}
	return nil
}

// openRAR opens the volumes through an in-memory file system, since the
// library finds a set's volumes by name; a panic becomes ErrCorrupt.
func openRAR(vols []io.Reader) (rr *rardecode.ReadCloser, err error) {
	defer func() {
		if v := recover(); v != nil {
			rr, err = nil, fmt.Errorf("%w: rar reader panicked: %v", ErrCorrupt, v)
		}
	}()
	fsys := &rarVolumes{vols: vols, names: make(map[string]int)}
	return rardecode.OpenReader("volume.part1.rar", rardecode.FileSystem(fsys),
		rardecode.MaxDictionarySize(maxRARDict), rardecode.BufferSize(64<<10))
}

// nextRAR advances to the next entry, turning a library panic into
// ErrCorrupt.
func nextRAR(rr *rardecode.ReadCloser) (hdr *rardecode.FileHeader, err error) {
	defer func() {
		if v := recover(); v != nil {
			hdr, err = nil, fmt.Errorf("%w: rar reader panicked: %v", ErrCorrupt, v)
		}
	}()
	return rr.Next()
}

// rarReader classifies the library's read errors and its panics.
type rarReader struct{ r *rardecode.ReadCloser }

func (s *rarReader) Read(p []byte) (n int, err error) {
	defer func() {
		if v := recover(); v != nil {
			n, err = 0, fmt.Errorf("%w: rar decoder panicked: %v", ErrCorrupt, v)
		}
	}()
	n, err = s.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		err = classifyRAR(err)
	}
	return n, err
}

// classifyRAR maps the library's errors onto our sentinels. Meter errors
// (limits, ctx) are passed through untouched by the callers' propagate.
func classifyRAR(err error) error {
	switch {
	case errors.Is(err, rardecode.ErrArchiveEncrypted), errors.Is(err, rardecode.ErrArchivedFileEncrypted):
		return fmt.Errorf("%w: rar: %w", ErrEncrypted, err)
	case errors.Is(err, rardecode.ErrDictionaryTooLarge):
		return fmt.Errorf("%w: rar dictionary over %d bytes: %w", ErrUnsupported, maxRARDict, err)
	case errors.Is(err, rardecode.ErrUnknownVersion):
		return fmt.Errorf("%w: rar: %w", ErrUnsupported, err)
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, rardecode.ErrMultiVolume):
		return fmt.Errorf("%w: rar continues in a volume that was not given", ErrCorrupt)
	}
	return corrupt("rar", err)
}

// rarVolumes is the file system the library opens a set's volumes from.
// The library derives each next volume's name from the first one's, in one
// of two naming schemes it may guess between; names are therefore mapped to
// volumes in the order they are first asked for, and anything asked for
// after the last volume does not exist.
type rarVolumes struct {
	vols  []io.Reader
	names map[string]int
}

func (v *rarVolumes) Open(name string) (fs.File, error) {
	i, ok := v.names[name]
	if !ok {
		if len(v.names) >= len(v.vols) {
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
		}
		i = len(v.names)
		v.names[name] = i
	}
	return &rarVolume{r: v.vols[i], name: name}, nil
}

// rarVolume is one volume as an fs.File. It deliberately has no Seek, so
// the library reads (and our meters count) every byte it passes over.
type rarVolume struct {
	r    io.Reader
	name string
}

func (f *rarVolume) Read(p []byte) (int, error) { return f.r.Read(p) }
func (f *rarVolume) Close() error               { return nil }
func (f *rarVolume) Stat() (fs.FileInfo, error) { return rarVolumeInfo{f.name}, nil }

type rarVolumeInfo struct{ name string }

func (i rarVolumeInfo) Name() string       { return i.name }
func (i rarVolumeInfo) Size() int64        { return -1 }
func (i rarVolumeInfo) Mode() fs.FileMode  { return 0o444 }
func (i rarVolumeInfo) ModTime() time.Time { return time.Time{} }
func (i rarVolumeInfo) IsDir() bool        { return false }
func (i rarVolumeInfo) Sys() any           { return nil }
