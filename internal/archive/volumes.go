package archive

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Volume is one file of an archive split into several.
type Volume struct {
	// Name is the volume's file name or URL, a hint as in Walk.
	Name string
	Body io.Reader
}

// WalkVolumes walks one archive split into volumes, given in order, as
// Walk walks a single file:
//
//   - a RAR set (name.part1.rar, name.part2.rar, ... or name.rar,
//     name.r00, ...) is read volume after volume, as the format defines;
//   - a zip split by zip -s or WinZip (name.z01, name.z02, ..., name.zip,
//     the .zip last) is joined and its directory's per-volume offsets made
//     whole-archive ones;
//   - anything else (name.7z.001, name.zip.001, ..., cut by 7-Zip or
//     split(1)) is read as the concatenation of its volumes.
//
// The limits hold over the whole set: MaxCompressedBytes and MaxSpoolBytes
// count every volume's bytes together, and a set of more than MaxVolumes
// is refused with ErrTooManyVolumes before anything is read. Volume bodies
// are read once, in order, each only after the one before it has ended.
func WalkVolumes(ctx context.Context, vols []Volume, lim Limits, fn func(Entry) error, onError func(path []string, err error)) (Stats, error) {
	return run(ctx, lim, fn, onError, func(w *walker) error { return w.walkVolumes(vols) })
}

func (w *walker) walkVolumes(vols []Volume) error {
	switch {
	case len(vols) == 0:
		return fmt.Errorf("%w: no volumes", ErrNotArchive)
	case len(vols) > w.lim.MaxVolumes:
		return fmt.Errorf("%w: %d volumes, limit %d", ErrTooManyVolumes, len(vols), w.lim.MaxVolumes)
	}
	if err := w.check(); err != nil {
		return err
	}
	readers := make([]io.Reader, len(vols))
	for i, v := range vols {
		readers[i] = &sourceMeter{r: v.Body, w: w}
	}
	first := bufio.NewReaderSize(readers[0], 64<<10)
	readers[0] = first
	head, err := first.Peek(HeadSize)
	if err != nil && !errors.Is(err, io.EOF) {
		if perr := w.propagate(err); perr != nil {
			return perr
		}
		return corrupt("reading first volume", err)
	}
	if Detect(head) == FormatRAR {
		return w.walkRAR(1, nil, readers...)
	}
	cat := &joinedVolumes{readers: readers}
	w.volumeStarts = &cat.starts
	return w.walkStream(1, nil, bufio.NewReaderSize(cat, 64<<10), vols[0].Name, true)
}

// joinedVolumes reads the volumes one after another, recording where each
// one starts in the joined stream.
type joinedVolumes struct {
	readers []io.Reader
	current int
	read    int64
	starts  []int64
}

func (j *joinedVolumes) Read(p []byte) (int, error) {
	for j.current < len(j.readers) {
		if len(j.starts) == j.current {
			j.starts = append(j.starts, j.read)
		}
		n, err := j.readers[j.current].Read(p)
		j.read += int64(n)
		if errors.Is(err, io.EOF) {
			j.current++
			if n > 0 {
				return n, nil
			}
			continue
		}
		return n, err
	}
	return 0, io.EOF
}

