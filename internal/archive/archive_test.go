package archive_test

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/leakwatch/leakwatch/internal/archive"
	"github.com/leakwatch/leakwatch/internal/archive/archivetest"
)

func fixtureEntries() map[string]string {
	m := make(map[string]string)
	for _, f := range archivetest.FixtureFiles() {
		m[f.Name] = string(f.Body)
	}
	return m
}

func TestWalkFormats(t *testing.T) {
	photo := noise(1, 100<<10)
	files := []archivetest.File{
		{Name: "dir/"},
		{Name: "dir/photo.jpg", Body: photo},
		{Name: "notes.txt", Body: []byte("hello\n")},
		{Name: "empty.txt"},
	}
	want := map[string]string{"dir/photo.jpg": string(photo), "notes.txt": "hello\n", "empty.txt": ""}
	withLink := append(files[:len(files):len(files)], archivetest.File{Name: "link", Link: "notes.txt"})
	sfx := append([]byte("MZ\x90\x00 self-extractor stub "+strings.Repeat("x", 2000)), archivetest.Zip(files...)...)

	tests := []struct {
		name       string
		file       string
		data       []byte
		want       map[string]string
		notRegular int
	}{
		{"zip", "a.zip", archivetest.Zip(files...), want, 0},
		{"zip stored", "a.zip", archivetest.Zip(archivetest.File{Name: "s.bin", Body: photo, Store: true}), map[string]string{"s.bin": string(photo)}, 0},
		{"empty zip", "empty.zip", archivetest.Zip(), map[string]string{}, 0},
		{"self-extracting zip", "setup.zip", sfx, want, 0},
		{"tar", "a.tar", archivetest.Tar(withLink...), want, 1},
		{"tar.gz", "a.tgz", archivetest.TarGz(withLink...), want, 1},
		{"tar.xz", "a.tar.xz", archivetest.TarXz(files...), want, 0},
		{"tar.bz2", "a.tar.bz2", archivetest.TarBz2(), fixtureEntries(), 0},
		{"gzip", "photo.jpg.gz", archivetest.Gzip("", photo), map[string]string{"photo.jpg": string(photo)}, 0},
		{"gzip stored name", "download", archivetest.Gzip("stored.jpg", photo), map[string]string{"stored.jpg": string(photo)}, 0},
		{"bzip2", "note.txt.bz2", archivetest.Bzip2(), map[string]string{"note.txt": archivetest.Bzip2Body}, 0},
		{"xz", "x.bin.xz", archivetest.Xz(photo), map[string]string{"x.bin": string(photo)}, 0},
		{"7z", "a.7z", archivetest.SevenZip(), fixtureEntries(), 0},
		{"7z stored", "a.7z", archivetest.SevenZipStored(files...), want, 0},
		{"rar5", "a.rar", archivetest.RAR5(withLink...), want, 1},
		{"rar4", "a.rar", archivetest.RAR4(files...), want, 0},
		{"misleading name", "photo.jpg", archivetest.Zip(files...), want, 0},
	}
	for _, tt := range tests {
		for _, m := range modes {
			t.Run(tt.name+"/"+m.name, func(t *testing.T) {
				res := walk(t, m.wrap(tt.data), tt.file, archive.Limits{})
				if res.err != nil {
					t.Fatalf("Walk: %v", res.err)
				}
				if diff := cmp.Diff(tt.want, res.entries); diff != "" {
					t.Errorf("entries (-want +got):\n%s", diff)
				}
				if len(res.reports) != 0 {
					t.Errorf("unexpected reports: %v", res.reports)
				}
				if got := res.stats.Skipped["not_regular"]; got != tt.notRegular {
					t.Errorf("not_regular = %d, want %d", got, tt.notRegular)
				}
				if res.stats.Entries != len(tt.want) {
					t.Errorf("Stats.Entries = %d, want %d", res.stats.Entries, len(tt.want))
				}
				if m.name == "stream" && res.stats.Compressed != int64(len(tt.data)) {
					t.Errorf("Stats.Compressed = %d, want the whole %d-byte source", res.stats.Compressed, len(tt.data))
				}
				var sum int64
				for _, b := range tt.want {
					sum += int64(len(b))
				}
				if res.stats.Uncompressed < sum {
					t.Errorf("Stats.Uncompressed = %d, less than the %d bytes delivered", res.stats.Uncompressed, sum)
				}
			})
		}
	}
}

func TestWalkDeclaredSize(t *testing.T) {
	body := []byte("twelve bytes")
	for _, tt := range []struct {
		name string
		data []byte
		want int64
	}{
		{"zip", archivetest.Zip(archivetest.File{Name: "f", Body: body}), 12},
		{"tar", archivetest.Tar(archivetest.File{Name: "f", Body: body}), 12},
		{"gzip", archivetest.Gzip("f", body), -1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := walk(t, bytes.NewReader(tt.data), "f.gz", archive.Limits{})
			if len(res.sizes) != 1 {
				t.Fatalf("entries = %v, err %v", res.sizes, res.err)
			}
			for _, got := range res.sizes {
				if got != tt.want {
					t.Errorf("Size = %d, want %d", got, tt.want)
				}
			}
		})
	}
}

