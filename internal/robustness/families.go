package robustness

import (
	"image"
	"image/color"
	"math/rand/v2"
	"strings"

	"github.com/leakwatch/leakwatch/fixtures/transform"
)

// familyTarget is the recall asked of every edit family below.
const familyTarget Target = 0.95

// families returns the edit families that the earlier suite does not
// name, with parameters drawn from r (one draw per capture, so every
// capture gets its own angle, crop, layout...). fillers are the pictures
// shown around the capture in layouts; none of them is enrolled.
//
// About a third of the families are held out: the matcher is tuned
// looking at the others only, and the held-out ones show how it
// generalises to edits it was not tuned on (each has a tuned relative:
// posterise and fade among the tone filters, tiled text next to one
// diagonal line, ...; the screen photo has none).
func families(r *rand.Rand, fillers []image.Image) []transformSpec {
	u := func(lo, hi float64) float64 { return lo + (hi-lo)*r.Float64() }
	sign := func() float64 {
		if r.IntN(2) == 0 {
			return -1
		}
		return 1
	}
	fill := func() color.Color {
		switch r.IntN(4) {
		case 0:
			return color.Black
		case 1:
			return color.White
		case 2:
			return color.RGBA{128, 128, 128, 255}
		}
		return color.RGBA{uint8(r.IntN(256)), uint8(r.IntN(256)), uint8(r.IntN(256)), 255}
	}
	quarter := func() transform.Func {
		return []transform.Func{transform.Rotate90, transform.Rotate180, transform.Rotate270}[r.IntN(3)]
	}
	words := func(n int) string {
		ws := make([]string, n)
		for i := range ws {
			ws[i] = memeWords[r.IntN(len(memeWords))]
		}
		return strings.Join(ws, " ")
	}
	stamp := stampTexts[r.IntN(len(stampTexts))]
	// keepSide keeps keep of one axis at the given side (0 left, 1 right,
	// 2 top, 3 bottom) and trims up to other of each side of the other
	// axis.
	keepSide := func(side int, keep, other float64) transform.Func {
		o1, o2 := u(0, other), u(0, other)
		switch side {
		case 0:
			return transform.CropSides(0, o1, 1-keep, o2)
		case 1:
			return transform.CropSides(1-keep, o1, 0, o2)
		case 2:
			return transform.CropSides(o1, 0, o2, 1-keep)
		}
		return transform.CropSides(o1, 1-keep, o2, 0)
	}
	keystone := func() transform.Func {
		a := sign() * u(0.04, 0.10)
		if r.IntN(2) == 0 {
			return transform.Keystone(a, 0, fill())
		}
		return transform.Keystone(0, a, fill())
	}
	quad := func() transform.Quad {
		d := func() float64 { return u(0, 0.07) }
		return transform.Quad{{d(), d()}, {1 - d(), d()}, {1 - d(), 1 - d()}, {d(), 1 - d()}}
	}
	var out []transformSpec
	add := func(group, name string, heldout bool, fn transform.Func) {
		out = append(out, transformSpec{name: name, group: group, target: familyTarget, heldout: heldout, fn: fn})
	}

	add("rotation", "rotkeep3-15", false, transform.RotateKeep(sign()*u(3, 15), fill()))
	add("rotation", "rotkeep15-45", false, transform.RotateKeep(sign()*u(15, 45), fill()))
	add("rotation", "rotkeep45-180", true, transform.RotateKeep(sign()*u(45, 180), fill()))

	add("mirror", "mirror+crop", false, transform.Chain(transform.FlipH, unevenCrop(r, 0.25)))
	add("mirror", "mirror+quarterturn", false, transform.Chain(transform.FlipH, quarter()))
	add("mirror", "quarterturn+crop", false, transform.Chain(quarter(), unevenCrop(r, 0.25)))
	add("mirror", "flipv+crop", true, transform.Chain(transform.FlipV, unevenCrop(r, 0.25)))

	add("perspective", "keystone", false, keystone())
	add("perspective", "perspective", true, transform.Perspective(quad(), fill()))

	add("crop", "keepleft50-60", false, keepSide(0, u(0.5, 0.6), 0))
	add("crop", "keeptop50-60", false, keepSide(2, u(0.5, 0.6), 0))
	add("crop", "keepside50-65", true, keepSide(r.IntN(4), u(0.5, 0.65), 0.1))

	add("overlay", "stickers", false, transform.Stickers(u(0.1, 0.25), r.Uint64()))
	add("overlay", "logodisc", false, transform.LogoDisc(stamp[:2], nearEdge(r, 0.15, 0.85), nearEdge(r, 0.2, 0.8), u(0.12, 0.18), u(0.7, 1),
		color.RGBA{uint8(r.IntN(256)), uint8(r.IntN(256)), uint8(r.IntN(256)), 255}, color.RGBA{255, 255, 255, 255}))
	add("overlay", "memetext", false, transform.MemeText(words(2+r.IntN(3)), words(2+r.IntN(3))))
	add("overlay", "overlay-mix", true, transform.Chain(
		transform.Stickers(u(0.05, 0.1), r.Uint64()),
		transform.LogoDisc(stamp[:1], nearEdge(r, 0.12, 0.88), nearEdge(r, 0.15, 0.85), u(0.08, 0.12), 1, color.RGBA{20, 20, 20, 255}, color.RGBA{250, 200, 30, 255}),
		transform.MemeText("", words(2+r.IntN(2)))))

	add("text", "textdiagonal", false, transform.DiagonalText(stamp, sign()*u(20, 45), u(0.4, 0.6), false))
	add("text", "texttiled", true, transform.DiagonalText(stamp, sign()*u(15, 45), u(0.3, 0.5), true))

	add("tone", "vignette", false, transform.Vignette(u(0.4, 0.7)))
	add("tone", "sepia", false, transform.Sepia(u(0.7, 1)))
	add("tone", "gamma", false, transform.Gamma([]float64{u(0.55, 0.7), u(1.5, 1.9)}[r.IntN(2)]))
	add("tone", "saturation", false, transform.Saturation([]float64{u(0.2, 0.5), u(1.5, 2)}[r.IntN(2)]))
	add("tone", "temperature", false, transform.Temperature(sign()*u(0.08, 0.15)))
	add("tone", "posterise", true, transform.Posterise(4+r.IntN(3)))
	add("tone", "fade", true, transform.Fade(u(0.3, 0.6), [3]uint8{uint8(r.IntN(120)), uint8(r.IntN(120)), uint8(r.IntN(120))}))

	add("screen", "screenphoto", true, transform.ScreenPhoto(r.Uint64()))

	add("layout", "grid3x3", false, transform.Grid(fillers, 3, 3, u(0.28, 0.33), r.Uint64()))
	add("layout", "mosaic", false, transform.Mosaic(fillers, u(0.25, 0.5), r.Uint64()))
	add("layout", "socialpost", false, transform.SocialPost(u(0.35, 0.7), r.Uint64()))
	add("layout", "webpage", true, transform.WebPage(fillers, u(0.25, 0.5), r.Uint64()))

	add("combo", "rot7+jpeg70+resize0.6", false, transform.Chain(transform.RotateKeep(7, fill()), transform.Resize(0.6), transform.JPEG(70)))
	add("combo", "stickers+rot+jpeg", false, transform.Chain(transform.Stickers(0.15, r.Uint64()),
		transform.RotateKeep(sign()*u(3, 10), fill()), transform.Resize(0.8), transform.JPEG(75)))
	add("combo", "mirror+tone+crop+jpeg", true, transform.Chain(transform.FlipH, transform.Gamma(u(0.7, 1.4)),
		transform.Saturation(u(0.6, 1.4)), unevenCrop(r, 0.2), transform.JPEG(60)))

	// Last, so that the families above keep their random draws.
	stretch := func() transform.Func {
		f := u(0.7, 0.85)
		if r.IntN(2) == 0 {
			return transform.Stretch(f, 1)
		}
		return transform.Stretch(1, f)
	}
	add("aspect", "stretch+crop", false, transform.Chain(stretch(), unevenCrop(r, 0.2)))
	add("aspect", "stretch+rot+crop", true, transform.Chain(stretch(), transform.RotateKeep(sign()*u(5, 30), fill()), unevenCrop(r, 0.15)))
	return out
}

// nearEdge returns a position near one end of an axis: lo or hi, moved
// inwards by up to 0.05.
func nearEdge(r *rand.Rand, lo, hi float64) float64 {
	if r.IntN(2) == 0 {
		return lo + 0.05*r.Float64()
	}
	return hi - 0.05*r.Float64()
}

var memeWords = strings.Fields(`WHEN THE DUMP HITS NOBODY EXPECTS FRESH LEAK ME
BORDER GUARDS BE LIKE ONE DOES NOT SIMPLY ARCHIVE FULL SET`)

var stampTexts = []string{"LEAKBASE", "DUMPHUB.example", "MIRRORZONE", "PASTE HUB", "ARCHIVE PIT"}
