package archivetest_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"errors"
	"image"
	_ "image/png"
	"io"
	"strings"
	"testing"

	"github.com/bodgit/sevenzip"
	"github.com/google/go-cmp/cmp"
	"github.com/leakwatch/leakwatch/internal/archive/archivetest"
	"github.com/ulikunitz/xz"
)

// These tests check the fixtures with the standard readers, so that a test
// of the walker that passes on them really exercised what they claim.

func readZip(t *testing.T, b []byte) map[string][]byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("zip.NewReader: %v", err)
	}
	out := make(map[string][]byte)
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatalf("open %q: %v", f.Name, err)
		}
		body, err := io.ReadAll(rc)
		if err != nil {
			t.Fatalf("read %q: %v", f.Name, err)
		}
		out[f.Name] = body
	}
	return out
}

func readTar(t *testing.T, r io.Reader) map[string][]byte {
	t.Helper()
	tr := tar.NewReader(r)
	out := make(map[string][]byte)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("tar: %v", err)
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("tar read %q: %v", hdr.Name, err)
		}
		out[hdr.Name] = body
	}
}

func fixtureMap() map[string][]byte {
	m := make(map[string][]byte)
	for _, f := range archivetest.FixtureFiles() {
		m[f.Name] = f.Body
	}
	return m
}

func TestBenignBuilders(t *testing.T) {
	files := []archivetest.File{{Name: "a/b.txt", Body: []byte("hello")}, {Name: "c.bin", Body: []byte{0, 1, 2}}}
	want := map[string][]byte{"a/b.txt": []byte("hello"), "c.bin": {0, 1, 2}}

	if got := readZip(t, archivetest.Zip(files...)); !cmp.Equal(got, want) {
		t.Errorf("Zip: %s", cmp.Diff(want, got))
	}
	if got := readTar(t, bytes.NewReader(archivetest.Tar(files...))); !cmp.Equal(got, want) {
		t.Errorf("Tar: %s", cmp.Diff(want, got))
	}
	zr, err := gzip.NewReader(bytes.NewReader(archivetest.TarGz(files...)))
	if err != nil {
		t.Fatal(err)
	}
	if got := readTar(t, zr); !cmp.Equal(got, want) {
		t.Errorf("TarGz: %s", cmp.Diff(want, got))
	}
	xr, err := xz.NewReader(bytes.NewReader(archivetest.TarXz(files...)))
	if err != nil {
		t.Fatal(err)
	}
	if got := readTar(t, xr); !cmp.Equal(got, want) {
		t.Errorf("TarXz: %s", cmp.Diff(want, got))
	}
}

func TestCommittedFixtures(t *testing.T) {
	if got := readTar(t, bzip2.NewReader(bytes.NewReader(archivetest.TarBz2()))); !cmp.Equal(got, fixtureMap()) {
		t.Errorf("TarBz2: %s", cmp.Diff(fixtureMap(), got))
	}
	body, err := io.ReadAll(bzip2.NewReader(bytes.NewReader(archivetest.Bzip2())))
	if err != nil || string(body) != archivetest.Bzip2Body {
		t.Errorf("Bzip2 = %q, %v; want %q", body, err, archivetest.Bzip2Body)
	}
	read7z := func(b []byte, password string) map[string][]byte {
		zr, err := sevenzip.NewReaderWithPassword(bytes.NewReader(b), int64(len(b)), password)
		if err != nil {
			t.Fatalf("sevenzip: %v", err)
		}
		out := make(map[string][]byte)
		for _, f := range zr.File {
			if f.FileInfo().IsDir() {
				continue
			}
			rc, err := f.Open()
			if err != nil {
				t.Fatalf("open %q: %v", f.Name, err)
			}
			body, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatalf("read %q: %v", f.Name, err)
			}
			out[f.Name] = body
		}
		return out
	}
	if got := read7z(archivetest.SevenZip(), ""); !cmp.Equal(got, fixtureMap()) {
		t.Errorf("SevenZip: %s", cmp.Diff(fixtureMap(), got))
	}
	wantEnc := fixtureMap()
	delete(wantEnc, "dir/b.txt")
	for name, b := range map[string][]byte{"encrypted": archivetest.SevenZipEncrypted(), "encrypted-headers": archivetest.SevenZipEncryptedHeaders()} {
		if got := read7z(b, archivetest.SevenZipPassword); !cmp.Equal(got, wantEnc) {
			t.Errorf("%s: %s", name, cmp.Diff(wantEnc, got))
		}
	}
	nested := read7z(archivetest.SevenZipNested(), "")
	if string(nested["src/a.txt"]) != "alpha\n" {
		t.Errorf("nested src/a.txt = %q", nested["src/a.txt"])
	}
	if got := readZip(t, nested["inner.zip"]); string(got["deep.txt"]) != "delta\n" {
		t.Errorf("nested inner.zip = %q", got)
	}
}

