package fingerprint

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/leakwatch/leakwatch/fingerprint/hamming"
	"github.com/leakwatch/leakwatch/fingerprint/pdq"
	"github.com/leakwatch/leakwatch/fixtures/imagegen"
	"github.com/leakwatch/leakwatch/fixtures/photos"
	"github.com/leakwatch/leakwatch/fixtures/transform"
)

// robustBenchJPEGs returns the benchmark files: a real photograph
// (fixtures/photos, "power-lines") scaled to 640x480, 1920x1080 and
// 4000x3000 (12 megapixels), with
// sensor-like noise added after upscaling so that the large file has the
// detail, and so the decode cost, of a camera JPEG; quality 90.
var robustBenchJPEGs = sync.OnceValue(func() map[string][]byte {
	var src image.Image
	for _, p := range photos.All() {
		if p.Name == "power-lines" {
			src = p.Image
		}
	}
	if src == nil {
		src = imagegen.Street(1)
	}
	out := map[string][]byte{}
	for _, sz := range [][2]int{{640, 480}, {1920, 1080}, {4000, 3000}} {
		img := transform.Chain(transform.ResizeTo(sz[0], sz[1]), transform.Noise(3, 1))(src)
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
			panic(err)
		}
		out[fmt.Sprintf("%dx%d", sz[0], sz[1])] = buf.Bytes()
	}
	return out
})

var robustBenchSizes = []string{"640x480", "1920x1080"}

// BenchmarkDecodeHash measures a query image from bytes to fingerprint:
// decode alone, decode plus the whole-image PDQ (working plane and eight
// dihedral hashes), and decode plus Compute (which adds pHash and the
// candidates: sub-image detection, windows, straightened versions).
func BenchmarkDecodeHash(b *testing.B) {
	for _, size := range robustBenchSizes {
		data := robustBenchJPEGs()[size]
		b.Run(size+"/decode", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := DecodeBytes(data, DefaultLimits()); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(size+"/decode+pdq", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				d, err := DecodeBytes(data, DefaultLimits())
				if err != nil {
					b.Fatal(err)
				}
				p, _ := planeFromImage(d.Image)
				p.hashQuadAll(p.whole())
			}
		})
		b.Run(size+"/decode+compute", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				d, err := DecodeBytes(data, DefaultLimits())
				if err != nil {
					b.Fatal(err)
				}
				if _, err := Compute(d.Image); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCompute splits Compute on decoded images.
func BenchmarkCompute(b *testing.B) {
	for _, size := range robustBenchSizes {
		d, err := DecodeBytes(robustBenchJPEGs()[size], DefaultLimits())
		if err != nil {
			b.Fatal(err)
		}
		img := d.Image
		p, _ := planeFromImage(img)
		b.Run(size+"/compute", func(b *testing.B) {
			for b.Loop() {
				if _, err := Compute(img); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(size+"/enroll", func(b *testing.B) {
			for b.Loop() {
				if _, err := EnrollImage(img); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(size+"/plane", func(b *testing.B) {
			for b.Loop() {
				planeFromImage(img)
			}
		})
		b.Run(size+"/whole-pdq", func(b *testing.B) {
			for b.Loop() {
				p.hashQuadAll(p.whole())
			}
		})
		b.Run(size+"/phash", func(b *testing.B) {
			for b.Loop() {
				if _, err := p.phash(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(size+"/subimage-detect", func(b *testing.B) {
			for b.Loop() {
				subImageRects(p)
			}
		})
		b.Run(size+"/candidates", func(b *testing.B) {
			for b.Loop() {
				queryCandidates(p, img.Bounds().Dx(), img.Bounds().Dy())
			}
		})
		b.Run(size+"/keypoints", func(b *testing.B) {
			for b.Loop() {
				p.keypoints(queryKeypoints)
			}
		})
		b.Run(size+"/query-patches", func(b *testing.B) {
			for b.Loop() {
				queryLocal(p, img.Bounds().Dx(), img.Bounds().Dy()).computePatches()
			}
		})
		b.Run(size+"/reference-pdq", func(b *testing.B) {
			for b.Loop() {
				pdq.HashAll(img)
			}
		})
	}
}

// BenchmarkMatch measures one query against banks of n captures enrolled
// with regions and patches (random hashes, as a large bank of unrelated
// captures looks to the index), with and without the query's candidates
// and patches.
func BenchmarkMatch(b *testing.B) {
	d, err := DecodeBytes(robustBenchJPEGs()["640x480"], DefaultLimits())
	if err != nil {
		b.Fatal(err)
	}
	fp, err := Compute(transform.Collage(nil, 0.4, 1)(d.Image))
	if err != nil {
		b.Fatal(err)
	}
	fp.PatchHashes() // computed once, as a scan's first match does
	for _, n := range []int{10_000, 100_000} {
		bank := randomBank(b, n)
		for _, mode := range []string{"whole", "candidates", "candidates+patches"} {
			opts := DefaultMatchOptions()
			opts.SubImages = mode != "whole"
			opts.Patches = mode == "candidates+patches"
			m := NewMatcher(bank, opts)
			b.Run(fmt.Sprintf("captures=%d/%s", n, mode), func(b *testing.B) {
				for b.Loop() {
					if _, err := m.Match(fp); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func randomBank(b *testing.B, n int) *Bank {
	b.Helper()
	r := rand.New(rand.NewPCG(uint64(n), 3))
	bank := NewBank()
	for i := range n {
		e := Enrollment{Capture: Capture{ID: fmt.Sprintf("c%07d", i)}, PHash: hamming.Hash64(r.Uint64())}
		for reg := 0; reg <= RegionCount; reg++ {
			e.PDQ = append(e.PDQ, RegionHash{Hash: hamming.Hash256{r.Uint64(), r.Uint64(), r.Uint64(), r.Uint64()}, Region: Region(reg), Quality: 100})
		}
		for range enrollPatches {
			e.PDQ = append(e.PDQ, RegionHash{Hash: hamming.Hash256{r.Uint64(), r.Uint64(), r.Uint64(), r.Uint64()}, Region: RegionPatch, Quality: 100,
				Frame: PatchFrame{X: 0.5, Y: 0.4, D: 0.2, W: 1, H: 0.75}})
		}
		if err := bank.Add(e); err != nil {
			b.Fatal(err)
		}
	}
	bank.BuildIndex()
	return bank
}