func TestWalkNested(t *testing.T) {
	inner := archivetest.Zip(archivetest.File{Name: "deep.txt", Body: []byte("deep\n")})
	mid := archivetest.TarGz(
		archivetest.File{Name: "mid.txt", Body: []byte("mid\n")},
		archivetest.File{Name: "photo.jpg", Body: inner}, // a zip, whatever its name says
	)
	outer := archivetest.Zip(
		archivetest.File{Name: "top.txt", Body: []byte("top\n")},
		archivetest.File{Name: "mid.tgz", Body: mid},
		archivetest.File{Name: "x.txt.gz", Body: archivetest.Gzip("", []byte("gz in zip\n"))},
	)
	tests := []struct {
		depth   int
		want    map[string]string
		nested  int
		tooDeep []string
	}{
		{3, map[string]string{
			"top.txt":                    "top\n",
			"mid.tgz!mid.txt":            "mid\n",
			"mid.tgz!photo.jpg!deep.txt": "deep\n",
			"x.txt.gz!x.txt":             "gz in zip\n",
		}, 3, nil},
		{2, map[string]string{
			"top.txt":         "top\n",
			"mid.tgz!mid.txt": "mid\n",
			"x.txt.gz!x.txt":  "gz in zip\n",
		}, 2, []string{"mid.tgz!photo.jpg"}},
		{1, map[string]string{"top.txt": "top\n"}, 0, []string{"mid.tgz", "x.txt.gz"}},
	}
	for _, tt := range tests {
		for _, m := range modes {
			t.Run(m.name, func(t *testing.T) {
				res := walk(t, m.wrap(outer), "outer.zip", archive.Limits{MaxDepth: tt.depth})
				if res.err != nil {
					t.Fatalf("depth %d: Walk: %v", tt.depth, res.err)
				}
				if diff := cmp.Diff(tt.want, res.entries); diff != "" {
					t.Errorf("depth %d: entries (-want +got):\n%s", tt.depth, diff)
				}
				if res.stats.Nested != tt.nested {
					t.Errorf("depth %d: Nested = %d, want %d", tt.depth, res.stats.Nested, tt.nested)
				}
				var deep []string
				for _, r := range res.reports {
					if !errors.Is(r.err, archive.ErrTooDeep) {
						t.Errorf("depth %d: unexpected report %s: %v", tt.depth, r.path, r.err)
					}
					deep = append(deep, r.path)
				}
				if diff := cmp.Diff(tt.tooDeep, deep); diff != "" {
					t.Errorf("depth %d: too-deep reports (-want +got):\n%s", tt.depth, diff)
				}
				if got := res.stats.Skipped["too_deep"]; got != len(tt.tooDeep) || res.stats.Errors != len(tt.tooDeep) {
					t.Errorf("depth %d: Skipped[too_deep] = %d, Errors = %d, want %d", tt.depth, got, res.stats.Errors, len(tt.tooDeep))
				}
			})
		}
	}
}

func TestWalkNested7z(t *testing.T) {
	res := walk(t, bytes.NewReader(archivetest.SevenZipNested()), "n.7z", archive.Limits{})
	want := map[string]string{"inner.zip!deep.txt": "delta\n", "src/a.txt": "alpha\n"}
	if res.err != nil || !cmp.Equal(want, res.entries) {
		t.Errorf("got %v, %v; want %v", res.entries, res.err, want)
	}
}

func TestWalkNotArchive(t *testing.T) {
	jpeg := append([]byte{0xff, 0xd8, 0xff, 0xe0}, noise(2, 4096)...)
	for _, tt := range []struct {
		name, file string
		data       []byte
	}{
		{"empty", "x", nil},
		{"jpeg", "photo.jpg", jpeg},
		{"text", "readme.txt", []byte("just text\n")},
		{"zip-named noise", "photos.zip", noise(3, 3<<20)},
		{"tar-like noise", "a.tar", make([]byte, 1024)}, // end-of-archive blocks only
	} {
		for _, m := range modes {
			t.Run(tt.name+"/"+m.name, func(t *testing.T) {
				res := walk(t, m.wrap(tt.data), tt.file, archive.Limits{})
				if !errors.Is(res.err, archive.ErrNotArchive) {
					t.Errorf("err = %v, want ErrNotArchive", res.err)
				}
				if len(res.entries) != 0 {
					t.Errorf("entries from a non-archive: %v", res.order)
				}
			})
		}
	}
}

