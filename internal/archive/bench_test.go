package archive_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/leakwatch/leakwatch/internal/archive"
	"github.com/leakwatch/leakwatch/internal/archive/archivetest"
)

// benchTarGz is 64 MiB of image-like files (64 x 1 MiB: mostly
// incompressible noise, as in JPEG/PNG bodies, with a compressible header
// region) in a tar.gz, built once.
var benchTarGz = sync.OnceValues(func() ([]byte, int64) {
	const files, size = 64, 1 << 20
	var fs []archivetest.File
	var total int64
	for i := range files {
		body := noise(byte(i), size)
		clear(body[:size/16]) // headers, EXIF padding, flat regions
		fs = append(fs, archivetest.File{Name: fmt.Sprintf("dump/img%03d.jpg", i), Body: body})
		total += size
	}
	return archivetest.TarGz(fs...), total
})

// BenchmarkWalkTarGz measures Walk's throughput in uncompressed MB/s over
// a tar.gz, the commonest dump format, with fn reading every body; the
// stdlib sub-benchmark is gzip+tar alone, so the difference is the cost of
// the limits.
func BenchmarkWalkTarGz(b *testing.B) {
	data, total := benchTarGz()
	b.Run("walk", func(b *testing.B) {
		dir := b.TempDir()
		b.SetBytes(total)
		b.ReportAllocs()
		for b.Loop() {
			st, err := archive.Walk(b.Context(), bytes.NewReader(data), "dump.tar.gz", archive.Limits{TempDir: dir},
				func(e archive.Entry) error {
					_, err := io.Copy(io.Discard, e.Body)
					return err
				}, nil)
			if err != nil || st.Entries != 64 {
				b.Fatalf("Walk = %+v, %v", st, err)
			}
		}
	})
	b.Run("stdlib", func(b *testing.B) {
		b.SetBytes(total)
		b.ReportAllocs()
		for b.Loop() {
			zr, err := gzip.NewReader(bytes.NewReader(data))
			if err != nil {
				b.Fatal(err)
			}
			tr := tar.NewReader(zr)
			for {
				_, err := tr.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, tr); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