func TestNestedZipBomb(t *testing.T) {
	const depth, fanout = 3, 3
	b := archivetest.NestedZipBomb(depth, fanout)
	// Walk it with the standard library, summing the leaves.
	var total int64
	var walk func(b []byte, d int)
	walk = func(b []byte, d int) {
		for name, body := range readZip(t, b) {
			if d == 1 {
				total += int64(len(body))
				if len(bytes.Trim(body, "\x00")) != 0 {
					t.Fatalf("leaf %q is not zeros", name)
				}
				continue
			}
			walk(body, d-1)
		}
	}
	walk(b, depth)
	if want := int64(27 << 20); total != want {
		t.Errorf("leaves total %d bytes, want %d", total, want)
	}
	if len(b) > 64<<10 {
		t.Errorf("bomb is %d bytes on disk; want it small", len(b))
	}
}

func TestOverlapZipBomb(t *testing.T) {
	b := archivetest.OverlapZipBomb()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var declared uint64
	for _, f := range zr.File {
		declared += f.UncompressedSize64
	}
	if declared < 50*uint64(len(b)) {
		t.Errorf("declares %d bytes from %d; not a bomb", declared, len(b))
	}
	// The first and last entries decode with valid CRCs: a reader without
	// an overlap check really is fooled.
	for _, f := range []*zip.File{zr.File[0], zr.File[len(zr.File)-1]} {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		n, err := io.Copy(io.Discard, rc)
		if err != nil || uint64(n) != f.UncompressedSize64 {
			t.Errorf("%s: read %d, %v; want %d bytes", f.Name, n, err, f.UncompressedSize64)
		}
	}
}

func TestCorruptCentralDirectory(t *testing.T) {
	b := archivetest.CorruptCentralDirectory()
	if _, err := zip.NewReader(bytes.NewReader(b), int64(len(b))); err == nil {
		t.Error("archive/zip accepted the corrupt directory")
	}
}

func TestZipSlip(t *testing.T) {
	got := readZip(t, archivetest.ZipSlip())
	for i, n := range archivetest.ZipSlipNames() {
		if want := []byte("slip " + string(rune('0'+i)) + "\n"); !bytes.Equal(got[n], want) {
			t.Errorf("%q = %q, want %q", n, got[n], want)
		}
	}
}

func TestHugePNGHeader(t *testing.T) {
	b := archivetest.HugePNGHeader(100000, 100000)
	cfg, format, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if format != "png" || cfg.Width != 100000 || cfg.Height != 100000 {
		t.Errorf("DecodeConfig = %s %dx%d", format, cfg.Width, cfg.Height)
	}
	if len(b) > 4096 {
		t.Errorf("%d bytes; want tiny", len(b))
	}
	got := readTar(t, mustGunzip(t, archivetest.PNGBombTarGz()))
	if !bytes.Equal(got["leak/huge.png"], b) {
		t.Error("PNGBombTarGz does not hold the huge PNG")
	}
}

func mustGunzip(t *testing.T, b []byte) io.Reader {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return zr
}

func TestTruncatedTarGz(t *testing.T) {
	tr := tar.NewReader(mustGunzip(t, archivetest.TruncatedTarGz()))
	hdr, err := tr.Next()
	if err != nil || hdr.Name != "first.txt" {
		t.Fatalf("first entry: %v, %v", hdr, err)
	}
	var err2 error
	for err2 == nil {
		if _, err2 = tr.Next(); err2 == nil {
			_, err2 = io.Copy(io.Discard, tr)
		}
	}
	if errors.Is(err2, io.EOF) {
		t.Error("truncated tar.gz read to a clean end")
	}
}

func TestXZDictBomb(t *testing.T) {
	b := archivetest.XZDictBomb()
	// Header byte 40 in the LZMA2 filter means a 4 GiB dictionary.
	if !bytes.Contains(b[12:40], []byte{0x21, 0x01, 40}) {
		t.Error("no 4 GiB dictionary property in the block header")
	}
}

func TestGzipBomb(t *testing.T) {
	b := archivetest.GzipBomb(8 << 20)
	n, err := io.Copy(io.Discard, mustGunzip(t, b))
	if err != nil || n != 8<<20 {
		t.Errorf("decoded %d bytes, %v; want %d", n, err, 8<<20)
	}
	if len(b) > 64<<10 {
		t.Errorf("%d bytes; want small", len(b))
	}
}

func TestEndlessGzip(t *testing.T) {
	zr, err := gzip.NewReader(archivetest.EndlessGzip())
	if err != nil {
		t.Fatal(err)
	}
	const want = 20 << 20
	n, err := io.CopyN(io.Discard, zr, want)
	if err != nil || n != want {
		t.Errorf("read %d, %v; want an endless stream", n, err)
	}
}

func TestHostileNames(t *testing.T) {
	seen := make(map[string]bool)
	for _, f := range archivetest.Hostile() {
		if f.Name == "" || strings.Contains(f.Name, "/") || seen[f.Name] || len(f.Data) == 0 || f.What == "" {
			t.Errorf("bad fixture %q (%d bytes)", f.Name, len(f.Data))
		}
		if len(f.Data) > 1<<20 {
			t.Errorf("%s is %d bytes; fixtures must stay small", f.Name, len(f.Data))
		}
		seen[f.Name] = true
	}
}
