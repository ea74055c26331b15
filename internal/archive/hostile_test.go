package archive_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"unicode"

	"github.com/leakwatch/leakwatch/internal/archive"
	"github.com/leakwatch/leakwatch/internal/archive/archivetest"
)

func TestWalkHostile(t *testing.T) {
	many := func(n int) []archivetest.File {
		fs := make([]archivetest.File, n)
		for i := range fs {
			fs[i] = archivetest.File{Name: fmt.Sprintf("f%03d.txt", i), Body: []byte("x")}
		}
		return fs
	}
	big := noise(4, 3<<20)
	// maxDelivered bounds the bytes decompressed past a limit: one read
	// buffer per layer.
	const slack = 1 << 20

	tests := []struct {
		name     string
		file     string
		data     []byte
		lim      archive.Limits
		modes    []string // default: both
		wantErr  error    // nil: the walk must succeed
		reasons  map[string]int
		entries  []string // exactly these, in order; nil: don't care
		maxUncmp int64    // 0: don't care; -1: nothing may be decompressed
	}{
		{
			name: "nested bomb: total", file: "bomb.zip", data: archivetest.NestedZipBomb(3, 8),
			lim:     archive.Limits{MaxUncompressedBytes: 16 << 20, MaxRatio: 1e9},
			wantErr: archive.ErrTooLarge, maxUncmp: 16<<20 + slack,
		},
		{
			name: "nested bomb: ratio", file: "bomb.zip", data: archivetest.NestedZipBomb(3, 8),
			lim:     archive.Limits{MaxRatio: 50},
			wantErr: archive.ErrRatio,
		},
		{
			name: "nested bomb: depth", file: "bomb.zip", data: archivetest.NestedZipBomb(3, 8),
			lim:     archive.Limits{MaxDepth: 2, MaxRatio: 1e9},
			reasons: map[string]int{"too_deep": 64}, entries: []string{},
			maxUncmp: 2 << 20, // the level-2 zips only; no zeros were inflated
		},
		{
			name: "overlapping entries", file: "overlap.zip", data: archivetest.OverlapZipBomb(),
			wantErr: archive.ErrCorrupt, entries: []string{}, maxUncmp: -1,
		},
		{
			name: "corrupt central directory", file: "c.zip", data: archivetest.CorruptCentralDirectory(),
			wantErr: archive.ErrCorrupt, entries: []string{},
		},
		{
			name: "truncated zip", file: "t.zip", data: trimEnd(archivetest.Zip(many(3)...), 10),
			wantErr: archive.ErrCorrupt, entries: []string{},
		},
		{
			name: "zip directory offset out of range", file: "o.zip", data: badDirOffset(archivetest.Zip(many(3)...)),
			reasons: map[string]int{"corrupt": 3}, entries: []string{},
		},
		{
			name: "truncated tar.gz", file: "t.tar.gz", data: archivetest.TruncatedTarGz(),
			wantErr: archive.ErrCorrupt, reasons: map[string]int{"corrupt": 1},
			entries: []string{"first.txt", "second.bin"},
		},
		{
			name: "xz dictionary bomb", file: "d.tar.xz", data: archivetest.XZDictBomb(),
			wantErr: archive.ErrUnsupported, entries: []string{},
		},
		{
			name: "xz dictionary bomb in a later block", file: "d.tar.xz", data: archivetest.XZLaterBlockDictBomb(),
			wantErr: archive.ErrUnsupported,
		},
		{
			name: "gzip bomb: ratio", file: "zeros.gz", data: archivetest.GzipBomb(64 << 20),
			wantErr: archive.ErrRatio, maxUncmp: 32 << 20,
		},
		{
			name: "gzip bomb: entry size", file: "zeros.gz", data: archivetest.GzipBomb(8 << 20),
			lim:     archive.Limits{MaxEntryBytes: 1 << 20, MaxRatio: 1e9},
			reasons: map[string]int{"entry_too_large": 1}, entries: []string{"zeros"},
		},
		{
			// A directory that holds data in a solid folder: skipping it
			// still decodes its bytes (to reach the next entry), so they
			// must count against the total.
			name: "7z directory with data", file: "d.7z",
			data: archivetest.SevenZipStored(
				archivetest.File{Name: "dir/", Body: make([]byte, 4<<20)},
				archivetest.File{Name: "after.jpg", Body: []byte("y")},
			),
			lim:     archive.Limits{MaxUncompressedBytes: 2 << 20, MaxRatio: 1e9},
			wantErr: archive.ErrTooLarge, entries: []string{}, maxUncmp: 2<<20 + slack,
		},
		{
			name: "encrypted zip entry", file: "e.zip",
			data: archivetest.Zip(
				archivetest.File{Name: "secret.jpg", Body: []byte("x"), Encrypted: true},
				archivetest.File{Name: "plain.jpg", Body: []byte("y")},
			),
			reasons: map[string]int{"encrypted": 1}, entries: []string{"plain.jpg"},
		},
		{
			name: "unsupported zip method", file: "u.zip",
			data: archivetest.Zip(
				archivetest.File{Name: "lzma.jpg", Body: []byte("not really lzma"), RawMethod: 14},
				archivetest.File{Name: "plain.jpg", Body: []byte("y")},
			),
			reasons: map[string]int{"unsupported": 1}, entries: []string{"plain.jpg"},
		},
		{
			name: "7z encrypted entries", file: "e.7z", data: archivetest.SevenZipEncrypted(),
			reasons: map[string]int{"encrypted": 2}, entries: []string{},
		},
		{
			name: "7z encrypted file list", file: "e.7z", data: archivetest.SevenZipEncryptedHeaders(),
			wantErr: archive.ErrEncrypted, entries: []string{},
		},
		{
			name: "7z file-count bomb", file: "n.7z", data: archivetest.SevenZipFileCountBomb(),
			wantErr: archive.ErrTooManyEntries, entries: []string{},
		},
		{
			name: "zip: too many entries", file: "m.zip", data: archivetest.Zip(many(50)...),
			lim:     archive.Limits{MaxEntries: 10},
			wantErr: archive.ErrTooManyEntries, entries: []string{}, // refused before parsing
		},
		{
			name: "tar: too many entries", file: "m.tar", data: archivetest.Tar(many(50)...),
			lim:     archive.Limits{MaxEntries: 10},
			wantErr: archive.ErrTooManyEntries,
			entries: []string{"f000.txt", "f001.txt", "f002.txt", "f003.txt", "f004.txt", "f005.txt", "f006.txt", "f007.txt", "f008.txt", "f009.txt"},
		},
		{
			name: "tar: declared too large", file: "b.tar",
			data:    archivetest.Tar(archivetest.File{Name: "big.bin", Body: big}, archivetest.File{Name: "after.txt", Body: []byte("a")}),
			lim:     archive.Limits{MaxEntryBytes: 1 << 20},
			reasons: map[string]int{"entry_too_large": 1}, entries: []string{"after.txt"},
		},
		{
			name: "zip: declared too large", file: "b.zip",
			data:    archivetest.Zip(archivetest.File{Name: "big.bin", Body: big}, archivetest.File{Name: "after.txt", Body: []byte("a")}),
			lim:     archive.Limits{MaxEntryBytes: 1 << 20},
			reasons: map[string]int{"entry_too_large": 1}, entries: []string{"after.txt"},
		},
		{
			name: "compressed input too large", file: "b.tar",
			data:    archivetest.Tar(archivetest.File{Name: "big.bin", Body: big}),
			lim:     archive.Limits{MaxCompressedBytes: 1 << 20},
			wantErr: archive.ErrCompressedTooLarge, entries: []string{"big.bin"}, // cut off while read
		},
		{
			name: "spool too large", file: "b.zip", modes: []string{"stream"},
			data:    archivetest.Zip(archivetest.File{Name: "big.bin", Body: big, Store: true}),
			lim:     archive.Limits{MaxSpoolBytes: 2 << 20},
			wantErr: archive.ErrSpoolTooLarge, entries: []string{},
		},
		{
			name: "nested spool too large", file: "n.tar",
			data: archivetest.Tar(
				archivetest.File{Name: "inner.zip", Body: archivetest.Zip(archivetest.File{Name: "big.bin", Body: big, Store: true})},
				archivetest.File{Name: "after.txt", Body: []byte("a")},
			),
			lim:     archive.Limits{MaxSpoolBytes: 2 << 20},
			reasons: map[string]int{"spool_too_large": 1}, entries: []string{"after.txt"},
		},
		{
			name: "truncated inside a nested zip", file: "t.tar.gz",
			data: trimEnd(archivetest.TarGz(archivetest.File{Name: "inner.zip",
				Body: archivetest.Zip(archivetest.File{Name: "big.bin", Body: big, Store: true})}), 1<<20),
			wantErr: archive.ErrCorrupt, reasons: map[string]int{"corrupt": 1}, entries: []string{},
		},
		{
			name: "corrupt nested archive", file: "n.tar",
			data: archivetest.Tar(
				archivetest.File{Name: "inner.zip", Body: archivetest.CorruptCentralDirectory()},
				archivetest.File{Name: "after.txt", Body: []byte("a")},
			),
			reasons: map[string]int{"corrupt": 1}, entries: []string{"after.txt"},
		},
		{
			name: "pixel bomb is delivered as data", file: "p.tar.gz", data: archivetest.PNGBombTarGz(),
			entries: []string{"leak/huge.png"},
		},
	}
	for _, tt := range tests {
		for _, m := range modes {
			if tt.modes != nil && !strings.Contains(strings.Join(tt.modes, ","), m.name) {
				continue
			}
			t.Run(tt.name+"/"+m.name, func(t *testing.T) {
				res := walk(t, m.wrap(tt.data), tt.file, tt.lim)
				switch {
				case tt.wantErr == nil && res.err != nil:
					t.Fatalf("Walk: %v", res.err)
				case tt.wantErr != nil && !errors.Is(res.err, tt.wantErr):
					t.Fatalf("Walk err = %v, want %v", res.err, tt.wantErr)
				}
				for reason, want := range tt.reasons {
					if got := res.stats.Skipped[reason]; got != want {
						t.Errorf("Skipped[%s] = %d, want %d (reports %v)", reason, got, want, res.reports)
					}
				}
				if res.stats.Errors != len(res.reports) {
					t.Errorf("Stats.Errors = %d, onError called %d times", res.stats.Errors, len(res.reports))
				}
				if tt.entries != nil && strings.Join(tt.entries, ",") != strings.Join(res.order, ",") {
					t.Errorf("entries = %q, want %q", res.order, tt.entries)
				}
				if tt.maxUncmp == -1 && res.stats.Uncompressed != 0 {
					t.Errorf("decompressed %d bytes, want none", res.stats.Uncompressed)
				}
				if tt.maxUncmp > 0 && res.stats.Uncompressed > tt.maxUncmp {
					t.Errorf("decompressed %d bytes, want at most %d", res.stats.Uncompressed, tt.maxUncmp)
				}
			})
		}
	}
}

