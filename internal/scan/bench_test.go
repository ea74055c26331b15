package scan

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leakwatch/leakwatch/crawler"
	"github.com/leakwatch/leakwatch/fixtures/corpus"
	"github.com/leakwatch/leakwatch/fixtures/photos"
)

// streamTarGz writes a tar.gz of about size bytes of distinct JPEGs to w,
// without holding it in memory: each entry is a real photo with a unique
// COM segment, so every entry has a new SHA-256 and is really decoded.
func streamTarGz(w http.ResponseWriter, size int64) (images int) {
	ps := photos.All()
	w.Header().Set("Content-Type", "application/gzip")
	zw, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
	tw := tar.NewWriter(zw)
	var written int64
	for i := 0; written < size; i++ {
		p := ps[i%len(ps)].JPEG
		com := []byte(fmt.Sprintf("leakwatch bench %d", i))
		var b bytes.Buffer
		b.Write(p[:2])
		b.Write([]byte{0xFF, 0xFE, byte((len(com) + 2) >> 8), byte(len(com) + 2)})
		b.Write(com)
		b.Write(p[2:])
		hdr := &tar.Header{Name: fmt.Sprintf("dump/%06d.jpg", i), Mode: 0o644, Size: int64(b.Len()), ModTime: time.Unix(1700000000, 0)}
		if tw.WriteHeader(hdr) != nil {
			return images
		}
		if _, err := tw.Write(b.Bytes()); err != nil {
			return images
		}
		written += int64(b.Len())
		images++
	}
	_ = tw.Close()
	_ = zw.Close()
	return images
}

// BenchmarkArchiveScan streams a tar.gz of photos (LEAKWATCH_BENCH_ARCHIVE_MB,
// default 32) through the whole pipeline: HTTP, gunzip, tar, decode, PDQ
// and pHash, match, store. It reports MB/s, images/s and peak RSS.
func BenchmarkArchiveScan(b *testing.B) {
	mb := int64(32)
	if v, err := strconv.ParseInt(os.Getenv("LEAKWATCH_BENCH_ARCHIVE_MB"), 10, 64); err == nil && v > 0 {
		mb = v
	}
	size := mb << 20
	var images int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		images = streamTarGz(w, size)
	}))
	defer srv.Close()
	c := corpus.New(1)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		bk, st := setup(b, c.WriteCaptures)
		b.StartTimer()
		sum, err := Run(context.Background(), Config{
			Seeds: []string{srv.URL + "/dump.tar.gz"}, Bank: bk, Store: st, Recrawl: true,
			WholeImageOnly: os.Getenv("LEAKWATCH_BENCH_WHOLE") == "1",
			Crawler:        crawler.Options{RequestTimeout: time.Hour},
		})
		if err != nil {
			b.Fatal(err)
		}
		if sum.Hashed != int64(images) || sum.Errors != 0 {
			b.Fatalf("hashed %d of %d images, %d errors %v", sum.Hashed, images, sum.Errors, sum.ErrorsBy)
		}
	}
	secs := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(float64(mb)/secs, "MB/s")
	b.ReportMetric(float64(images)/secs, "images/s")
	b.ReportMetric(float64(peakRSS())/(1<<20), "peakRSS-MiB")
}

// peakRSS reads the process's peak resident set size (VmHWM) in bytes.
func peakRSS() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line)
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}
