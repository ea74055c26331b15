package archive

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/leakwatch/leakwatch/internal/archive/archivetest"
)

func TestDisplayName(t *testing.T) {
	long := strings.Repeat("é", 2000)
	for _, tt := range []struct{ in, want string }{
		{"photos/1.jpg", "photos/1.jpg"},
		{"../../etc/passwd", "../../etc/passwd"},
		{"a\x1b[31mred\x07", "a[31mred"},
		{"\u202egpj.exe", "gpj.exe"},
		{"bad\xffutf8", "bad\uFFFDutf8"},
		{"tab\there\nnew", "tabherenew"},
		{"", ""},
	} {
		if got := displayName(tt.in); got != tt.want {
			t.Errorf("displayName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	got := displayName(long)
	if len(got) > maxNameBytes+len("…") || !strings.HasSuffix(got, "…") || !utf8.ValidString(got) {
		t.Errorf("long name: %d bytes, suffix %q, valid %v", len(got), got[len(got)-3:], utf8.ValidString(got))
	}
}

func TestUnsafeName(t *testing.T) {
	for name, want := range map[string]bool{
		"photos/1.jpg":  false,
		"a..b/c":        false,
		"..":            true,
		"a/../../b":     true,
		"/etc/passwd":   true,
		`..\..\x`:       true,
		"C:/x":          true,
		"c:x":           true,
		"x\x1b]0;t\x07": true,
		"\u202etxt.exe": true,
		"dir/":          false,
		"1:2 ratio.jpg": false,
	} {
		if got := unsafeName(name); got != want {
			t.Errorf("unsafeName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestSingleName(t *testing.T) {
	for _, tt := range []struct {
		hint   string
		f      Format
		stored string
		want   string
	}{
		{"photo.jpg.gz", FormatGzip, "", "photo.jpg"},
		{"https://x/y/photo.JPG.GZ", FormatGzip, "", "photo.JPG"},
		{"dump.tgz", FormatGzip, "", "dump.tar"},
		{"download", FormatGzip, "real.png", "real.png"},
		{"download", FormatGzip, "../../evil", "evil"},
		{"download", FormatGzip, "", "download"},
		{"", FormatXZ, "", "data"},
		{".gz", FormatGzip, "", ".gz"},
		{`dir\x.bz2`, FormatBzip2, "", "x"},
		{"a.txz", FormatXZ, "", "a.tar"},
	} {
		if got := singleName(tt.hint, tt.f, tt.stored); got != tt.want {
			t.Errorf("singleName(%q, %s, %q) = %q, want %q", tt.hint, tt.f, tt.stored, got, tt.want)
		}
	}
}

func TestPreflight7z(t *testing.T) {
	// Header bytes, from 7zFormat.txt: 0x01 header, 0x04 main streams,
	// 0x06 pack info, 0x07 unpack info, 0x0b folder, 0x05 files.
	num4 := []byte{0xf0, 0xff, 0xff, 0xff, 0xff} // 2^32-1
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"benign", archivetest.SevenZip(), nil},
		{"nested", archivetest.SevenZipNested(), nil},
		{"encrypted entries", archivetest.SevenZipEncrypted(), nil},
		{"encrypted file list", archivetest.SevenZipEncryptedHeaders(), ErrEncrypted},
		{"file count", archivetest.SevenZipFileCountBomb(), ErrTooManyEntries},
		{"files within budget", archivetest.SevenZipRawHeader([]byte{0x01, 0x05, 0x03, 0x00, 0x00}), nil},
		{"pack stream count", archivetest.SevenZipRawHeader(cat([]byte{0x01, 0x04, 0x06, 0x00}, num4, []byte{0x00, 0x00, 0x00})), ErrTooManyEntries},
		{"folder count", archivetest.SevenZipRawHeader(cat([]byte{0x01, 0x04, 0x07, 0x0b}, num4, []byte{0x00})), ErrTooManyEntries},
		{"coder count", archivetest.SevenZipRawHeader([]byte{0x01, 0x04, 0x07, 0x0b, 0x01, 0x00, 0x7f}), ErrTooManyEntries},
		{"LZMA dictionary", archivetest.SevenZipRawHeader([]byte{0x01, 0x04, 0x07, 0x0b, 0x01, 0x00,
			0x01, 0x23, 0x03, 0x01, 0x01, 0x05, 0x5d, 0x00, 0x00, 0x00, 0xf0, // 1 coder, LZMA, 3.75 GiB dictionary
			0x0c, 0x01, 0x00, 0x00, 0x00}), ErrUnsupported},
		{"zstd coder", archivetest.SevenZipRawHeader([]byte{0x01, 0x04, 0x07, 0x0b, 0x01, 0x00,
			0x01, 0x04, 0x04, 0xf7, 0x11, 0x01, // 1 coder, zstd, no properties
			0x0c, 0x01, 0x00, 0x00, 0x00}), ErrUnsupported},
		{"mixed encryption", archivetest.SevenZipMixedEncryption(), nil},
		{"truncated", archivetest.SevenZipRawHeader([]byte{0x01, 0x04, 0x06}), ErrCorrupt},
		{"unknown property", archivetest.SevenZipRawHeader([]byte{0x01, 0x42, 0x00}), ErrCorrupt},
		{"bad start checksum", func() []byte { b := archivetest.SevenZip(); b[8] ^= 1; return b }(), ErrCorrupt},
		{"header past the end", func() []byte { b := archivetest.SevenZipRawHeader([]byte{0x01, 0x00}); return b[:len(b)-1] }(), ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := preflight7z(bytes.NewReader(tt.data), int64(len(tt.data)), 1000)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("preflight7z = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestCountZipDirectory(t *testing.T) {
	var files []archivetest.File
	for i := range 40 {
		files = append(files, archivetest.File{Name: strings.Repeat("n", i), Body: []byte{byte(i)}})
	}
	z := archivetest.Zip(files...)
	n, err := countZipDirectory(bytes.NewReader(z), int64(len(z)), 1000)
	if err != nil || n != 40 {
		t.Errorf("count = %d, %v; want 40", n, err)
	}
	if n, _ := countZipDirectory(bytes.NewReader(z), int64(len(z)), 10); n != 11 {
		t.Errorf("count with limit 10 = %d, want 11 (stops at limit+1)", n)
	}
	// Prepended junk (a self-extractor) shifts every offset.
	sfx := append(bytes.Repeat([]byte{0x90}, 777), z...)
	if n, err := countZipDirectory(bytes.NewReader(sfx), int64(len(sfx)), 1000); n != 40 || err != nil {
		t.Errorf("self-extractor count = %d, %v; want 40", n, err)
	}
	if _, err := countZipDirectory(bytes.NewReader(z[:len(z)-5]), int64(len(z)-5), 1000); !errors.Is(err, ErrCorrupt) {
		t.Errorf("truncated end record: %v, want ErrCorrupt", err)
	}
	// archive/zip agrees with the count.
	zr, err := zip.NewReader(bytes.NewReader(sfx), int64(len(sfx)))
	if err != nil || len(zr.File) != 40 {
		t.Errorf("archive/zip: %v", err)
	}
}

func TestCountZip64Directory(t *testing.T) {
	// More than 65535 entries makes archive/zip write zip64 end records.
	const n = 70000
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := range n {
		if _, err := zw.CreateHeader(&zip.FileHeader{Name: strconv.Itoa(i), Method: zip.Store}); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	z := buf.Bytes()
	if !bytes.Contains(z[len(z)-200:], []byte("PK\x06\x06")) {
		t.Fatal("no zip64 end record; the test does not test zip64")
	}
	if got, err := countZipDirectory(bytes.NewReader(z), int64(len(z)), 1<<20); got != n || err != nil {
		t.Errorf("count = %d, %v; want %d", got, err, n)
	}
	if got, _ := countZipDirectory(bytes.NewReader(z), int64(len(z)), 100); got != 101 {
		t.Errorf("count with limit 100 = %d, want 101", got)
	}
}

func TestXZDictSize(t *testing.T) {
	for p, want := range map[byte]int64{0: 4 << 10, 1: 6 << 10, 18: 2 << 20, 19: 3 << 20, 40: 1<<32 - 1} {
		if got := xzDictSize(p); got != want {
			t.Errorf("xzDictSize(%d) = %d, want %d", p, got, want)
		}
	}
}

// bigRecords is a zip central directory of k records with the largest
// name, extra field and comment a record can have (192 KiB each), then its
// end record, produced on the fly instead of held in memory.
type bigRecords struct{ k int64 }

const bigRecordLen = dirHeaderLen + 3*0xffff

func (b bigRecords) size() int64 { return b.k*bigRecordLen + dirEndLen }

func (b bigRecords) ReadAt(p []byte, off int64) (int, error) {
	dir := b.k * bigRecordLen
	for i := range p {
		o := off + int64(i)
		switch {
		case o >= b.size():
			return i, io.EOF
		case o >= dir:
			var end [dirEndLen]byte
			binary.LittleEndian.PutUint32(end[0:], sigDirEnd)
			binary.LittleEndian.PutUint16(end[10:], 1)
			binary.LittleEndian.PutUint32(end[12:], uint32(dir))
			p[i] = end[o-dir]
		default:
			var hdr [dirHeaderLen]byte
			binary.LittleEndian.PutUint32(hdr[0:], sigDirHeader)
			binary.LittleEndian.PutUint16(hdr[28:], 0xffff)
			binary.LittleEndian.PutUint16(hdr[30:], 0xffff)
			binary.LittleEndian.PutUint16(hdr[32:], 0xffff)
			if r := o % bigRecordLen; r < dirHeaderLen {
				p[i] = hdr[r]
			} else {
				p[i] = 0
			}
		}
	}
	return len(p), nil
}

// A directory of few records but many bytes is refused before archive/zip
// would keep them all: it holds every name, comment and extra field.
func TestCountZipDirectoryBytes(t *testing.T) {
	small := bigRecords{k: 10}
	if n, err := countZipDirectory(small, small.size(), 1000); n != 10 || err != nil {
		t.Errorf("10 records of 192 KiB: %d, %v; want 10, nil", n, err)
	}
	big := bigRecords{k: maxZipDirectory/bigRecordLen + 1}
	if _, err := countZipDirectory(big, big.size(), 1000); !errors.Is(err, errZipDirectory) || !errors.Is(err, ErrTooManyEntries) {
		t.Errorf("%d records of 192 KiB (%d bytes): %v; want errZipDirectory", big.k, big.k*bigRecordLen, err)
	}
}
