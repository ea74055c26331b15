package archive

import (
	"archive/zip"
	"bytes"
	"testing"

	"github.com/leakwatch/leakwatch/internal/archive/archivetest"
)

// FuzzZipDirectory checks the claim countZipDirectory exists for: it
// never counts fewer directory records than archive/zip then parses, so
// refusing on its count really bounds archive/zip's memory.
func FuzzZipDirectory(f *testing.F) {
	f.Add(archivetest.Zip(archivetest.File{Name: "a", Body: []byte("a")}))
	f.Add(archivetest.Zip())
	f.Add(archivetest.ZipSlip())
	f.Add(archivetest.CorruptCentralDirectory())
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		n, err := countZipDirectory(r, int64(len(data)), 1<<20)
		zr, zerr := zip.NewReader(r, int64(len(data)))
		if zerr != nil && zerr != zip.ErrInsecurePath {
			return
		}
		if err != nil {
			return // refusing more than archive/zip does is safe
		}
		if n < len(zr.File) {
			t.Fatalf("counted %d directory records, archive/zip parsed %d", n, len(zr.File))
		}
	})
}

// FuzzPreflight7z checks that an archive preflight7z accepts with a budget
// never makes the 7z library build more file headers than the budget, and
// that neither panics. With raw set, data is a bare header wrapped with
// valid checksums, so mutations reach the parser instead of dying on a CRC.
func FuzzPreflight7z(f *testing.F) {
	f.Add(archivetest.SevenZip(), false)
	f.Add(archivetest.SevenZipNested(), false)
	f.Add(archivetest.SevenZipFileCountBomb(), false)
	f.Add(archivetest.SevenZipEncryptedHeaders(), false)
	f.Add([]byte{0x01, 0x05, 0x03, 0x00, 0x00}, true)
	const budget = 64
	f.Fuzz(func(t *testing.T, data []byte, raw bool) {
		if raw {
			data = archivetest.SevenZipRawHeader(data)
		}
		r := bytes.NewReader(data)
		if err := preflight7z(r, int64(len(data)), budget); err != nil {
			return
		}
		zr, err := open7z(r, int64(len(data)))
		if err != nil {
			return
		}
		if len(zr.File) > budget {
			t.Fatalf("preflight accepted a header with %d files, budget %d", len(zr.File), budget)
		}
	})
}
