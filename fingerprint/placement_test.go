package fingerprint

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"slices"
	"testing"

	"github.com/leakwatch/leakwatch/fixtures/imagegen"
	"github.com/leakwatch/leakwatch/fixtures/photos"
	"github.com/leakwatch/leakwatch/fixtures/transform"
)

// TestHashPlacementReadsEveryVariant turns and mirrors a photograph in
// each of the 8 ways the whole-image hash finds, and crops it to one of
// the enrolled central regions: the placement each hash match implies
// must put the capture's features where the copy shows them.
func TestHashPlacementReadsEveryVariant(t *testing.T) {
	p := photoNamed(t, "lake-hills")
	m := matcherOf(t, p)
	transpose := func(img image.Image) image.Image { return transform.FlipH(transform.Rotate90(img)) }
	keep, _ := regionKeep(3)
	for _, tc := range []struct {
		name string
		fn   func(image.Image) image.Image
	}{
		{"original", func(i image.Image) image.Image { return i }},
		{"rotate90", transform.Rotate90},
		{"rotate180", transform.Rotate180},
		{"rotate270", transform.Rotate270},
		{"fliph", transform.FlipH},
		{"flipv", transform.FlipV},
		{"transpose", transpose},
		{"antitranspose", func(i image.Image) image.Image { return transform.Rotate180(transpose(i)) }},
		{"region", transform.CentreCrop(keep)},
		{"straightened 3", transform.RotateCrop(3)},
		{"straightened -5", transform.RotateCrop(-5)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fp, err := Compute(transform.JPEG(85)(tc.fn(p.Image)))
			if err != nil {
				t.Fatal(err)
			}
			ms, err := m.Match(fp)
			if err != nil {
				t.Fatal(err)
			}
			if len(ms) != 1 || ms[0].Algorithm != AlgoPDQ {
				t.Fatalf("matches %+v, want one hash match", ms)
			}
			mt := ms[0]
			t.Logf("%s (%s, region %d, turned %.0f): %d of %d features read as enrolled", mt.Variant, mt.Via, mt.Region, mt.Rotation, mt.SitesAgree, mt.SitesRead)
			if mt.SitesRead < 16 || float64(mt.SitesAgree) < 0.9*float64(mt.SitesRead) {
				t.Errorf("%s (%s, region %d): %d of %d features read as enrolled", mt.Variant, mt.Via, mt.Region, mt.SitesAgree, mt.SitesRead)
			}
		})
	}
}

// TestHashMatchesOfLookalikesAreRefused enrolls generated plates that are
// pairwise within PDQ's whole-image radius (one car body, other plate
// text): each, queried as a JPEG file is by match, must match itself and
// not the other, and so must a resized, recompressed copy of each.
func TestHashMatchesOfLookalikesAreRefused(t *testing.T) {
	// Seeds of plates found to lie within the radius of each other; the
	// test checks that they still do.
	pairs := [][2]uint64{{117, 202}, {177, 187}, {71, 241}, {96, 235}}
	seed := func(i uint64) uint64 { return i*7919 + 13 }
	b := NewBank()
	imgs := map[uint64]image.Image{}
	hashes := map[uint64]Enrollment{}
	for _, pr := range pairs {
		for _, i := range pr {
			img, _ := imagegen.Plate(seed(i))
			imgs[i] = transform.JPEG(92)(img)
			e, err := EnrollImage(imgs[i])
			if err != nil {
				t.Fatal(err)
			}
			e.Capture = Capture{ID: string(rune('a' + len(hashes)))}
			hashes[i] = e
			if err := b.Add(e); err != nil {
				t.Fatal(err)
			}
		}
		if d := hashes[pr[0]].PDQ[0].Hash.Distance(hashes[pr[1]].PDQ[0].Hash); d > DefaultMatchOptions().PDQRadius {
			t.Fatalf("plates %d and %d are %d bits apart: the generator changed, pick new pairs", pr[0], pr[1], d)
		}
	}
	b.BuildIndex()
	m := NewMatcher(b, DefaultMatchOptions())
	for i, img := range imgs {
		for _, q := range []struct {
			name string
			img  image.Image
		}{{"itself", img}, {"copy", transform.JPEG(70)(transform.Resize(0.6)(img))}} {
			var buf bytes.Buffer
			if err := jpeg.Encode(&buf, q.img, &jpeg.Options{Quality: 92}); err != nil {
				t.Fatal(err)
			}
			d, err := DecodeContext(context.Background(), &buf, DefaultLimits(), ForQuery())
			if err != nil {
				t.Fatal(err)
			}
			fp, err := Compute(d.Image, SourceSize(d.Width, d.Height))
			if err != nil {
				t.Fatal(err)
			}
			ms, st, err := m.MatchStats(fp)
			if err != nil {
				t.Fatal(err)
			}
			want := hashes[i].Capture.ID
			if len(ms) != 1 || ms[0].CaptureID != want || ms[0].Algorithm != AlgoPDQ {
				t.Errorf("plate %d, %s: matches %+v, want only %s by its hash", i, q.name, ms, want)
			}
			// A cached fingerprint has no pixels to read: the refusals
			// travel with it.
			cached := fp
			cached.local = nil
			cached.Refused = st.Refused
			if ms, err := m.Match(cached); err != nil || len(ms) != 1 || ms[0].CaptureID != want {
				t.Errorf("plate %d, %s, cached with refusals %v: matches %+v, %v", i, q.name, st.Refused, ms, err)
			}
		}
	}
}

