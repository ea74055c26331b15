package archive_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/leakwatch/leakwatch/internal/archive"
	"github.com/leakwatch/leakwatch/internal/archive/archivetest"
)

// walkVolumes runs WalkVolumes over in-memory volumes, reading every body.
func walkVolumes(t *testing.T, parts [][]byte, lim archive.Limits) result {
	t.Helper()
	if lim.TempDir == "" {
		lim.TempDir = t.TempDir()
	}
	vols := make([]archive.Volume, len(parts))
	for i, p := range parts {
		// Hide ReaderAt: volumes arrive as downloads.
		vols[i] = archive.Volume{Name: "v", Body: struct{ io.Reader }{bytes.NewReader(p)}}
	}
	res := result{entries: make(map[string]string), sizes: make(map[string]int64)}
	res.stats, res.err = archive.WalkVolumes(context.Background(), vols, lim,
		func(e archive.Entry) error {
			body, err := io.ReadAll(e.Body)
			res.entries[joinPath(e.Path)] = string(body)
			return err
		},
		func(path []string, err error) { res.reports = append(res.reports, report{joinPath(path), err}) })
	assertEmptyDir(t, lim.TempDir)
	return res
}

func readSplit(t *testing.T, names ...string) [][]byte {
	t.Helper()
	var out [][]byte
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join("testdata", "split", n))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func TestWalkVolumes(t *testing.T) {
	photo := noise(11, 150<<10)
	files := []archivetest.File{
		{Name: "dir/"},
		{Name: "dir/photo.jpg", Body: photo},
		{Name: "notes.txt", Body: []byte("hello\n")},
	}
	want := map[string]string{"dir/photo.jpg": string(photo), "notes.txt": "hello\n"}
	rar5 := archivetest.RAR5Volumes(60<<10, files...)
	rar4 := archivetest.RAR4Volumes(60<<10, files...)
	if len(rar5) < 3 || len(rar4) < 3 {
		t.Fatalf("RAR builders made %d and %d volumes, want at least 3", len(rar5), len(rar4))
	}
	zipSplit := readSplit(t, "photos.z01", "photos.zip")
	tests := []struct {
		name  string
		parts [][]byte
		want  map[string]string
	}{
		{"7z.001", archivetest.Split(archivetest.SevenZip(), 3), fixtureEntries()},
		{"zip.001", archivetest.Split(archivetest.Zip(files...), 4), want},
		{"tar.gz.001", archivetest.Split(archivetest.TarGz(files...), 2), want},
		{"part1.rar (RAR 5)", rar5, want},
		{"part1.rar (RAR 4)", rar4, want},
		{"rar5 single volume", [][]byte{archivetest.RAR5(files...)}, want},
		{"zip -s", zipSplit, nil}, // checked below: CRCs verified by archive/zip
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := walkVolumes(t, tt.parts, archive.Limits{})
			if res.err != nil {
				t.Fatalf("WalkVolumes: %v", res.err)
			}
			if len(res.reports) != 0 {
				t.Errorf("reports: %v", res.reports)
			}
			if tt.want == nil {
				if len(res.entries["photo.bin"]) != 98304 || res.entries["note.txt"] != "split zip note\n" {
					t.Errorf("split zip entries: photo.bin %d bytes, note.txt %q", len(res.entries["photo.bin"]), res.entries["note.txt"])
				}
				return
			}
			if diff := cmp.Diff(tt.want, res.entries); diff != "" {
				t.Errorf("entries (-want +got):\n%s", diff)
			}
			var total int64
			for _, p := range tt.parts {
				total += int64(len(p))
			}
			if res.stats.Compressed != total {
				t.Errorf("Stats.Compressed = %d, want every volume's bytes, %d", res.stats.Compressed, total)
			}
		})
	}
}