func TestDetect(t *testing.T) {
	ustar := archivetest.Tar(archivetest.File{Name: "a", Body: []byte("x")})
	var gnu bytes.Buffer
	tw := tar.NewWriter(&gnu)
	if err := tw.WriteHeader(&tar.Header{Name: "a", Size: 0, Mode: 0o644, Format: tar.FormatGNU}); err != nil {
		t.Fatal(err)
	}
	tw.Close()
	v7 := v7Header(ustar)
	badSum := bytes.Clone(v7)
	badSum[0] ^= 1

	for _, tt := range []struct {
		name string
		head []byte
		want archive.Format
	}{
		{"zip", archivetest.Zip(archivetest.File{Name: "a"}), archive.FormatZip},
		{"empty zip", archivetest.Zip(), archive.FormatZip},
		{"gzip", archivetest.Gzip("", nil), archive.FormatGzip},
		{"bzip2", archivetest.Bzip2(), archive.FormatBzip2},
		{"xz", archivetest.Xz(nil), archive.FormatXZ},
		{"7z", archivetest.SevenZip(), archive.Format7z},
		{"ustar", ustar, archive.FormatTar},
		{"gnu tar", gnu.Bytes(), archive.FormatTar},
		{"v7 tar", v7, archive.FormatTar},
		{"v7 tar, bad checksum", badSum, archive.FormatUnknown},
		{"short tar", ustar[:200], archive.FormatUnknown},
		{"png", archivetest.HugePNGHeader(1, 1), archive.FormatUnknown},
		{"bzip2 without level", []byte("BZh0"), archive.FormatUnknown},
		{"gzip non-deflate", []byte{0x1f, 0x8b, 0x07}, archive.FormatUnknown},
		{"zeros", make([]byte, 512), archive.FormatUnknown},
		{"nil", nil, archive.FormatUnknown},
		{"one byte", []byte("P"), archive.FormatUnknown},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := archive.Detect(tt.head); got != tt.want {
				t.Errorf("Detect = %q, want %q", got, tt.want)
			}
		})
	}
}

// v7Header turns the first block of a ustar archive into a pre-POSIX
// header: no magic, recomputed checksum.
func v7Header(ustar []byte) []byte {
	h := bytes.Clone(ustar[:512])
	clear(h[257:512])
	copy(h[148:156], "        ")
	sum := 0
	for _, c := range h {
		sum += int(c)
	}
	copy(h[148:156], []byte(strings.Repeat("0", 6-len(octal(sum)))+octal(sum)+"\x00 "))
	return h
}

func octal(n int) string {
	s := ""
	for ; n > 0; n /= 8 {
		s = string(rune('0'+n%8)) + s
	}
	return s
}

func TestWalkCallbackError(t *testing.T) {
	errStop := errors.New("stop here")
	data := archivetest.Zip(
		archivetest.File{Name: "1", Body: []byte("a")},
		archivetest.File{Name: "2", Body: []byte("b")},
		archivetest.File{Name: "3", Body: []byte("c")},
	)
	var seen []string
	_, err := archive.Walk(t.Context(), bytes.NewReader(data), "x.zip", archive.Limits{TempDir: t.TempDir()},
		func(e archive.Entry) error {
			seen = append(seen, joinPath(e.Path))
			if len(seen) == 2 {
				return errStop
			}
			return nil
		}, nil)
	if err != errStop { //nolint:errorlint // fn's error must come back unchanged
		t.Errorf("err = %v, want fn's error unchanged", err)
	}
	if !cmp.Equal(seen, []string{"1", "2"}) {
		t.Errorf("entries after fn failed: %v", seen)
	}
}

func TestWalkBodyExpires(t *testing.T) {
	data := archivetest.Tar(archivetest.File{Name: "a", Body: []byte("abc")})
	var kept io.Reader
	_, err := archive.Walk(t.Context(), bytes.NewReader(data), "a.tar", archive.Limits{TempDir: t.TempDir()},
		func(e archive.Entry) error { kept = e.Body; return nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := kept.Read(make([]byte, 8)); n != 0 || err == nil {
		t.Errorf("Read after the callback = %d, %v; want an error", n, err)
	}
}

func TestWalkNilOnError(t *testing.T) {
	data := archivetest.Zip(archivetest.File{Name: "e", Body: []byte("x"), Encrypted: true})
	st, err := archive.Walk(t.Context(), bytes.NewReader(data), "x.zip", archive.Limits{TempDir: t.TempDir()},
		func(archive.Entry) error { return nil }, nil)
	if err != nil || st.Errors != 1 || st.Skipped["encrypted"] != 1 {
		t.Errorf("Walk = %+v, %v; want the encrypted entry counted", st, err)
	}
}

func TestWalk7zVariants(t *testing.T) {
	want := map[string]string{"a.txt": "alpha\n", "d/b.txt": "bb\n", "empty": "", "x.bin": strings.Repeat("x\n", 2500)}
	for _, name := range []string{"plain-header.7z", "plain-header-ppmd-nonsolid.7z"} {
		t.Run(name, func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			res := walk(t, f, name, archive.Limits{})
			if res.err != nil {
				t.Fatal(res.err)
			}
			if diff := cmp.Diff(want, res.entries); diff != "" {
				t.Errorf("entries (-want +got):\n%s", diff)
			}
		})
	}
}
