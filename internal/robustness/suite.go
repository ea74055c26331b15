package robustness

import (
	"fmt"
	"image"
	"math/rand/v2"
	"slices"

	"github.com/leakwatch/leakwatch/fixtures/imagegen"
	"github.com/leakwatch/leakwatch/fixtures/photos"
	"github.com/leakwatch/leakwatch/fixtures/transform"
)

// Seeds. The match policy was tuned looking at TuningSeed only.
const (
	TuningSeed  uint64 = 1
	HeldOutSeed uint64 = 2
)

// Content kinds of enrolled captures. Checkpoint and booth captures are
// frames of fixed cameras, whose other frames are hard negatives.
var captureKinds = []string{"face", "plate", "vehicle", "street", "texture", "photo", "checkpoint", "booth"}

// Target is the recall the issue asks for on one transform (0: none).
type Target float64

// transformSpec is one query transform and its target.
type transformSpec struct {
	name   string
	target Target
	fn     transform.Func
	// extra marks transforms added here beyond transform.Suite, to show
	// how the policy generalises (crops no enrolled region lines up with).
	extra bool
	// group names the family group of an edit family ("rotation",
	// "overlay", ...); empty for the earlier suite.
	group string
	// heldout marks families kept out of tuning: look at their numbers
	// only to report them.
	heldout bool
}

// targetSuite is the recall asked of every transform of the earlier suite
// and its extras: the general matcher is to find at least 99% of them.
const targetSuite Target = 0.99

// floors are the recalls the earlier targets asked of the earlier suite,
// which the current matcher meets: TestHeldOutSeed holds them so that no
// change falls back below them while the targets are not yet met.
var floors = map[string]Target{
	"resize50": 0.99, "resize200": 0.99, "jpeg30": 0.99, "jpeg70": 0.99, "png": 0.99,
	"brightness+30": 0.99, "contrast1.3": 0.99, "colourshift": 0.99, "grayscale": 0.99,
	"blur1.5": 0.99, "noise8": 0.99, "caption": 0.99,
	"fliph": 0.99, "flipv": 0.99, "rot90": 0.99, "rot180": 0.99, "rot270": 0.99,
	"crop10": 0.95, "rot5": 0.95,
	"crop25": 0.80, "centrecrop50": 0.80, "collage40": 0.80, "screenshot": 0.80,
	// Edit families the local-feature route finds (BENCHMARKS.md): floors
	// well below what it measures, so that a regression shows.
	"rotkeep3-15": 0.6, "rotkeep15-45": 0.6, "rotkeep45-180": 0.6, "keystone": 0.6, "perspective": 0.6,
	"logodisc": 0.6, "memetext": 0.6, "textdiagonal": 0.6, "overlay-mix": 0.6, "stickers": 0.6,
	"mirror+crop": 0.3, "quarterturn+crop": 0.3, "flipv+crop": 0.3, "keepleft50-60": 0.3, "keeptop50-60": 0.3,
}

// transforms returns the query transforms for one capture: the fixture
// suite (seeded per capture, so collages and screenshots vary), the extra
// crops, and the edit families (fillers: the other pictures layouts show).
func transforms(seed uint64, extras, withFamilies bool, fillers []image.Image) []transformSpec {
	var out []transformSpec
	for _, n := range transform.Suite(seed) {
		out = append(out, transformSpec{name: n.Name, target: targetSuite, fn: n.Fn})
	}
	if extras {
		r := rand.New(rand.NewPCG(seed, 0xC209))
		side := func(lo, hi float64) float64 { return lo + (hi-lo)*r.Float64() }
		out = append(out,
			transformSpec{name: "crop15", target: targetSuite, fn: transform.Crop(0.15), extra: true},
			transformSpec{name: "crop20", target: targetSuite, fn: transform.Crop(0.20), extra: true},
			transformSpec{name: "rot3", target: targetSuite, fn: transform.RotateCrop(3), extra: true},
			transformSpec{name: "cropuneven", target: targetSuite, extra: true,
				fn: transform.CropSides(side(0.02, 0.12), side(0.02, 0.12), side(0.02, 0.12), side(0.02, 0.12))},
			// What a leak does more often than a clean crop: an uneven crop
			// of up to 25% per axis, then shrunk and recompressed.
			transformSpec{name: "cropuneven+jpeg", target: targetSuite, extra: true,
				fn: transform.Chain(unevenCrop(r, 0.25), transform.Resize(0.7), transform.JPEG(70))},
		)
	}
	if withFamilies {
		out = append(out, families(rand.New(rand.NewPCG(seed, 0xFA111E5)), fillers)...)
	}
	return out
}

