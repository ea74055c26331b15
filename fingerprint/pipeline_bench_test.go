package fingerprint

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"testing"

	"github.com/corona10/goimagehash"
	"github.com/leakwatch/leakwatch/fixtures/photos"
)

// pipelineBank enrolls the fixture photographs (regions, patches and
// local features), so that a match runs every route of the default policy.
func pipelineBank(b *testing.B) *Bank {
	b.Helper()
	bank := NewBank()
	for _, p := range photos.All() {
		e, err := EnrollImage(p.Image)
		if err != nil {
			b.Fatal(err)
		}
		e.Capture = Capture{ID: p.Name}
		if err := bank.Add(e); err != nil {
			b.Fatal(err)
		}
	}
	bank.BuildIndex()
	return bank
}

// cpuLoop runs fn b.N times and reports images per CPU-second of the
// whole process (run with -cpu 1 for per-core figures).
func cpuLoop(b *testing.B, fn func()) {
	b.Helper()
	c0, ok := processCPU()
	for b.Loop() {
		fn()
	}
	if c1, ok1 := processCPU(); ok && ok1 && c1 > c0 {
		b.ReportMetric(float64(b.N)/(c1-c0).Seconds(), "img/cpu-s")
	}
}

// BenchmarkPipeline measures a query JPEG from bytes to verdict at 1080p
// and 12 megapixels beside a naive anchor (image/jpeg and goimagehash's
// pHash of the decoded image), in one run: decoding alone (ours at the
// working size, ForQuery, and at the whole-image size, ForWhole;
// image/jpeg at full size), fingerprinting alone (on an already decoded
// image), and the whole of what `match` does per file with the default
// policy and with whole-image matching only. B/op with -benchmem is what
// one decode allocates, which bounds its peak memory.
func BenchmarkPipeline(b *testing.B) {
	bank := pipelineBank(b)
	full := NewMatcher(bank, DefaultMatchOptions())
	wholeOpts := DefaultMatchOptions()
	wholeOpts.SubImages, wholeOpts.Patches, wholeOpts.NoFeatures = false, false, true
	whole := NewMatcher(bank, wholeOpts)
	for _, size := range []string{"1920x1080", "4000x3000"} {
		data := robustBenchJPEGs()[size]
		b.Run(size+"/anchor/decode", func(b *testing.B) {
			cpuLoop(b, func() {
				if _, err := jpeg.Decode(bytes.NewReader(data)); err != nil {
					b.Fatal(err)
				}
			})
		})
		b.Run(size+"/anchor/decode+phash", func(b *testing.B) {
			cpuLoop(b, func() {
				img, err := jpeg.Decode(bytes.NewReader(data))
				if err != nil {
					b.Fatal(err)
				}
				if _, err := goimagehash.PerceptionHash(img); err != nil {
					b.Fatal(err)
				}
			})
		})
		b.Run(size+"/decode", func(b *testing.B) {
			cpuLoop(b, func() {
				if _, err := DecodeBytes(data, DefaultLimits(), ForQuery()); err != nil {
					b.Fatal(err)
				}
			})
		})
		b.Run(size+"/decode-full-size", func(b *testing.B) {
			cpuLoop(b, func() {
				if _, err := DecodeBytes(data, DefaultLimits()); err != nil {
					b.Fatal(err)
				}
			})
		})
		d, err := DecodeBytes(data, DefaultLimits(), ForQuery())
		if err != nil {
			b.Fatal(err)
		}
		var img image.Image = d.Image
		b.Run(size+"/fingerprint", func(b *testing.B) {
			cpuLoop(b, func() {
				fp, err := Compute(img, SourceSize(d.Width, d.Height))
				if err != nil {
					b.Fatal(err)
				}
				fp.local.features() // what a default match adds: the query's local features
			})
		})
		b.Run(size+"/decode-whole", func(b *testing.B) {
			cpuLoop(b, func() {
				if _, err := DecodeBytes(data, DefaultLimits(), ForWhole()); err != nil {
					b.Fatal(err)
				}
			})
		})
		dw, err := DecodeBytes(data, DefaultLimits(), ForWhole())
		if err != nil {
			b.Fatal(err)
		}
		b.Run(size+"/fingerprint-whole", func(b *testing.B) {
			cpuLoop(b, func() {
				if _, err := ComputeWhole(dw.Image, SourceSize(dw.Width, dw.Height)); err != nil {
					b.Fatal(err)
				}
			})
		})
		for _, m := range []struct {
			name    string
			matcher Matcher
			compute func(image.Image, ...ComputeOption) (Fingerprint, error)
			size    DecodeOption
		}{{"match", full, Compute, ForQuery()}, {"match-whole", whole, ComputeWhole, ForWhole()}} {
			b.Run(fmt.Sprintf("%s/%s", size, m.name), func(b *testing.B) {
				cpuLoop(b, func() {
					d, err := DecodeBytes(data, DefaultLimits(), m.size)
					if err != nil {
						b.Fatal(err)
					}
					fp, err := m.compute(d.Image, SourceSize(d.Width, d.Height))
					if err != nil {
						b.Fatal(err)
					}
					if _, err := m.matcher.Match(fp); err != nil {
						b.Fatal(err)
					}
				})
			})
		}
	}
}