// unsplitZip makes a zip split by zip -s readable as one file. Each central
// directory record names the volume ("disk") its entry starts on and the
// offset within that volume, and the end record does the same for the
// directory; starts says where each volume begins in the joined file.
// unsplitZip returns a view of the joined file whose directory and end
// record carry whole-file offsets, as if it had never been split, or ra
// itself when the zip is not split.
func unsplitZip(ra io.ReaderAt, size int64, starts []int64) (io.ReaderAt, int64, error) {
	n := min(size, dirEndSearch)
	buf := make([]byte, n)
	if _, err := ra.ReadAt(buf, size-n); err != nil && !errors.Is(err, io.EOF) {
		return nil, 0, err
	}
	p := -1
	for i := len(buf) - dirEndLen; i >= 0; i-- {
		if binary.LittleEndian.Uint32(buf[i:]) == sigDirEnd {
			p = i
			break
		}
	}
	if p < 0 {
		return ra, size, nil // walkZip reports the missing directory
	}
	e := buf[p : p+dirEndLen]
	disk, dirDisk := binary.LittleEndian.Uint16(e[4:]), binary.LittleEndian.Uint16(e[6:])
	if disk == 0 && dirDisk == 0 {
		return ra, size, nil
	}
	dirSize, dirOff := int64(binary.LittleEndian.Uint32(e[12:])), int64(binary.LittleEndian.Uint32(e[16:]))
	switch {
	case binary.LittleEndian.Uint16(e[10:]) == 0xffff || dirSize == 0xffffffff || dirOff == 0xffffffff || disk == 0xffff:
		return nil, 0, fmt.Errorf("%w: split zip64 archive", ErrUnsupported)
	case int(disk) >= len(starts) || int(dirDisk) >= len(starts):
		return nil, 0, fmt.Errorf("%w: split zip needs volume %d, %d given", ErrCorrupt, max(disk, dirDisk)+1, len(starts))
	case dirSize > maxZipDirectory:
		return nil, 0, fmt.Errorf("%w: split zip directory of %d bytes, limit %d", ErrUnsupported, dirSize, maxZipDirectory)
	}
	endOff := size - n + int64(p)
	dirStart := starts[dirDisk] + dirOff
	if dirStart < 0 || dirStart+dirSize > endOff {
		return nil, 0, fmt.Errorf("%w: split zip directory outside the joined volumes", ErrCorrupt)
	}
	dir := make([]byte, dirSize)
	if _, err := ra.ReadAt(dir, dirStart); err != nil {
		return nil, 0, err
	}
	records := 0
	for off := 0; off+dirHeaderLen <= len(dir); records++ {
		r := dir[off:]
		if binary.LittleEndian.Uint32(r) != sigDirHeader {
			break
		}
		d, rel := binary.LittleEndian.Uint16(r[34:]), int64(binary.LittleEndian.Uint32(r[42:]))
		if d == 0xffff || rel == 0xffffffff {
			return nil, 0, fmt.Errorf("%w: split zip64 archive", ErrUnsupported)
		}
		if int(d) >= len(starts) {
			return nil, 0, fmt.Errorf("%w: split zip entry on volume %d, %d given", ErrCorrupt, d+1, len(starts))
		}
		abs := starts[d] + rel
		if abs >= 0xffffffff {
			return nil, 0, fmt.Errorf("%w: split zip entry beyond 4 GiB", ErrUnsupported)
		}
		binary.LittleEndian.PutUint16(r[34:], 0)
		binary.LittleEndian.PutUint32(r[42:], uint32(abs))
		off += dirHeaderLen + int(binary.LittleEndian.Uint16(r[28:])) + int(binary.LittleEndian.Uint16(r[30:])) + int(binary.LittleEndian.Uint16(r[32:]))
	}
	if records > 0xffff || dirStart >= 0xffffffff {
		return nil, 0, fmt.Errorf("%w: split zip too large for a plain end record", ErrUnsupported)
	}
	end := binary.LittleEndian.AppendUint32(nil, sigDirEnd)
	end = binary.LittleEndian.AppendUint16(end, 0)
	end = binary.LittleEndian.AppendUint16(end, 0)
	end = binary.LittleEndian.AppendUint16(end, uint16(records))
	end = binary.LittleEndian.AppendUint16(end, uint16(records))
	end = binary.LittleEndian.AppendUint32(end, uint32(dirSize))
	end = binary.LittleEndian.AppendUint32(end, uint32(dirStart))
	end = binary.LittleEndian.AppendUint16(end, 0)
	view := &concatReaderAt{parts: []io.ReaderAt{io.NewSectionReader(ra, 0, dirStart), bytes.NewReader(dir), bytes.NewReader(end)},
		sizes: []int64{dirStart, dirSize, int64(len(end))}}
	return view, dirStart + dirSize + int64(len(end)), nil
}

// concatReaderAt reads parts of known sizes as one.
type concatReaderAt struct {
	parts []io.ReaderAt
	sizes []int64
}

func (c *concatReaderAt) ReadAt(p []byte, off int64) (int, error) {
	total := 0
	for i, part := range c.parts {
		if len(p) == 0 {
			break
		}
		if off >= c.sizes[i] {
			off -= c.sizes[i]
			continue
		}
		k := min(int64(len(p)), c.sizes[i]-off)
		n, err := part.ReadAt(p[:k], off)
		total += n
		if err != nil && !(errors.Is(err, io.EOF) && int64(n) == k) {
			return total, err
		}
		p, off = p[k:], 0
	}
	if len(p) > 0 {
		return total, io.EOF
	}
	return total, nil
}