// selected returns the specs whose name or group is in only (all when
// only is empty).
func selected(specs []transformSpec, only []string) []transformSpec {
	if len(only) == 0 {
		return specs
	}
	var out []transformSpec
	for _, s := range specs {
		if slices.Contains(only, s.name) || (s.group != "" && slices.Contains(only, s.group)) {
			out = append(out, s)
		}
	}
	return out
}

// unevenCrop cuts a random total of up to maxCut of each axis, split
// unevenly between its two sides.
func unevenCrop(r *rand.Rand, maxCut float64) transform.Func {
	cx, cy := maxCut*(0.5+0.5*r.Float64()), maxCut*(0.5+0.5*r.Float64())
	fx, fy := r.Float64(), r.Float64()
	return transform.CropSides(cx*fx, cy*fy, cx*(1-fx), cy*(1-fy))
}

// mix derives independent generator seeds from the run seed.
func mix(parts ...uint64) uint64 {
	var h uint64 = 0x9E3779B97F4A7C15
	for _, p := range parts {
		h ^= p + 0x9E3779B97F4A7C15 + h<<6 + h>>2
		h = (h ^ h>>30) * 0xBF58476D1CE4E5B9
		h = (h ^ h>>27) * 0x94D049BB133111EB
		h ^= h >> 31
	}
	return h
}

// Streams of seeds, so that captures, unrelated images and transforms
// never share a generator seed.
const (
	streamCapture uint64 = iota + 1
	streamUnrelated
	streamTransform
	streamFiller
)

// fillers returns the pictures that layouts (grids, mosaics, web pages)
// show around a capture: generated streets, vehicles, textures and
// documents that are never enrolled.
func fillers(seed uint64) []image.Image {
	kinds := []string{"street", "vehicle", "texture", "document", "street", "texture"}
	out := make([]image.Image, len(kinds))
	for i, k := range kinds {
		out[i] = generator(k, mix(seed, streamFiller, uint64(i)))()
	}
	return out
}

// item is one generated image.
type item struct {
	id, kind string
	seed     uint64 // generator seed; photos use their index
	img      func() image.Image
	// index is a capture's place among all captures of the run.
	index int
	// sameCamera is, for another frame of an enrolled capture's camera,
	// that capture's ID.
	sameCamera string
}

// CaptureKinds returns the content kinds of enrolled captures.
func CaptureKinds() []string { return slices.Clone(captureKinds) }

// captures returns n captures of each of kinds (all when empty) for the
// run seed. Photos are the embedded real photographs, at most n of them,
// in an order the seed picks.
func captures(seed uint64, n int, kinds []string) []item {
	var all []item
	for k, kind := range captureKinds {
		if kind == "photo" {
			all = append(all, photoItems(seed, n, 0)...)
			continue
		}
		for i := range n {
			s := mix(seed, streamCapture, uint64(k), uint64(i))
			all = append(all, item{id: fmt.Sprintf("%s-%03d", kind, i), kind: kind, seed: s, img: generator(kind, s)})
		}
	}
	// A capture keeps its place in the full list, which seeds its
	// transforms, whichever kinds are selected.
	var out []item
	for i, c := range all {
		c.index = i
		if len(kinds) == 0 || slices.Contains(kinds, c.kind) {
			out = append(out, c)
		}
	}
	return out
}

// photoItems returns photos [skip, skip+n) of a seed-shuffled order.
func photoItems(seed uint64, n, skip int) []item {
	all := photos.All()
	r := rand.New(rand.NewPCG(seed, 0xF070))
	r.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	var out []item
	for i := skip; i < len(all) && i < skip+n; i++ {
		p := all[i]
		out = append(out, item{id: "photo-" + p.Name, kind: "photo", img: func() image.Image { return p.Image }})
	}
	return out
}

