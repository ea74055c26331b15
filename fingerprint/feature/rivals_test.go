package feature

import (
	"slices"
	"testing"

	"github.com/leakwatch/leakwatch/fixtures/photos"
	"github.com/leakwatch/leakwatch/fixtures/transform"
)

func TestRivals(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b [4]float64
		want bool
	}{
		{"same outline", [4]float64{0, 0, 100, 100}, [4]float64{0, 0, 100, 100}, true},
		{"a look-alike at 0.9 of the scale", [4]float64{10, 10, 110, 110}, [4]float64{15, 15, 105, 105}, true},
		{"a thumbnail inside a copy", [4]float64{0, 0, 200, 200}, [4]float64{20, 20, 120, 120}, false},
		// Inside, at 0.75 of the side: the intersection over union is
		// 0.56, but the sizes differ too much.
		{"a large inset inside a copy", [4]float64{0, 0, 200, 200}, [4]float64{20, 20, 170, 170}, false},
		{"a look-alike at 0.85 of the size, inside", [4]float64{0, 0, 200, 200}, [4]float64{10, 10, 180, 180}, true},
		{"two cells of a collage", [4]float64{0, 0, 100, 100}, [4]float64{100, 0, 200, 100}, false},
		{"shifted by a third", [4]float64{0, 0, 90, 100}, [4]float64{30, 0, 120, 100}, true},
		{"shifted by half", [4]float64{0, 0, 100, 100}, [4]float64{50, 0, 150, 100}, false},
		{"an empty outline", [4]float64{0, 0, 0, 100}, [4]float64{0, 0, 100, 100}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := rivals(tc.a, tc.b); got != tc.want {
				t.Errorf("rivals(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.want)
			}
			if got := rivals(tc.b, tc.a); got != tc.want {
				t.Errorf("not symmetric for %v, %v", tc.a, tc.b)
			}
		})
	}
	// Outside the query counts for nothing.
	if a, b := clipRect([4]float64{-100, 0, 10, 100}, 300, 300), clipRect([4]float64{-100, 0, -10, 100}, 300, 300); rivals(a, b) {
		t.Errorf("outlines meeting only outside the query are rivals: %v, %v", a, b)
	}
	// A copy overflowing the query, clipped to it, and a picture inside
	// it covering half the query: no rivals.
	if a, b := clipRect([4]float64{-200, -200, 600, 600}, 300, 300), clipRect([4]float64{40, 40, 260, 260}, 300, 300); rivals(a, b) {
		t.Errorf("an inset over half of a clipped copy is a rival: %v, %v", a, b)
	}
}

