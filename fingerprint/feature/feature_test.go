package feature_test

import (
	"crypto/sha256"
	"fmt"
	"image"
	"image/color"
	"math"
	"testing"

	"github.com/leakwatch/leakwatch/fingerprint/feature"
	"github.com/leakwatch/leakwatch/fixtures/imagegen"
	"github.com/leakwatch/leakwatch/fixtures/photos"
	"github.com/leakwatch/leakwatch/fixtures/transform"
)

func enrollAll(t *testing.T) ([]photos.Photo, *feature.Index) {
	t.Helper()
	all := photos.All()
	var sets []feature.CaptureSet
	for _, p := range all {
		g := feature.GrayFromImage(p.Image)
		kps := feature.Select(feature.Extract(g, feature.EnrollOptions()), 64, g.W, g.H)
		if len(kps) < 16 {
			t.Fatalf("%s: %d features", p.Name, len(kps))
		}
		sets = append(sets, feature.Encode(kps, g.W, g.H))
	}
	return all, feature.NewIndex(sets)
}

func search(ix *feature.Index, img image.Image) []feature.Hit {
	g := feature.GrayFromImage(img)
	hits, _ := ix.Search(feature.ExtractQuery(g, feature.QueryOptions()), feature.DefaultSearchOptions())
	return hits
}

// Edits no hash route inverts: any rotation, mirror with crops, a quarter
// turn with a crop, half or a third of the picture, a small copy on a
// page, a picture squeezed to another aspect ratio and cropped. Each must
// find its own capture and nothing else.
func TestSearchFindsEditedCopies(t *testing.T) {
	all, ix := enrollAll(t)
	grey := color.RGBA{128, 128, 128, 255}
	edits := []struct {
		name string
		fn   transform.Func
		want float64 // share of the photographs found (measured, less a margin)
	}{
		{"rotate 17", transform.Rotate(17, grey), 0.8},
		{"rotate 133", transform.Rotate(133, color.Black), 0.8},
		{"mirror+crop", transform.Chain(transform.FlipH, transform.CropSides(0.15, 0.05, 0.02, 0.1)), 0.85},
		{"mirror+rotate 40", transform.Chain(transform.FlipH, transform.Rotate(40, grey)), 0.8},
		{"quarter turn+crop", transform.Chain(transform.Rotate90, transform.CropSides(0.1, 0.15, 0.05, 0.1)), 0.85},
		{"left 60%", transform.CropSides(0, 0, 0.4, 0), 0.7},
		{"page at 30%", transform.Collage(nil, 0.3, 3), 0.8},
		{"grid 3x3", transform.Grid(nil, 3, 3, 0.3, 5), 0.85},
		// The feature route alone found 17 and 9 of 24; 11 and 7 with a
		// similarity as the only model and a fixed position tolerance
		// in the NFA.
		{"squeezed to 3:4, then cropped", transform.Chain(transform.Stretch(0.75, 1), transform.CropSides(0.1, 0.05, 0.15, 0.1)), 0.6},
		{"a third of the picture", transform.CropSides(0.2, 0.3, 0.25, 0.1), 0.3},
	}
	for _, e := range edits {
		t.Run(e.name, func(t *testing.T) {
			found := 0
			for i, p := range all {
				for _, h := range search(ix, e.fn(p.Image)) {
					if h.Capture != i {
						t.Errorf("%s matched %s (%d inliers, log NFA %.1f)", p.Name, all[h.Capture].Name, h.Verdict.Inliers, h.Verdict.LogNFA)
						continue
					}
					found++
				}
			}
			if float64(found) < e.want*float64(len(all)) {
				t.Errorf("found %d of %d, want >= %.0f%%", found, len(all), 100*e.want)
			}
		})
	}
}

// The model recovered for a known edit is that edit.
func TestSearchRecoversTheModel(t *testing.T) {
	all, ix := enrollAll(t)
	q := transform.Chain(transform.Resize(0.6), transform.FlipH)(all[0].Image)
	hits := search(ix, q)
	if len(hits) == 0 || hits[0].Capture != 0 {
		t.Fatalf("hits %+v", hits)
	}
	m := hits[0].Verdict.Model
	if !m.Mirrored {
		t.Errorf("mirror not recognised: %+v", m)
	}
	// The capture is enrolled on a 512-pixel grid; the query is 0.6 of
	// the original.
	b := all[0].Image.Bounds()
	want := 0.6 * float64(max(b.Dx(), b.Dy())) / 512
	if math.Abs(m.Scale/want-1) > 0.05 {
		t.Errorf("scale %.3f, want %.3f", m.Scale, want)
	}
}

