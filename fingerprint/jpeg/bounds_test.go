package jpeg

import (
	"context"
	"errors"
	"image"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/leakwatch/leakwatch/fingerprint/jpeg/jpegtest"
)

func TestScanBomb(t *testing.T) {
	data := jpegtest.ScanBomb(4000, 3000, 5000)
	t.Logf("scan bomb: %d bytes", len(data))
	cfg, err := DecodeConfig(data)
	if err != nil || cfg.Scans != 5001 {
		t.Fatalf("DecodeConfig: %+v, %v; want 5001 scans", cfg, err)
	}
	_, err = Decode(context.Background(), data, Options{MinSide: 512})
	var le *LimitError
	if !errors.As(err, &le) || !errors.Is(err, ErrLimit) || le.Limit != "scans" || le.Max != DefaultMaxScans {
		t.Fatalf("Decode: %v, want a scans LimitError", err)
	}
	// Within the bound it decodes.
	img, err := Decode(context.Background(), jpegtest.ScanBomb(400, 300, DefaultMaxScans-1), Options{})
	if err != nil || img.Bounds().Dx() != 400 {
		t.Fatalf("decode within the scan bound: %v", err)
	}
}

// TestConfigKeepsNoScanHeaders reads the header of a file that is nothing
// but scan headers, as many as the default --max-image-bytes holds: they
// are counted, not kept, and the read stops when its context is done.
func TestConfigKeepsNoScanHeaders(t *testing.T) {
	const n = 400_000
	data := jpegtest.ScanBomb(64, 64, n)
	var cfg Config
	var err error
	// Parsing leaves a few bytes of garbage a scan (9 MiB here); keeping
	// the headers allocated 265 MiB, and a 64 MB file ran out of memory.
	if a := allocated(func() { cfg, err = DecodeConfig(data) }); a > 32<<20 {
		t.Errorf("DecodeConfig of %d scans allocated %d MiB", n, a>>20)
	}
	if err != nil || cfg.Scans != n+1 {
		t.Fatalf("DecodeConfig: %+v, %v; want %d scans", cfg, err, n+1)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := DecodeConfigContext(ctx, data); !errors.Is(err, context.Canceled) {
		t.Errorf("DecodeConfigContext after cancel: %v, want context.Canceled", err)
	}
}

// allocated returns the bytes fn allocates.
func allocated(fn func()) uint64 {
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	fn()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

func TestHugeCMYKProgressive(t *testing.T) {
	const w, h = 8000, 6000 // 48 megapixels
	data := jpegtest.ProgressiveCMYK(w, h)
	t.Logf("%dx%d CMYK progressive: %d bytes", w, h, len(data))
	var img image.Image
	var err error
	alloc := allocated(func() { img, err = Decode(context.Background(), data, Options{MinSide: 512, Luma: true}) })
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != w/8 || b.Dy() != h/8 {
		t.Fatalf("bounds %v, want 1/8 scale", b)
	}
	// Coefficients: 4 components x 750,000 blocks x 10 bytes.
	t.Logf("allocated %.1f MB", float64(alloc)/1e6)
	if alloc > 40<<20 {
		t.Errorf("allocated %d bytes, want at most 40 MiB", alloc)
	}
	// At full size the coefficients would need 408 MB: refused up front.
	alloc = allocated(func() { _, err = Decode(context.Background(), data, Options{MaxPixels: 64 << 20}) })
	var le *LimitError
	if !errors.As(err, &le) || le.Limit != "coefficient bytes" || le.Value < 400e6 {
		t.Fatalf("full-size decode: %v, want a coefficient LimitError", err)
	}
	if alloc > 1<<20 {
		t.Errorf("a refused decode allocated %d bytes", alloc)
	}
}

func TestPixelLimit(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "base444.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Decode(context.Background(), data, Options{MaxPixels: 320*240 - 1})
	var le *LimitError
	if !errors.As(err, &le) || le.Limit != "pixels" || le.Value != 320*240 {
		t.Fatalf("got %v, want a pixels LimitError for 76800", err)
	}
	// At half size it fits.
	if _, err := Decode(context.Background(), data, Options{MaxPixels: 160 * 120, MinSide: 160}); err != nil {
		t.Fatal(err)
	}
}

// countdown is a context that reports cancellation after n checks, so
// that a test can stop a decode at a chosen point without timing.
type countdown struct {
	context.Context
	n atomic.Int64
}

func (c *countdown) Err() error {
	if c.n.Add(-1) < 0 {
		return context.Canceled
	}
	return nil
}

func TestCancel(t *testing.T) {
	for name, data := range map[string][]byte{
		"progressive": jpegtest.ProgressiveCMYK(4000, 3000),
		"scans":       jpegtest.ScanBomb(4000, 3000, DefaultMaxScans-1),
	} {
		for _, checks := range []int64{0, 3, 50, 150} {
			ctx := &countdown{Context: context.Background()}
			ctx.n.Store(checks)
			_, err := Decode(ctx, data, Options{MinSide: 512})
			if !errors.Is(err, context.Canceled) {
				t.Errorf("%s, cancelled after %d checks: %v, want context.Canceled", name, checks, err)
			}
		}
	}
}