func trimEnd(b []byte, n int) []byte { return b[:len(b)-n] }

// badDirOffset points the end record's directory offset past the end.
func badDirOffset(z []byte) []byte {
	out := bytes.Clone(z)
	i := bytes.LastIndex(out, []byte("PK\x05\x06"))
	copy(out[i+16:], []byte{0xf0, 0xff, 0xff, 0x7f})
	return out
}

func TestWalkZipSlip(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			res := walk(t, m.wrap(archivetest.ZipSlip()), "slip.zip", archive.Limits{})
			if res.err != nil {
				t.Fatal(res.err)
			}
			names := archivetest.ZipSlipNames()
			if len(res.order) != len(names) {
				t.Fatalf("entries = %q, want all %d", res.order, len(names))
			}
			for i, got := range res.order {
				if want := fmt.Sprintf("slip %d\n", i); res.entries[got] != want {
					t.Errorf("%q body = %q, want %q", got, res.entries[got], want)
				}
				for _, r := range got {
					if unicode.IsControl(r) || r == '\u202e' {
						t.Errorf("displayed name %q holds %U", got, r)
					}
				}
			}
			// Names are data: traversal survives verbatim for the report.
			if res.order[0] != "../../etc/passwd" || res.order[5] != "term]0;pwnedtxt.exe" {
				t.Errorf("names = %q", res.order)
			}
			if res.stats.UnsafeNames != 5 {
				t.Errorf("UnsafeNames = %d, want 5", res.stats.UnsafeNames)
			}
		})
	}
}