// matcherOf is the default matcher over a bank of p alone.
func matcherOf(t *testing.T, p photos.Photo) *BankMatcher {
	t.Helper()
	return matcherOver(t, []string{p.Name}, []image.Image{p.Image})
}

// matcherOver is the default matcher over a bank of imgs, enrolled in
// order with the capture IDs ids.
func matcherOver(t *testing.T, ids []string, imgs []image.Image) *BankMatcher {
	t.Helper()
	b := NewBank()
	for i, img := range imgs {
		e, err := EnrollImage(img)
		if err != nil {
			t.Fatal(err)
		}
		e.Capture = Capture{ID: ids[i]}
		if err := b.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	b.BuildIndex()
	return NewMatcher(b, DefaultMatchOptions())
}

func photoNamed(t *testing.T, name string) photos.Photo {
	t.Helper()
	for _, p := range photos.All() {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("no fixture photograph %q", name)
	return photos.Photo{}
}

// TestHashReadingTriesEveryPlacement: a capture whose closest hash match
// places it wrongly (here, turned half round) is kept at another
// placement its hash matches offered, and refused when none reads.
func TestHashReadingTriesEveryPlacement(t *testing.T) {
	p := photoNamed(t, "lake-hills")
	m := matcherOf(t, p)
	fp, err := Compute(p.Image)
	if err != nil {
		t.Fatal(err)
	}
	wrong := Match{Algorithm: AlgoPDQ, Variant: "rotate180", Distance: 5}
	right := Match{Algorithm: AlgoPDQ, Variant: "original", Distance: 10}
	for _, tc := range []struct {
		name    string
		offered []Match
		kept    bool
	}{
		{"another placement reads", []Match{wrong, right}, true},
		{"none reads", []Match{wrong}, false},
		// A placement that reads too few sites cannot overturn one that
		// refused.
		{"too few sites", []Match{wrong, {Algorithm: AlgoPDQ, Variant: "original", Via: "window", Region: 1, Rect: &[4]int{0, 0, 24, 24}, Distance: 12}}, false},
	} {
		best := map[uint32]Match{0: wrong}
		refused, _, _ := m.readHashMatches(fp.local, best, map[uint32][]Match{0: tc.offered}, maxHashReads)
		got, kept := best[0]
		if kept != tc.kept || (len(refused) == 0) != tc.kept {
			t.Errorf("%s: kept %v, refused %v; want kept %v", tc.name, kept, refused, tc.kept)
		}
		if kept && (got.Variant != "original" || got.SitesAgree < 32) {
			t.Errorf("%s: kept %+v", tc.name, got)
		}
	}
}

// TestHashReadingIsBounded: past its budget of readings, a query keeps its
// remaining hash matches unread and counts them, closest read first.
func TestHashReadingIsBounded(t *testing.T) {
	p := photoNamed(t, "lake-hills")
	names := []string{"lake-hills", "orchard-truck", "power-lines"}
	var imgs []image.Image
	for _, name := range names {
		imgs = append(imgs, photoNamed(t, name).Image)
	}
	m := matcherOver(t, names, imgs)
	fp, err := Compute(p.Image)
	if err != nil {
		t.Fatal(err)
	}
	wrong := func(d int) Match { return Match{Algorithm: AlgoPDQ, Variant: "rotate180", Distance: d} }
	best := map[uint32]Match{0: wrong(9), 1: wrong(3), 2: wrong(6)}
	refused, unread, _ := m.readHashMatches(fp.local, best, map[uint32][]Match{}, 2)
	if unread != 1 || !slices.Equal(refused, []uint32{1, 2}) {
		t.Errorf("budget 2: refused %v, %d unread; want the two closest refused and one unread", refused, unread)
	}
	if _, kept := best[0]; !kept {
		t.Error("the match left unread was dropped")
	}
}

// A feature match lies where another capture's hash match was read at
// least as well: the hash chose the other capture for that part of the
// query.
func TestExplainedByAHashMatch(t *testing.T) {
	reads := []hashRead{{ci: 1, share: 1, box: [4]float64{0, 0, 50, 40}}}
	cases := []struct {
		name string
		mt   Match
		want bool
	}{
		{"same place, read as well", Match{Rect: &[4]int{0, 0, 100, 80}, SitesRead: 20, SitesAgree: 20}, true},
		{"same place, read worse", Match{Rect: &[4]int{0, 0, 100, 80}, SitesRead: 20, SitesAgree: 15}, true},
		{"same place, not read", Match{Rect: &[4]int{0, 0, 100, 80}}, true},
		{"elsewhere", Match{Rect: &[4]int{100, 80, 200, 160}, SitesRead: 20, SitesAgree: 20}, false},
		{"a small part of it", Match{Rect: &[4]int{0, 0, 40, 30}, SitesRead: 20, SitesAgree: 20}, false},
		{"no rect", Match{SitesRead: 20, SitesAgree: 20}, false},
	}
	for _, c := range cases {
		if got := explained(c.mt, reads, 2); got != c.want {
			t.Errorf("%s: explained = %v, want %v", c.name, got, c.want)
		}
	}
	// A hash match read worse than the feature match explains nothing.
	worse := []hashRead{{ci: 1, share: 0.8, box: [4]float64{0, 0, 50, 40}}}
	if explained(Match{Rect: &[4]int{0, 0, 100, 80}, SitesRead: 20, SitesAgree: 19}, worse, 2) {
		t.Error("a hash match read at 0.80 explained a feature match read at 0.95")
	}
	if explained(Match{Rect: &[4]int{0, 0, 100, 80}}, worse, 2) {
		t.Error("a hash match read at 0.80 explained an unread feature match")
	}
}

// A thumbnail of a generated plate reads as well as another plate on
// the same car body (no enrolled feature tells them apart at 96 pixels),
// but its whole-image hash matches its own capture only: only that one
// is reported.
func TestThumbnailMatchesItsOwnPlateOnly(t *testing.T) {
	var ids []string
	var imgs []image.Image
	for s := uint64(1); s <= 10; s++ {
		img, _ := imagegen.Plate(s)
		ids, imgs = append(ids, fmt.Sprintf("plate-%d", s)), append(imgs, img)
	}
	m := matcherOver(t, ids, imgs)
	for _, side := range []float64{64, 96, 128} {
		for i, img := range imgs {
			id := ids[i]
			bd := img.Bounds()
			fp, err := Compute(transform.Resize(side / float64(max(bd.Dx(), bd.Dy())))(img))
			if err != nil {
				t.Fatal(err)
			}
			ms, err := m.Match(fp)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, mt := range ms {
				if mt.CaptureID == id {
					found = true
					continue
				}
				t.Errorf("%s at %v pixels also matched %s (via %q, %d inliers, %d of %d sites)", id, side, mt.CaptureID, mt.Via, mt.Inliers, mt.SitesAgree, mt.SitesRead)
			}
			if !found {
				t.Errorf("%s at %v pixels not found", id, side)
			}
		}
	}
}
