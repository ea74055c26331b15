package feature

import (
	"image"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/leakwatch/leakwatch/fixtures/imagegen"
	"github.com/leakwatch/leakwatch/fixtures/photos"
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
