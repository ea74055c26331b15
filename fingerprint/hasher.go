package fingerprint

import (
	"fmt"
	"image"

	"github.com/corona10/goimagehash"
	"github.com/leakwatch/leakwatch/fingerprint/hamming"
	"github.com/leakwatch/leakwatch/fingerprint/pdq"
)

// Algorithm names a perceptual hash.
type Algorithm string

// Algorithms we compute.
const (
	AlgoPDQ   Algorithm = "pdq"
	AlgoPHash Algorithm = "phash"
)

// ParseAlgorithm accepts "pdq" or "phash".
func ParseAlgorithm(s string) (Algorithm, error) {
	switch Algorithm(s) {
	case AlgoPDQ, AlgoPHash:
		return Algorithm(s), nil
	}
	return "", fmt.Errorf("unknown algorithm %q (want pdq or phash)", s)
}

// phashThumb is the side of the grey thumbnail pHash is computed from.
const phashThumb = 128

// PHash computes goimagehash's PerceptionHash on a box-filtered grey
// thumbnail. JPEG's Y plane is used directly (JFIF defines it with the same
// weights as our luma), so the common case never converts every pixel.
func PHash(img image.Image) (hamming.Hash64, error) {
	b := img.Bounds()
	if b.Dx() < 1 || b.Dy() < 1 {
		return 0, fmt.Errorf("%w: empty image", ErrCorrupt)
	}
	if yc, ok := img.(*image.YCbCr); ok {
		w, h := b.Dx(), b.Dy()
		tw, th := min(phashThumb, w), min(phashThumb, h)
		g := image.NewGray(image.Rect(0, 0, tw, th))
		boxResizeBytes(yc.Y[yc.YOffset(b.Min.X, b.Min.Y):], yc.YStride, w, h, g.Pix, tw, th)
		return phashGray(g)
	}
	luma, w, h := pdq.Luma(img)
	return PHashFromLuma(luma, w, h)
}

func phashGray(g *image.Gray) (hamming.Hash64, error) {
	ih, err := goimagehash.PerceptionHash(g)
	if err != nil {
		return 0, fmt.Errorf("phash: %w", err)
	}
	return hamming.Hash64(ih.GetHash()), nil
}

// boxResizeBytes is boxResize for an 8-bit plane with a stride.
func boxResizeBytes(src []uint8, stride, w, h int, dst []uint8, tw, th int) {
	for ty := 0; ty < th; ty++ {
		y0, y1 := ty*h/th, max((ty+1)*h/th, ty*h/th+1)
		for tx := 0; tx < tw; tx++ {
			x0, x1 := tx*w/tw, max((tx+1)*w/tw, tx*w/tw+1)
			var s int
			for y := y0; y < y1; y++ {
				row := src[y*stride:]
				for x := x0; x < x1; x++ {
					s += int(row[x])
				}
			}
			n := (y1 - y0) * (x1 - x0)
			dst[ty*tw+tx] = uint8((s + n/2) / n)
		}
	}
}

// PHashFromLuma computes goimagehash's PerceptionHash on a box-filtered
// thumbnail of the luma plane. Shrinking first with an area filter keeps the
// hash stable across source resolutions and avoids goimagehash resizing a
// full-size frame (its resizer dominated the cost in our measurements).
func PHashFromLuma(luma []float32, w, h int) (hamming.Hash64, error) {
	if w < 1 || h < 1 || len(luma) < w*h {
		return 0, fmt.Errorf("%w: empty image", ErrCorrupt)
	}
	tw, th := min(phashThumb, w), min(phashThumb, h)
	g := image.NewGray(image.Rect(0, 0, tw, th))
	boxResize(luma, w, h, g.Pix, tw, th)
	return phashGray(g)
}

// boxResize averages the source pixels covered by each destination pixel.
func boxResize(src []float32, w, h int, dst []uint8, tw, th int) {
	for ty := 0; ty < th; ty++ {
		y0, y1 := ty*h/th, (ty+1)*h/th
		if y1 <= y0 {
			y1 = y0 + 1
		}
		for tx := 0; tx < tw; tx++ {
			x0, x1 := tx*w/tw, (tx+1)*w/tw
			if x1 <= x0 {
				x1 = x0 + 1
			}
			var s float32
			for y := y0; y < y1; y++ {
				row := src[y*w : y*w+w]
				for x := x0; x < x1; x++ {
					s += row[x]
				}
			}
			v := s / float32((y1-y0)*(x1-x0))
			if v < 0 {
				v = 0
			} else if v > 255 {
				v = 255
			}
			dst[ty*tw+tx] = uint8(v + 0.5)
		}
	}
}

// Fingerprint is everything matching needs from one query image.
type Fingerprint struct {
	// PDQ holds the eight dihedral PDQ hashes of the whole image (index 0
	// is the image as given) and their quality. They are PDQ hashes of the
	// image area-resampled to 64x64 (see robust_plane.go for why), which
	// for images larger than 64x64 differ from the reference front end's.
	PDQ   pdq.Dihedral
	PHash hamming.Hash64
	// Candidates are hashes of parts of the image: detected sub-images,
	// central windows and straightened versions (at most MaxCandidates).
	Candidates []Candidate
	// Reference holds the eight dihedral hashes from Meta's reference PDQ
	// front end (what `leakwatch hash` prints and other systems compute),
	// used to match hashes imported from such systems. It costs about 2 ms,
	// so it is computed only on request (AddReference); HasReference says
	// whether it was.
	Reference    pdq.Dihedral
	HasReference bool
	// WholeOnly records that the candidates were not computed
	// (ComputeWhole), as opposed to an image that has none.
	WholeOnly bool
	// Refused names the captures whose hash match a reading of this
	// image's features refused when it was matched (MatchStats.Refused).
	// A fingerprint without the image's pixels (one from a cache) cannot
	// be read again: Match keeps these captures refused for it.
	Refused []string
	// local holds the query's working plane for uneven-crop matching
	// (patches.go; the patches themselves are computed on first use).
	// Only a freshly computed fingerprint has it: a decoded cache entry
	// does not. It keeps the plane (about 3 MB) alive as long as the
	// fingerprint.
	local *localQuery
}