func TestUnrelatedImagesDoNotMatch(t *testing.T) {
	all, ix := enrollAll(t)
	// Each photograph against a bank of the others.
	for i, p := range all {
		for _, h := range search(ix, transform.Rotate(23, color.White)(p.Image)) {
			if h.Capture != i {
				t.Errorf("%s matched %s", p.Name, all[h.Capture].Name)
			}
		}
	}
	flat := image.NewGray(image.Rect(0, 0, 300, 200))
	if hits := search(ix, flat); len(hits) != 0 {
		t.Errorf("a flat image matched %+v", hits)
	}
}

// The descriptor of a mirrored image at the mirrored keypoint is the
// original keypoint's Mirror descriptor.
func TestMirrorDescriptor(t *testing.T) {
	p := photos.All()[1]
	g := feature.GrayFromImage(p.Image)
	m := feature.GrayFromImage(transform.FlipH(p.Image))
	o := feature.QueryOptions()
	a, b := feature.Extract(g, o), feature.Extract(m, o)
	matched, close := 0, 0
	for _, k := range a {
		for _, l := range b {
			if math.Abs(float64(l.X)-(float64(g.W)-float64(k.X))) < 1.01*float64(k.Scale) && math.Abs(float64(l.Y-k.Y)) < 0.01 && l.Scale == k.Scale {
				matched++
				if k.Mirror.Distance(l.Desc) <= 24 {
					close++
				}
				break
			}
		}
	}
	if matched < 100 || close*10 < matched*8 {
		t.Errorf("%d keypoints found again in the mirror image, %d with matching mirror descriptors", matched, close)
	}
}

func TestExtractBoundsHostileInput(t *testing.T) {
	// Noise is all corners: the extraction keeps its budget.
	g := feature.NewGray(800, 600)
	s := uint32(1)
	for i := range g.Pix {
		s = s*1664525 + 1013904223
		g.Pix[i] = uint8(s >> 24)
	}
	o := feature.QueryOptions()
	if n := len(feature.Extract(g, o)); n > o.MaxFeatures+o.Levels || n == 0 {
		t.Errorf("%d keypoints from noise, budget %d", n, o.MaxFeatures)
	}
	for _, sz := range [][2]int{{1, 1}, {40, 3000}, {5, 5}} {
		if n := len(feature.Extract(feature.NewGray(sz[0], sz[1]), o)); n != 0 {
			t.Errorf("%v: %d keypoints from a flat image", sz, n)
		}
	}
}

// The comparison pattern and key are part of the bank format: enrolled
// descriptors mean nothing if they change.
func TestPatternIsFixed(t *testing.T) {
	got := fmt.Sprintf("%x", sha256.Sum256([]byte(feature.PatternString())))
	const want = "568a3e575fed1609a9280f904e71020ab3da50974c388d9f77ee1a0d8199cb15"
	if got != want {
		t.Errorf("pattern digest %s, want %s: a changed pattern needs a new bank format version", got, want)
	}
}

// A copy in perspective is found, and where the similarity leaves enough
// of its corners out, a homography explains them and the model says so.
func TestSearchFitsPerspective(t *testing.T) {
	all, ix := enrollAll(t)
	q := transform.Quad{{0.08, 0.04}, {0.94, 0}, {1, 1}, {0, 0.94}}
	warped, found := 0, 0
	for i, p := range all {
		for _, h := range search(ix, transform.Perspective(q, color.Black)(p.Image)) {
			if h.Capture != i {
				t.Errorf("%s matched %s", p.Name, all[h.Capture].Name)
				continue
			}
			found++
			// A projective term: an affine map (also a Warp) does not
			// explain a perspective view.
			if w := h.Verdict.Warp; w != nil && (w[6] != 0 || w[7] != 0) {
				warped++
			}
		}
	}
	if found < len(all)*8/10 || warped*5 < found {
		t.Errorf("found %d of %d, %d of them with a homography", found, len(all), warped)
	}
}

