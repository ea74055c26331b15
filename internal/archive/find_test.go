package archive_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/leakwatch/leakwatch/internal/archive"
	"github.com/leakwatch/leakwatch/internal/archive/archivetest"
)

func TestFind(t *testing.T) {
	junk := noise(21, 3000)
	zip := archivetest.Zip(archivetest.File{Name: "a.jpg", Body: []byte("x")})
	tar := archivetest.Tar(archivetest.File{Name: "a.jpg", Body: []byte("x")})
	tests := []struct {
		name string
		b    []byte
		off  int
		f    archive.Format
	}{
		{"zip at once", zip, 0, archive.FormatZip},
		{"zip after junk", append(append([]byte{}, junk...), zip...), len(junk), archive.FormatZip},
		{"rar after zero padding", append(make([]byte, 100), archivetest.RAR5()...), 100, archive.FormatRAR},
		{"7z", append([]byte("\x00\x00"), archivetest.SevenZip()...), 2, archive.Format7z},
		{"tar by its ustar magic", append([]byte("padding"), tar...), 7, archive.FormatTar},
		{"first of two", append(append([]byte("xx"), archivetest.Gzip("g", []byte("g"))...), zip...), 2, archive.FormatGzip},
		{"a magic prefix alone", []byte("junk PK\x03\x04"), 5, archive.FormatZip},
		{"nothing", junk, -1, archive.FormatUnknown},
		{"empty", nil, -1, archive.FormatUnknown},
		{"Rar! without its version", []byte("Rar!\x1a\x07\x05\x00"), -1, archive.FormatUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			off, f := archive.Find(tt.b)
			if off != tt.off || f != tt.f {
				t.Errorf("Find = %d, %q; want %d, %q", off, f, tt.off, tt.f)
			}
		})
	}
}

func FuzzFind(f *testing.F) {
	f.Add([]byte("PK\x03\x04"))
	f.Add(append([]byte("\xff\xd8\xff\xd9"), archivetest.RAR4(archivetest.File{Name: "x", Body: []byte("x")})...))
	f.Add(append(make([]byte, 300), []byte("ustar\x0000")...))
	f.Fuzz(func(t *testing.T, b []byte) {
		off, format := archive.Find(b)
		if (off < 0) != (format == archive.FormatUnknown) || off >= len(b) && off >= 0 {
			t.Fatalf("Find = %d, %q for %d bytes", off, format, len(b))
		}
		if off >= 0 && archive.Detect(b[off:min(len(b), off+archive.HeadSize)]) != format {
			t.Fatalf("Find says %q at %d, Detect disagrees", format, off)
		}
		if off > 0 {
			if o, _ := archive.Find(bytes.Clone(b[:off])); o >= 0 && o < off && archive.Detect(b[o:min(len(b), o+archive.HeadSize)]) != archive.FormatUnknown {
				t.Fatalf("an earlier archive at %d was passed over for %d", o, off)
			}
		}
	})
}

func TestEmbedded(t *testing.T) {
	inner := archivetest.Zip(archivetest.File{Name: "inner.txt", Body: []byte("inner")})
	img := append([]byte("\xff\xd8\xff\xd9"), inner...)
	outer := archivetest.Zip(archivetest.File{Name: "a.jpg", Body: img})
	for _, tt := range []struct {
		depth   int
		want    []string
		tooDeep bool
	}{
		{3, []string{"a.jpg", "a.jpg!appended!inner.txt"}, false},
		{1, []string{"a.jpg"}, true},
	} {
		var got []string
		var reports []error
		var keep func([]byte, string) error
		_, err := archive.Walk(t.Context(), bytes.NewReader(outer), "o.zip", archive.Limits{MaxDepth: tt.depth, TempDir: t.TempDir()},
			func(e archive.Entry) error {
				got = append(got, joinPath(e.Path))
				b, err := io.ReadAll(e.Body)
				if err != nil {
					return err
				}
				if off, f := archive.Find(b); f != archive.FormatUnknown && off > 0 {
					keep = e.Embedded
					return e.Embedded(b[off:], "appended")
				}
				return nil
			}, func(p []string, err error) { reports = append(reports, err) })
		if err != nil || strings.Join(got, " ") != strings.Join(tt.want, " ") {
			t.Errorf("depth %d: entries %v, err %v; want %v", tt.depth, got, err, tt.want)
		}
		if tt.tooDeep != (len(reports) == 1 && errors.Is(reports[0], archive.ErrTooDeep)) {
			t.Errorf("depth %d: reports %v", tt.depth, reports)
		}
		if keep == nil || keep(inner, "late") == nil {
			t.Errorf("depth %d: Embedded after the callback returned did not fail", tt.depth)
		}
	}
}