// HasPatches reports whether the fingerprint can be matched through its
// keypoint patches (a fresh Compute; not a cached or whole-only one).
func (fp *Fingerprint) HasPatches() bool { return fp.local != nil }

// AddReference computes fp.Reference from the image fp was computed from.
func (fp *Fingerprint) AddReference(img image.Image) {
	fp.Reference, fp.HasReference = pdq.HashAll(img), true
}

// ComputeOption adjusts Compute.
type ComputeOption func(*computeConfig)

type computeConfig struct{ srcW, srcH int }

// SourceSize says that img was decoded reduced from a w x h image
// (Decoded.Width, Height): rectangles in matches are then given in the
// source's pixels.
func SourceSize(w, h int) ComputeOption {
	return func(c *computeConfig) { c.srcW, c.srcH = w, h }
}

// Compute hashes a decoded query image: the whole image in its eight
// dihedral variants, its pHash and its candidates.
func Compute(img image.Image, opts ...ComputeOption) (Fingerprint, error) {
	return compute(img, true, opts)
}

// ComputeWhole is Compute without the query candidates: only the whole
// image's PDQ variants and pHash. It is several times cheaper on small
// images and finds resized, recompressed, recoloured, rotated and flipped
// copies, but not crops, collages, screenshots or captioned copies.
func ComputeWhole(img image.Image, opts ...ComputeOption) (Fingerprint, error) {
	return compute(img, false, opts)
}

func compute(img image.Image, candidates bool, opts []ComputeOption) (Fingerprint, error) {
	p, w, h, err := workingPlane(img)
	if err != nil {
		return Fingerprint{}, err
	}
	var c computeConfig
	for _, o := range opts {
		o(&c)
	}
	if c.srcW > 0 && c.srcH > 0 {
		w, h = c.srcW, c.srcH
	}
	ph, err := p.phash()
	if err != nil {
		return Fingerprint{}, err
	}
	fp := Fingerprint{PHash: ph, WholeOnly: !candidates}
	if w >= pdq.MinDim && h >= pdq.MinDim {
		fp.PDQ = p.hashQuadAll(p.whole())
		if candidates {
			fp.Candidates = queryCandidates(p, w, h)
			fp.local = queryLocal(p, w, h)
		}
	}
	return fp, nil
}

// EnrollImage computes what the bank stores for one capture: the PDQ hash
// of the whole image (region 0, always, so that a low quality is reported
// rather than dropped), the PDQ hashes of its central regions whose
// quality is at least pdq.MinQuality (regions 1..RegionCount, see
// centralKeeps), up to enrollPatches keypoint patches with their frames
// (RegionPatch, see patches.go), and its pHash.
func EnrollImage(img image.Image) (Enrollment, error) {
	p, w, h, err := workingPlane(img)
	if err != nil {
		return Enrollment{}, err
	}
	ph, err := p.phash()
	if err != nil {
		return Enrollment{}, err
	}
	e := Enrollment{PHash: ph, PDQ: make([]RegionHash, 1, 1+RegionCount)}
	if w < pdq.MinDim || h < pdq.MinDim {
		return e, nil // the zero hash with quality 0, like PDQ
	}
	r := p.hashQuad(p.whole())
	e.PDQ[0] = RegionHash{Hash: r.Hash, Quality: r.Quality}
	for i, k := range centralKeeps {
		r := p.hashQuad(p.centralQuad(k))
		if r.Quality >= pdq.MinQuality {
			e.PDQ = append(e.PDQ, RegionHash{Hash: r.Hash, Region: Region(i + 1), Quality: r.Quality})
		}
	}
	e.PDQ = append(e.PDQ, p.enrollPatchHashes()...)
	e.Features = enrollFeatures(p, DefaultFeatures)
	return e, nil
}

// workingPlane builds the plane of img, or reports an empty image.
func workingPlane(img image.Image) (*plane, int, int, error) {
	b := img.Bounds()
	p, ok := planeFromImage(img)
	if !ok {
		return nil, 0, 0, fmt.Errorf("%w: empty or oversized image bounds %v", ErrCorrupt, b)
	}
	return p, b.Dx(), b.Dy(), nil
}

// phash computes goimagehash's PerceptionHash on the 128x128 area average
// of the plane (or the plane itself when smaller), sharing the luma pass
// with PDQ.
func (p *plane) phash() (hamming.Hash64, error) {
	tw, th := min(phashThumb, p.w), min(phashThumb, p.h)
	cells := make([]float32, tw*th)
	p.sampleGrid(0, 0, float64(p.w), float64(p.h), tw, th, cells)
	g := image.NewGray(image.Rect(0, 0, tw, th))
	for i, v := range cells {
		g.Pix[i] = uint8(min(max(v, 0), 255) + 0.5)
	}
	return phashGray(g)
}