func TestSettle(t *testing.T) {
	copyAt := [4]float64{0, 0, 100, 100}
	lookalike := [4]float64{10, 10, 100, 100} // about one size on one spot, not the same place
	sibling := [4]float64{1, 0, 100, 101}     // the same place
	inset := [4]float64{10, 10, 50, 50}
	beside := [4]float64{100, 0, 200, 100}
	// at: decided by the index (read only to settle) or by its reading.
	at := func(r [4]float64, sites, agree int, read bool) rival {
		return rival{outline: r, rect: r, sites: sites, agree: agree, read: read}
	}
	for _, tc := range []struct {
		name string
		rs   []rival
		want []bool
	}{
		{"a look-alike reading clearly worse is dropped",
			[]rival{at(lookalike, 58, 35, false), at(copyAt, 56, 56, true)}, []bool{false, true}},
		{"within the tie both stay (the same picture enrolled twice)",
			[]rival{at(copyAt, 50, 49, true), at(lookalike, 50, 48, true)}, []bool{true, true}},
		{"a reading of a few sites does not drop a larger one",
			[]rival{at(copyAt, 11, 11, false), at(lookalike, 40, 30, false)}, []bool{true, true}},
		// A look-alike face over the face of a booth frame whose copy is
		// in perspective: it agrees better, over fewer features.
		{"a smaller reading agreeing better does not drop a larger one",
			[]rival{at(copyAt, 54, 43, true), at(lookalike, 47, 40, true)}, []bool{true, true}},
		// Two frames of one camera, both decided by reading, at the
		// same place: the better reading wins whatever the counts.
		{"a sibling frame read at the same place",
			[]rival{at(sibling, 45, 40, true), at(copyAt, 30, 30, true)}, []bool{false, true}},
		{"the same counts, one decided by the index",
			[]rival{at(sibling, 45, 40, false), at(copyAt, 30, 30, true)}, []bool{true, true}},
		{"the same counts, not at the same place",
			[]rival{at(lookalike, 45, 40, true), at(copyAt, 30, 30, true)}, []bool{true, true}},
		// The copy around it reads better and has more features
		// agreeing: only the geometry keeps the inset.
		{"a picture in a picture: both stay",
			[]rival{at(copyAt, 60, 60, true), at(inset, 30, 24, true)}, []bool{true, true}},
		// Two frames at the same place, the better decided by the
		// index: the same-place rule needs both read, and the count
		// does not hold.
		{"a sibling read at the same place as an index-decided capture",
			[]rival{at(sibling, 45, 40, true), at(copyAt, 30, 30, false)}, []bool{true, true}},
		{"a capture none of whose features could be read is kept",
			[]rival{at(lookalike, 0, 0, false), at(copyAt, 56, 56, true)}, []bool{true, true}},
		{"a collage: both stay",
			[]rival{at(copyAt, 60, 60, true), at(beside, 40, 20, true)}, []bool{true, true}},
		// c reads worse than b, but b lost to a: only a kept capture
		// judges.
		{"a dropped capture judges no other",
			[]rival{at(copyAt, 50, 50, true), at([4]float64{0, 0, 100, 140}, 50, 45, true), at([4]float64{0, 40, 100, 140}, 50, 40, true)}, []bool{true, false, true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := settle(tc.rs); !slices.Equal(got, tc.want) {
				t.Errorf("settle(%v) = %v, want %v", tc.rs, got, tc.want)
			}
		})
	}
}

// TestSettleRivalsReadsIndexDecidedHits: two hits decided by the index
// over one spot of a copy, the copy's own capture and another
// photograph placed by the copy's model. Each is read to settle them, the
// other photograph reads clearly worse and is dropped, and the readings
// made for this are counted but not reported.
func TestSettleRivalsReadsIndexDecidedHits(t *testing.T) {
	all := photos.All()
	var sets []CaptureSet
	for _, p := range all[:4] {
		g := GrayFromImage(p.Image)
		sets = append(sets, Encode(Select(Extract(g, EnrollOptions()), 64, g.W, g.H), g.W, g.H))
	}
	ix := NewIndex(sets)
	q := ExtractQuery(GrayFromImage(transform.JPEG(80)(all[0].Image)), QueryOptions())
	found, _ := ix.Search(q, DefaultSearchOptions())
	if len(found) == 0 || found[0].Capture != 0 {
		t.Fatalf("the copy's own capture not found: %+v", found)
	}
	own := found[0]
	own.Verdict.Sites, own.Verdict.Agree = 0, 0 // as the index decided it
	other := Hit{Capture: 1, Verdict: own.Verdict}
	var st SearchStats
	kept := ix.settleRivals(q, []Hit{other, own}, 2, &st)
	if len(kept) != 1 || kept[0].Capture != 0 {
		t.Errorf("kept %+v, want only the copy's own capture", kept)
	}
	if st.RivalReads != 2 {
		t.Errorf("%d rival readings counted, want 2", st.RivalReads)
	}
	for _, h := range kept {
		if h.Verdict.Sites != 0 {
			t.Errorf("capture %d reports a reading made only to settle rivals (%d sites)", h.Capture, h.Verdict.Sites)
		}
	}
	// Apart (no rivals), neither is read or dropped.
	apart := other
	apart.Verdict.Rect = [4]float64{own.Verdict.Rect[2] + 1, 0, own.Verdict.Rect[2] + 2, 1}
	st = SearchStats{}
	if kept := ix.settleRivals(q, []Hit{apart, own}, 2, &st); len(kept) != 2 || st.RivalReads != 0 {
		t.Errorf("hits apart: kept %d, %d rival readings", len(kept), st.RivalReads)
	}
}
