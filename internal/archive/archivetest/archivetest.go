package archivetest

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"embed"
	"io"
	"strings"
	"time"

	"github.com/ulikunitz/xz"
)

// File is one member of an archive to build.
type File struct {
	// Name is stored as is, hostile or not. A name ending in "/" makes a
	// directory.
	Name string
	Body []byte
	// Link, if set, makes a symbolic link to Link (tar only).
	Link string
	// Store writes a zip entry uncompressed instead of deflated.
	Store bool
	// Encrypted sets the zip "encrypted" flag (the body stays plain, which
	// is enough for a reader that must skip encrypted entries unread).
	Encrypted bool
	// RawMethod, if non-zero, writes a zip entry's Body as already
	// compressed with this method number (e.g. 14, LZMA), for testing
	// unsupported methods.
	RawMethod uint16
}

// modTime is a fixed timestamp so that builds are reproducible.
func modTime() time.Time { return time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC) }

// Zip builds a zip archive with the files in order.
func Zip(files ...File) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		fh := &zip.FileHeader{Name: f.Name, Method: zip.Deflate, Modified: modTime()}
		if f.Store || strings.HasSuffix(f.Name, "/") {
			fh.Method = zip.Store
		}
		if f.Encrypted {
			fh.Flags |= 0x1
		}
		var w io.Writer
		var err error
		if f.RawMethod != 0 {
			fh.Method = f.RawMethod
			fh.CompressedSize64 = uint64(len(f.Body))
			fh.UncompressedSize64 = uint64(len(f.Body))
			w, err = zw.CreateRaw(fh)
		} else {
			w, err = zw.CreateHeader(fh)
		}
		must(err)
		_, err = w.Write(f.Body)
		must(err)
	}
	must(zw.Close())
	return buf.Bytes()
}

// Tar builds an uncompressed ustar/PAX archive with the files in order.
func Tar(files ...File) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		hdr := &tar.Header{Name: f.Name, Mode: 0o644, Size: int64(len(f.Body)), ModTime: modTime(), Typeflag: tar.TypeReg}
		switch {
		case f.Link != "":
			hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeSymlink, f.Link, 0
		case strings.HasSuffix(f.Name, "/"):
			hdr.Typeflag, hdr.Mode, hdr.Size = tar.TypeDir, 0o755, 0
		}
		must(tw.WriteHeader(hdr))
		if hdr.Size > 0 {
			_, err := tw.Write(f.Body)
			must(err)
		}
	}
	must(tw.Close())
	return buf.Bytes()
}

// TarGz builds a gzip-compressed tar.
func TarGz(files ...File) []byte { return Gzip("", Tar(files...)) }

// TarXz builds an xz-compressed tar.
func TarXz(files ...File) []byte { return Xz(Tar(files...)) }

// Gzip compresses body as one gzip member whose header stores name.
func Gzip(name string, body []byte) []byte {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, flate.BestCompression)
	must(err)
	zw.Name = name
	zw.ModTime = modTime()
	_, err = zw.Write(body)
	must(err)
	must(zw.Close())
	return buf.Bytes()
}

// Xz compresses body as one xz stream.
func Xz(body []byte) []byte {
	var buf bytes.Buffer
	zw, err := xz.NewWriter(&buf)
	must(err)
	_, err = zw.Write(body)
	must(err)
	must(zw.Close())
	return buf.Bytes()
}

//go:embed testdata/*.bz2 testdata/*.7z testdata/*.xz
var fixtures embed.FS

func fixture(name string) []byte {
	b, err := fixtures.ReadFile("testdata/" + name)
	must(err)
	return b
}

// FixtureFiles is the content of TarBz2, SevenZip (both also hold the
// directory "dir/") and, with the passwords, of the encrypted 7z fixtures
// (a.txt and c.bin only).
func FixtureFiles() []File {
	return []File{
		{Name: "a.txt", Body: []byte("alpha\n")},
		{Name: "c.bin", Body: bytes.Repeat([]byte("charlie\n"), 375)},
		{Name: "dir/b.txt", Body: []byte("bravo bravo\n")},
	}
}

// XZFiles are xz files as xz-utils writes them, by name: tar.xz files of
// FixtureFiles in ten blocks with SHA-256 checks, with no check, and with
// a two-filter chain (x86 then LZMA2); random bytes in three blocks of
// stored LZMA2 chunks; two streams with padding between them, holding
// "bzip2 single file\n" and "delta\n".
func XZFiles() map[string][]byte {
	m := map[string][]byte{}
	for _, name := range []string{"blocks-sha256.tar.xz", "check-none.tar.xz", "x86-filter.tar.xz", "stored-chunks.bin.xz", "two-streams.txt.xz"} {
		m[name] = fixture(name)
	}
	return m
}

// TarBz2 is a bzip2-compressed tar holding FixtureFiles.
func TarBz2() []byte { return fixture("benign.tar.bz2") }

// Bzip2 is a single bzip2-compressed file named note.txt.bz2 holding
// Bzip2Body.
func Bzip2() []byte { return fixture("note.txt.bz2") }

// Bzip2Body is the decompressed content of Bzip2.
const Bzip2Body = "bzip2 single file\n"

// SevenZip is a solid 7z archive holding FixtureFiles.
func SevenZip() []byte { return fixture("benign.7z") }

// SevenZipNested is a 7z holding "inner.zip" (which holds "deep.txt",
// "delta\n") and "src/a.txt" ("alpha\n").
func SevenZipNested() []byte { return fixture("nested.7z") }

// SevenZipEncrypted is a 7z whose entries (a.txt, c.bin) are encrypted
// with the password SevenZipPassword; its file list is readable.
func SevenZipEncrypted() []byte { return fixture("encrypted.7z") }

// SevenZipEncryptedHeaders is a 7z whose file list itself is encrypted.
func SevenZipEncryptedHeaders() []byte { return fixture("encrypted-headers.7z") }

// SevenZipMixedEncryption is a non-solid 7z of twelve files each in its
// own encrypted folder (password SECRET), s01.txt to s12.txt, and two plain
// ones, p1.txt ("plain one\n") and p2.txt ("plain two\n").
func SevenZipMixedEncryption() []byte { return fixture("mixed-encryption.7z") }

// SevenZipPassword is the password of the encrypted 7z fixtures.
const SevenZipPassword = "SECRET"

func must(err error) {
	if err != nil {
		panic("archivetest: " + err.Error())
	}
}
