package archive

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"testing"
	"testing/iotest"

	"github.com/leakwatch/leakwatch/internal/archive/archivetest"
	"github.com/ulikunitz/xz"
)

// readXZ decodes all of r as the walker does.
func readXZ(r io.Reader) ([]byte, error) {
	zr, err := xz.NewReader(r)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

func xzWithBlocks(t *testing.T, body []byte, check byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := xz.WriterConfig{BlockSize: 1 << 10, CheckSum: check}.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zw.Write(body); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestXZGuardFollowsValidFiles(t *testing.T) {
	fixtures := archivetest.XZFiles()
	tarBody := archivetest.Tar(archivetest.FixtureFiles()...)
	tests := []struct {
		name   string
		data   []byte
		blocks int
	}{
		{"xz-utils: ten blocks, SHA-256", fixtures["blocks-sha256.tar.xz"], 10},
		{"xz-utils: no check", fixtures["check-none.tar.xz"], 1},
		{"xz-utils: x86 and LZMA2 filters", fixtures["x86-filter.tar.xz"], 1},
		{"xz-utils: stored chunks", fixtures["stored-chunks.bin.xz"], 3},
		{"xz-utils: two streams and padding", fixtures["two-streams.txt.xz"], 2},
		{"Go writer: one block", archivetest.TarXz(archivetest.FixtureFiles()...), 1},
		{"Go writer: blocks, CRC32", xzWithBlocks(t, tarBody, xz.CRC32), (len(tarBody) + 1023) >> 10},
		{"Go writer: blocks, SHA-256", xzWithBlocks(t, tarBody, xz.SHA256), (len(tarBody) + 1023) >> 10},
		{"empty: one empty block", archivetest.Xz(nil), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, oneByte := range []bool{false, true} {
				var r io.Reader = bytes.NewReader(tt.data)
				if oneByte {
					r = iotest.OneByteReader(r)
				}
				g := newXZGuard(r)
				if n, err := io.Copy(io.Discard, g); err != nil || n != int64(len(tt.data)) {
					t.Fatalf("one byte at a time %v: read %d of %d bytes, %v", oneByte, n, len(tt.data), err)
				}
				if g.state != xzStreamGap || g.skip != 0 || g.blocks != tt.blocks {
					t.Errorf("one byte at a time %v: ended in field %d (skip %d) after %d blocks, want the end of a stream after %d",
						oneByte, g.state, g.skip, g.blocks, tt.blocks)
				}
			}
			want, werr := readXZ(bytes.NewReader(tt.data))
			got, gerr := readXZ(newXZGuard(bytes.NewReader(tt.data)))
			if !bytes.Equal(got, want) || (werr == nil) != (gerr == nil) {
				t.Errorf("decoded through the guard: %d bytes, %v; directly: %d bytes, %v", len(got), gerr, len(want), werr)
			}
		})
	}
}

func TestXZGuardRefuses(t *testing.T) {
	plain := archivetest.XZFiles()["check-none.tar.xz"]
	at := func(b []byte, i int, v byte) []byte {
		b = bytes.Clone(b)
		b[i] = v
		return b
	}
	firstChunk := 12 + (int(plain[12])+1)*4
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"dictionary of the first block", archivetest.XZDictBomb(), ErrUnsupported},
		{"dictionary of a later block", archivetest.XZLaterBlockDictBomb(), ErrUnsupported},
		{"LZMA2 control byte", at(plain, firstChunk, 0x05), ErrCorrupt},
		{"stream magic", at(plain, 1, 'x'), ErrCorrupt},
		{"data after the stream", append(bytes.Clone(plain), 0, 0, 0, 0, 'x'), ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := readXZ(newXZGuard(bytes.NewReader(tt.data)))
			runtime.ReadMemStats(&after)
			if !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			// The decoder allocates a block's dictionary once it has the
			// header: a refused one must not have been allocated.
			if d := after.TotalAlloc - before.TotalAlloc; d > 64<<20 {
				t.Errorf("allocated %d MiB", d>>20)
			}
		})
	}
}

// FuzzXZGuard checks that the guard never panics, passes on every byte it
// accepts, and that the decoder reads the same through it.
func FuzzXZGuard(f *testing.F) {
	for _, b := range archivetest.XZFiles() {
		f.Add(b)
	}
	f.Add(archivetest.XZLaterBlockDictBomb())
	f.Add(archivetest.TarXz(archivetest.FixtureFiles()...))
	f.Fuzz(func(t *testing.T, data []byte) {
		g := newXZGuard(bytes.NewReader(data))
		n, err := io.Copy(io.Discard, g)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("guard error %v is neither corrupt nor unsupported", err)
			}
			return
		}
		if n != int64(len(data)) {
			t.Fatalf("guard passed %d of %d bytes", n, len(data))
		}
		// Every block header it saw was within the limit, so the
		// decoder may run on the bytes directly too.
		want, werr := readXZ(bytes.NewReader(data))
		got, gerr := readXZ(newXZGuard(bytes.NewReader(data)))
		if !bytes.Equal(got, want) || (werr == nil) != (gerr == nil) {
			t.Fatalf("through the guard: %d bytes, %v; directly: %d bytes, %v", len(got), gerr, len(want), werr)
		}
	})
}
