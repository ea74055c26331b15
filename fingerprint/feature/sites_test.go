package feature

import (
	"image"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/leakwatch/leakwatch/fixtures/imagegen"
	"github.com/leakwatch/leakwatch/fixtures/photos"
	"github.com/leakwatch/leakwatch/fixtures/transform"
)

// A feature read where an unrelated model puts it agrees with its
// enrolled descriptor rarely: the rate over photographs and generated
// images read under random similarities must stay below pSiteNull, which
// the site reading's NFA assumes, and no pair may come near the agreement
// a match needs.
func TestSiteReadingNullRate(t *testing.T) {
	if testing.Short() {
		t.Skip("extracts about forty images")
	}
	all := photos.All()
	half := len(all) / 2
	var sets []CaptureSet
	for _, p := range all[:half] {
		g := GrayFromImage(p.Image)
		sets = append(sets, Encode(Select(Extract(g, EnrollOptions()), 64, g.W, g.H), g.W, g.H))
	}
	ix := NewIndex(sets)
	var queries []image.Image
	for _, p := range all[half:] {
		queries = append(queries, p.Image)
	}
	for s := uint64(201); s <= 204; s++ {
		pl, _ := imagegen.Plate(s)
		queries = append(queries, imagegen.Face(s), pl, imagegen.Street(s), imagegen.Document(s))
	}
	r := rand.New(rand.NewPCG(7, 11))
	sites, agree, pairs := 0, 0, 0
	worst := 0.0
	o := DefaultSearchOptions()
	for _, img := range queries {
		g := GrayFromImage(img)
		if m := max(g.W, g.H); m > 512 {
			g = ResizeArea(g, g.W*512/m, g.H*512/m)
		}
		q := ExtractQuery(g, QueryOptions())
		for c := range sets {
			w, h := ix.size(uint32(c))
			for range 4 {
				span := 0.3 + 0.7*r.Float64()
				m := Similarity{Scale: span * float64(q.W) / w, Theta: 2 * math.Pi * r.Float64(), Mirrored: r.IntN(2) == 1}
				cx, cy := m.Apply(w/2, h/2)
				m.TX += float64(q.W)*r.Float64() - cx
				m.TY += float64(q.H)*r.Float64() - cy
				v := Verdict{Model: m}
				s, a, _ := ix.readSites(q, uint32(c), &v)
				sites += s
				agree += a
				if s >= minSites {
					pairs++
					worst = max(worst, float64(a)/float64(s))
				}
			}
		}
	}
	rate := float64(agree) / float64(max(sites, 1))
	t.Logf("%d sites read under random models, %d agree (%.4f); %d readings of %d or more sites, highest agreement %.2f", sites, agree, rate, pairs, minSites, worst)
	if sites < 10000 {
		t.Fatalf("only %d sites read", sites)
	}
	if rate > pSiteNull {
		t.Errorf("null agreement rate %.4f above the %.2f the site NFA assumes", rate, pSiteNull)
	}
	if worst >= o.MinSiteAgreement/2 {
		t.Errorf("an unrelated reading agreed at %.2f", worst)
	}
}

// A copy shown between two of the ladder's scales reads more like itself
// with the half-step levels: without them a feature is read up to half a
// step (a quarter of an octave) from its own scale.
func TestHalfStepLevelsReadCopiesBetweenScales(t *testing.T) {
	if testing.Short() {
		t.Skip("extracts the fixture photographs at three scales")
	}
	all := photos.All()
	var sets []CaptureSet
	for _, p := range all {
		g := GrayFromImage(p.Image)
		sets = append(sets, Encode(Select(Extract(g, EnrollOptions()), 64, g.W, g.H), g.W, g.H))
	}
	ix := NewIndex(sets)
	// read maps each feature of capture c read where v puts it to its
	// distance there.
	read := func(q *Query, c uint32, v *Verdict) map[uint32]int {
		out := map[uint32]int{}
		ix.eachSite(q, c, v, func(fp uint32, _ Point, d int) { out[fp] = d })
		return out
	}
	var with, without, n, found int
	for i, p := range all {
		for _, f := range []float64{0.6, 0.84, 1.19} {
			q := ExtractQuery(GrayFromImage(transform.Chain(transform.Resize(f), transform.JPEG(70))(p.Image)), QueryOptions())
			hits, _ := ix.Search(q, DefaultSearchOptions())
			for _, h := range hits {
				if h.Capture != i {
					continue
				}
				found++
				v := h.Verdict
				a := read(q, uint32(i), &v)
				ladder := *q
				ladder.half = nil
				for fp, d0 := range read(&ladder, uint32(i), &v) {
					if d, ok := a[fp]; ok {
						with, without, n = with+d, without+d0, n+1
					}
				}
			}
		}
	}
	if found < 2*len(all) || n < 100 {
		t.Fatalf("%d of %d copies found, %d sites read", found, 3*len(all), n)
	}
	mw, mo := float64(with)/float64(n), float64(without)/float64(n)
	t.Logf("%d copies, %d sites read: mean distance %.2f bits with the half steps, %.2f without", found, n, mw, mo)
	if mw > 0.75*mo {
		t.Errorf("mean site distance %.2f with the half-step levels, %.2f without", mw, mo)
	}
}