// A capture shown small in a mosaic of other pictures keeps too few
// detected corners for a model, yet reads as enrolled where one puts it:
// the captures with the most correspondences are read even when their
// detected inliers gave no plausible model (measured: 31 of 48 found,
// 27 without that reading), and no query matches another capture.
func TestSearchReadsSmallCopies(t *testing.T) {
	var imgs []image.Image
	for s := uint64(1); s <= 6; s++ {
		pl, _ := imagegen.Plate(s)
		imgs = append(imgs, imagegen.Face(s), pl, imagegen.Vehicle(s), imagegen.Street(s+50))
	}
	plane := func(img image.Image) *feature.Gray {
		g := feature.GrayFromImage(img)
		if m := max(g.W, g.H); m > 512 {
			g = feature.ResizeArea(g, g.W*512/m, g.H*512/m)
		}
		return g
	}
	var sets []feature.CaptureSet
	for _, img := range imgs {
		g := plane(img)
		sets = append(sets, feature.Encode(feature.Select(feature.Extract(g, feature.EnrollOptions()), 64, g.W, g.H), g.W, g.H))
	}
	ix := feature.NewIndex(sets)
	others := []image.Image{imagegen.Street(1), imagegen.Street(2), imagegen.Street(3)}
	found := 0
	for _, frac := range []float64{0.25, 0.3} {
		mosaic := transform.Mosaic(others, frac, 9)
		for i, img := range imgs {
			// As match describes a query: its 512-pixel working plane.
			hits, _ := ix.Search(feature.ExtractQuery(plane(mosaic(img)), feature.QueryOptions()), feature.DefaultSearchOptions())
			for _, h := range hits {
				if h.Capture != i {
					t.Errorf("mosaic %.2f of capture %d matched capture %d", frac, i, h.Capture)
					continue
				}
				found++
			}
		}
	}
	if found < 30 {
		t.Errorf("found %d of %d small copies, want >= 30", found, 2*len(imgs))
	}
}

// A photograph of a screen showing the picture loses many of its keys
// (blur, moire, a colour cast), so the index finds too few of its
// correspondences; compared exhaustively, such a copy shows a fair share
// of inliers and reads as enrolled over most of the picture, though at
// less than the reading rule alone asks. Those copies are found, and
// nothing else is.
func TestSearchFindsScreenPhotos(t *testing.T) {
	all, ix := enrollAll(t)
	plane := func(img image.Image) *feature.Gray {
		g := feature.GrayFromImage(img)
		if m := max(g.W, g.H); m > 512 {
			g = feature.ResizeArea(g, g.W*512/m, g.H*512/m)
		}
		return g
	}
	found, byShare := 0, 0
	for i, p := range all {
		q := transform.ScreenPhoto(uint64(100 + i))(p.Image)
		hits, _ := ix.Search(feature.ExtractQuery(plane(q), feature.QueryOptions()), feature.DefaultSearchOptions())
		for _, h := range hits {
			if h.Capture != i {
				t.Errorf("%s matched %s", p.Name, all[h.Capture].Name)
				continue
			}
			found++
			v := h.Verdict
			if v.Sites > 0 && float64(v.Agree) < feature.DefaultSearchOptions().MinSiteAgreement*float64(v.Sites) {
				byShare++
			}
		}
	}
	t.Logf("found %d of %d screen photos, %d by the share of an exhaustive comparison", found, len(all), byShare)
	if byShare == 0 {
		t.Error("no screen photo was decided by the share of an exhaustive comparison")
	}
	if found*10 < len(all)*6 {
		t.Errorf("found %d of %d screen photos, want >= 60%%", found, len(all))
	}
}

// TestSearchCountsUnreadCaptures degrades each photograph until the index's
// model fails and captures are read instead: with one read allowed, the
// plausible captures left over are counted; with a budget larger than the
// bank, none are.
func TestSearchCountsUnreadCaptures(t *testing.T) {
	all, ix := enrollAll(t)
	unread := map[int]int{}
	for _, maxRead := range []int{1, len(all) + 1} {
		o := feature.DefaultSearchOptions()
		o.MaxRead = maxRead
		for i, p := range all {
			q := transform.Chain(transform.Stickers(0.15, uint64(i)), transform.RotateKeep(7, color.Black), transform.Resize(0.8), transform.JPEG(75))(p.Image)
			_, st := ix.Search(feature.ExtractQuery(feature.GrayFromImage(q), feature.QueryOptions()), o)
			if st.Read > maxRead {
				t.Errorf("%s: %d captures read, budget %d", p.Name, st.Read, maxRead)
			}
			unread[maxRead] += st.Unread
		}
	}
	if unread[1] == 0 || unread[len(all)+1] != 0 {
		t.Errorf("captures left unread: %d with one read allowed, %d with %d", unread[1], unread[len(all)+1], len(all)+1)
	}
}
