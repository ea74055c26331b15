package archive_test

import (
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	"github.com/leakwatch/leakwatch/internal/archive"
	"github.com/leakwatch/leakwatch/internal/archive/archivetest"
)

var writeSeeds = flag.Bool("write-seeds", false, "rewrite the committed fuzz seed corpora in testdata/fuzz")

// walkSeeds are small archives of every format and hostile shape.
func walkSeeds() map[string][]byte {
	small := []archivetest.File{
		{Name: "dir/"},
		{Name: "dir/a.jpg", Body: []byte("\xff\xd8\xff\xe0 jpeg-ish")},
		{Name: "b.txt", Body: []byte("bravo\n")},
	}
	inner := archivetest.Zip(archivetest.File{Name: "deep.txt", Body: []byte("deep")})
	truncated := archivetest.TarGz(small...)
	return map[string][]byte{
		"zip":            archivetest.Zip(small...),
		"tar":            archivetest.Tar(append(small, archivetest.File{Name: "l", Link: "b.txt"})...),
		"targz":          archivetest.TarGz(small...),
		"tarxz":          archivetest.TarXz(small...),
		"tarbz2":         archivetest.TarBz2(),
		"gzip":           archivetest.Gzip("a.jpg", []byte("single gzip file")),
		"bzip2":          archivetest.Bzip2(),
		"xz":             archivetest.Xz([]byte("single xz file")),
		"7z":             archivetest.SevenZip(),
		"7z-nested":      archivetest.SevenZipNested(),
		"7z-count-bomb":  archivetest.SevenZipFileCountBomb(),
		"nested":         archivetest.Zip(archivetest.File{Name: "t.tgz", Body: archivetest.TarGz(archivetest.File{Name: "i.zip", Body: inner})}),
		"zip-slip":       archivetest.ZipSlip(),
		"corrupt-dir":    archivetest.CorruptCentralDirectory(),
		"truncated":      truncated[:len(truncated)*2/3],
		"gzip-bomb":      archivetest.GzipBomb(1 << 20),
		"png-bomb":       archivetest.PNGBombTarGz(),
		"xz-dict-bomb":   archivetest.XZDictBomb(),
		"encrypted-zip":  archivetest.Zip(archivetest.File{Name: "e", Body: []byte("e"), Encrypted: true}),
		"nested-bomb":    archivetest.NestedZipBomb(2, 2),
		"7z-encrypted":   archivetest.SevenZipEncrypted(),
		"empty-zip":      archivetest.Zip(),
		"not-an-archive": []byte("plain text"),
		"rar5":           archivetest.RAR5(append(small, archivetest.File{Name: "l", Link: "b.txt"})...),
		"rar4":           archivetest.RAR4(small...),
		"rar5-nested":    archivetest.RAR5(archivetest.File{Name: "i.zip", Body: inner}, archivetest.File{Name: "e", Body: []byte("e"), Encrypted: true}),
		"rar5-volume":    archivetest.RAR5Volumes(8, small...)[0],
		"rar5-dict-bomb": archivetest.RAR5DictBomb(),
	}
}

func fuzzLimits(dir string) archive.Limits {
	return archive.Limits{
		MaxCompressedBytes:   8 << 20,
		MaxUncompressedBytes: 4 << 20,
		MaxEntryBytes:        64 << 10,
		MaxEntries:           256,
		MaxRatio:             100,
		MaxDepth:             3,
		MaxSpoolBytes:        2 << 20,
		TempDir:              dir,
	}
}

func FuzzWalk(f *testing.F) {
	for name, b := range walkSeeds() {
		f.Add(b, name)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, name string) {
		lim := fuzzLimits(dir)
		var calls int
		for _, m := range modes {
			st, _ := archive.Walk(t.Context(), m.wrap(data), name, lim,
				func(e archive.Entry) error {
					for _, p := range e.Path {
						for _, r := range p {
							if unicode.IsControl(r) {
								t.Fatalf("control character in displayed path %q", e.Path)
							}
						}
						if len(p) > 1024+len("…") {
							t.Fatalf("displayed name of %d bytes", len(p))
						}
					}
					n, err := io.Copy(io.Discard, e.Body)
					if n > lim.MaxEntryBytes {
						t.Fatalf("read %d bytes from an entry, limit %d", n, lim.MaxEntryBytes)
					}
					return err
				},
				func([]string, error) { calls++ })
			if st.Uncompressed > lim.MaxUncompressedBytes+1<<20 {
				t.Fatalf("decompressed %d bytes, limit %d", st.Uncompressed, lim.MaxUncompressedBytes)
			}
			if st.Entries > lim.MaxEntries {
				t.Fatalf("%d entries, limit %d", st.Entries, lim.MaxEntries)
			}
			if st.Errors != calls {
				t.Fatalf("Stats.Errors = %d, onError calls %d", st.Errors, calls)
			}
			calls = 0
			if left, _ := os.ReadDir(dir); len(left) != 0 {
				t.Fatalf("left %d files in TempDir", len(left))
			}
		}
	})
}

// TestWriteFuzzSeeds rewrites testdata/fuzz when run with -write-seeds;
// otherwise it checks that the committed corpora exist.
func TestWriteFuzzSeeds(t *testing.T) {
	corpora := map[string]map[string][]any{"FuzzWalk": {}, "FuzzZipDirectory": {}, "FuzzPreflight7z": {}, "FuzzWalkVolumes": volumeSeeds()}
	for name, b := range walkSeeds() {
		corpora["FuzzWalk"][name] = []any{b, name + ".bin"}
		if archive.Detect(b) == archive.FormatZip {
			corpora["FuzzZipDirectory"][name] = []any{b}
		}
		if archive.Detect(b) == archive.Format7z {
			corpora["FuzzPreflight7z"][name] = []any{b, false}
		}
	}
	// Bare plain headers, for the raw mode of FuzzPreflight7z.
	for _, name := range []string{"plain-header.7z", "plain-header-ppmd-nonsolid.7z"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		off, size := binary.LittleEndian.Uint64(b[12:]), binary.LittleEndian.Uint64(b[20:])
		corpora["FuzzPreflight7z"]["raw-"+name] = []any{b[32+off : 32+off+size], true}
	}
	for target, seeds := range corpora {
		dir := filepath.Join("testdata", "fuzz", target)
		if !*writeSeeds {
			if entries, err := os.ReadDir(dir); err != nil || len(entries) == 0 {
				t.Errorf("no committed seeds in %s (run with -write-seeds): %v", dir, err)
			}
			continue
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, vals := range seeds {
			var b strings.Builder
			b.WriteString("go test fuzz v1\n")
			for _, v := range vals {
				switch v := v.(type) {
				case []byte:
					fmt.Fprintf(&b, "[]byte(%q)\n", v)
				case string:
					fmt.Fprintf(&b, "string(%q)\n", v)
				case bool:
					fmt.Fprintf(&b, "bool(%v)\n", v)
				case uint32:
					fmt.Fprintf(&b, "uint32(%d)\n", v)
				}
			}
			if err := os.WriteFile(filepath.Join(dir, "seed-"+name), []byte(b.String()), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