// Unrelated content kinds; documents and near-flat scenes are never
// enrolled.
var unrelatedKinds = []string{"face", "plate", "vehicle", "street", "texture", "document", "lowdetail"}

// Kinds of hard negatives.
const (
	kindRetakeFace  = "hardneg-face"  // another photograph of an enrolled person
	kindRetakePlate = "hardneg-plate" // another capture of an enrolled plate
	// Another frame of an enrolled capture's fixed camera: same
	// background and overlay, another subject.
	kindTemplateCheckpoint = "template-checkpoint"
	kindTemplateBooth      = "template-booth"
)

// unrelated returns n images of each unrelated kind, the photos not
// enrolled, hardNeg other photographs of each enrolled face and plate, and
// hardNeg other frames of each enrolled camera capture.
func unrelated(seed uint64, n, enrolledPhotos, hardNeg int, caps []item) []item {
	var out []item
	for k, kind := range unrelatedKinds {
		for i := range n {
			s := mix(seed, streamUnrelated, uint64(k), uint64(i))
			out = append(out, item{id: fmt.Sprintf("unrelated-%s-%03d", kind, i), kind: kind, seed: s, img: generator(kind, s)})
		}
	}
	out = append(out, photoItems(seed, len(photos.All()), enrolledPhotos)...)
	for _, c := range caps {
		for k := 1; k <= hardNeg; k++ {
			switch c.kind {
			case "face":
				s, k := c.seed, k
				out = append(out, item{id: fmt.Sprintf("%s-retake%d", c.id, k), kind: kindRetakeFace, img: func() image.Image { return imagegen.FaceVariant(s, k) }})
			case "plate":
				s, k := c.seed, k
				out = append(out, item{id: fmt.Sprintf("%s-retake%d", c.id, k), kind: kindRetakePlate, img: func() image.Image {
					img, _ := imagegen.PlateVariant(s, k)
					return img
				}})
			case "checkpoint":
				s, k := c.seed, k
				out = append(out, item{id: fmt.Sprintf("%s-frame%d", c.id, k), kind: kindTemplateCheckpoint, sameCamera: c.id, img: func() image.Image {
					img, _ := imagegen.CheckpointFrame(s, k)
					return img
				}})
			case "booth":
				s, k := c.seed, k
				out = append(out, item{id: fmt.Sprintf("%s-frame%d", c.id, k), kind: kindTemplateBooth, sameCamera: c.id, img: func() image.Image { return imagegen.BoothFrame(s, k) }})
			}
		}
	}
	return out
}

// siblingFrame is the frame number of a camera capture's sibling: beyond
// the hard negatives' frames.
const (
	siblingFrame  = 1000
	siblingSuffix = "-sibling"
)

// siblings returns another frame of each camera capture's camera, enrolled
// beside it but never queried.
func siblings(caps []item) []item {
	var out []item
	for _, c := range caps {
		s := c.seed
		switch c.kind {
		case "checkpoint":
			out = append(out, item{id: c.id + siblingSuffix, kind: c.kind, img: func() image.Image {
				img, _ := imagegen.CheckpointFrame(s, siblingFrame)
				return img
			}})
		case "booth":
			out = append(out, item{id: c.id + siblingSuffix, kind: c.kind, img: func() image.Image { return imagegen.BoothFrame(s, siblingFrame) }})
		}
	}
	return out
}

// generator returns the image function for a generated kind.
func generator(kind string, s uint64) func() image.Image {
	switch kind {
	case "face":
		return func() image.Image { return imagegen.Face(s) }
	case "plate":
		return func() image.Image {
			img, _ := imagegen.Plate(s)
			return img
		}
	case "vehicle":
		return func() image.Image { return imagegen.Vehicle(s) }
	case "street":
		return func() image.Image { return imagegen.Street(s) }
	case "texture":
		return func() image.Image { return imagegen.Texture(s) }
	case "checkpoint":
		return func() image.Image {
			img, _ := imagegen.CheckpointFrame(s, 0)
			return img
		}
	case "booth":
		return func() image.Image { return imagegen.BoothFrame(s, 0) }
	case "document":
		return func() image.Image { return imagegen.Document(s) }
	default:
		return func() image.Image { return imagegen.LowDetail(s) }
	}
}