func TestWalkVolumesLimits(t *testing.T) {
	photo := noise(12, 150<<10)
	files := []archivetest.File{{Name: "photo.jpg", Body: photo}}
	rar5 := archivetest.RAR5Volumes(40<<10, files...)
	zipSplit := readSplit(t, "photos.z01", "photos.zip")
	tests := []struct {
		name  string
		parts [][]byte
		lim   archive.Limits
		want  error
	}{
		{"too many volumes", archivetest.Split(archivetest.Zip(files...), 5), archive.Limits{MaxVolumes: 4}, archive.ErrTooManyVolumes},
		{"compressed total", archivetest.Split(archivetest.Zip(files...), 3), archive.Limits{MaxCompressedBytes: 100 << 10}, archive.ErrCompressedTooLarge},
		{"rar compressed total", rar5, archive.Limits{MaxCompressedBytes: 100 << 10}, archive.ErrCompressedTooLarge},
		{"spool total", archivetest.Split(archivetest.Zip(files...), 3), archive.Limits{MaxSpoolBytes: 100 << 10}, archive.ErrSpoolTooLarge},
		{"rar volume missing", append(rar5[:1:1], rar5[2:]...), archive.Limits{}, archive.ErrCorrupt},
		{"rar last volume missing", rar5[:len(rar5)-1], archive.Limits{}, archive.ErrCorrupt},
		{"zip -s without its first volume", zipSplit[1:], archive.Limits{}, archive.ErrNotArchive},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := walkVolumes(t, tt.parts, tt.lim)
			for _, r := range res.reports {
				if res.err == nil && errors.Is(r.err, tt.want) {
					return // an entry-level problem, reported
				}
			}
			if !errors.Is(res.err, tt.want) {
				t.Errorf("WalkVolumes = %v (entries %d), want %v", res.err, len(res.entries), tt.want)
			}
		})
	}
}

// volumeSeeds are split archives joined, with the offsets where their
// second and third volumes begin.
func volumeSeeds() map[string][]any {
	seeds := map[string][]any{}
	join := func(name string, parts [][]byte) {
		var all []byte
		var at []uint32
		for _, p := range parts {
			at = append(at, uint32(len(all)))
			all = append(all, p...)
		}
		at = append(at, uint32(len(all)), uint32(len(all)))
		seeds[name] = []any{all, at[1], at[2]}
	}
	small := []archivetest.File{{Name: "a.jpg", Body: noise(13, 3000)}, {Name: "b.txt", Body: []byte("bravo")}}
	join("rar5", archivetest.RAR5Volumes(1000, small...))
	join("rar4", archivetest.RAR4Volumes(1500, small...))
	join("7z", archivetest.Split(archivetest.SevenZip(), 3))
	join("zip", archivetest.Split(archivetest.Zip(small...), 2))
	if b, err := os.ReadFile(filepath.Join("testdata", "split", "photos.z01")); err == nil {
		z, _ := os.ReadFile(filepath.Join("testdata", "split", "photos.zip"))
		join("zip-s", [][]byte{b, z})
	}
	return seeds
}

func FuzzWalkVolumes(f *testing.F) {
	for _, s := range volumeSeeds() {
		f.Add(s[0].([]byte), s[1].(uint32), s[2].(uint32))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, a, b uint32) {
		lim := fuzzLimits(dir)
		a, b = min(a, uint32(len(data))), min(b, uint32(len(data)))
		a, b = min(a, b), max(a, b)
		vols := []archive.Volume{
			{Name: "x.part1.rar", Body: bytes.NewReader(data[:a])},
			{Name: "x.part2.rar", Body: bytes.NewReader(data[a:b])},
			{Name: "x.part3.rar", Body: bytes.NewReader(data[b:])},
		}
		calls := 0
		st, _ := archive.WalkVolumes(t.Context(), vols, lim, func(e archive.Entry) error {
			n, err := io.Copy(io.Discard, e.Body)
			if n > lim.MaxEntryBytes {
				t.Fatalf("read %d bytes from an entry, limit %d", n, lim.MaxEntryBytes)
			}
			return err
		}, func([]string, error) { calls++ })
		if st.Uncompressed > lim.MaxUncompressedBytes+1<<20 || st.Entries > lim.MaxEntries {
			t.Fatalf("limits broken: %+v", st)
		}
		if st.Errors != calls {
			t.Fatalf("Stats.Errors = %d, onError calls %d", st.Errors, calls)
		}
		if left, _ := os.ReadDir(dir); len(left) != 0 {
			t.Fatalf("left %d files in TempDir", len(left))
		}
	})
}