func TestWalkEntryTooLargeWhileReading(t *testing.T) {
	// A gzipped entry of unknown size inside a zip exceeds the limit only
	// while being read; the consumer passes the error on, wrapped, and the
	// walk goes on with the next entry.
	data := archivetest.Zip(
		archivetest.File{Name: "a.bin.gz", Body: archivetest.Gzip("", noise(5, 3<<20))},
		archivetest.File{Name: "b.txt", Body: []byte("b")},
	)
	var got []int64
	var errs []error
	var reported []string
	st, err := archive.Walk(t.Context(), bytes.NewReader(data), "x.zip", archive.Limits{MaxEntryBytes: 1 << 20, TempDir: t.TempDir()},
		func(e archive.Entry) error {
			n, err := io.Copy(io.Discard, e.Body)
			got, errs = append(got, n), append(errs, err)
			if err != nil {
				return fmt.Errorf("consumer: %w", err)
			}
			return nil
		},
		func(path []string, err error) {
			if errors.Is(err, archive.ErrEntryTooLarge) {
				reported = append(reported, strings.Join(path, "!"))
			}
		})
	if err != nil {
		t.Fatalf("Walk: %v", err)
	}
	if len(got) != 2 || got[0] != 1<<20 || !errors.Is(errs[0], archive.ErrEntryTooLarge) || got[1] != 1 || errs[1] != nil {
		t.Errorf("reads = %v, %v; want exactly 1 MiB then ErrEntryTooLarge, then b.txt", got, errs)
	}
	if len(reported) != 1 || reported[0] != "a.bin.gz!a.bin" || st.Skipped["entry_too_large"] != 1 {
		t.Errorf("reported %v, Skipped %v; want a.bin.gz!a.bin once", reported, st.Skipped)
	}
}

// The entries of encrypted 7z folders are reported without being opened:
// each open would run its folder's key derivation (2^19 SHA-256 rounds by
// 7-Zip's default, up to 2^24) only to fail. The plain folders of the same
// archive are read.
func TestWalk7zEncryptedFoldersNotOpened(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			res := walk(t, m.wrap(archivetest.SevenZipMixedEncryption()), "m.7z", archive.Limits{})
			if res.err != nil {
				t.Fatal(res.err)
			}
			if res.entries["p1.txt"] != "plain one\n" || res.entries["p2.txt"] != "plain two\n" || len(res.entries) != 2 {
				t.Errorf("entries %v, want the two plain files", res.entries)
			}
			var notOpened int
			for _, r := range res.reports {
				if errors.Is(r.err, archive.ErrEncrypted) && strings.Contains(r.err.Error(), "not opened") {
					notOpened++
				} else {
					t.Errorf("%s: %v", r.path, r.err)
				}
			}
			if notOpened != 12 {
				t.Errorf("%d entries reported encrypted without opening, want 12", notOpened)
			}
		})
	}
}
