package fingerprint

import (
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/leakwatch/leakwatch/fingerprint/feature"
	"github.com/leakwatch/leakwatch/fixtures/imagegen"
	"github.com/leakwatch/leakwatch/fixtures/photos"
	"github.com/leakwatch/leakwatch/fixtures/transform"
)

// A copy no hash route lines up with (turned by 30 degrees, canvas
// grown) is found by the feature route, which reports its model.
func TestFeatureRouteReportsItsModel(t *testing.T) {
	ps := photos.All()
	b := NewBank()
	for _, p := range ps[:6] {
		e, err := EnrollImage(p.Image)
		if err != nil {
			t.Fatal(err)
		}
		e.Capture = Capture{ID: p.Name}
		if err := b.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	if st := b.Stats(); st.FeatureCaptures != 6 || st.Features < 6*32 {
		t.Fatalf("stats %+v", st)
	}
	q := transform.Chain(transform.Rotate(30, color.White), transform.JPEG(80))(ps[2].Image)
	fp, err := Compute(q)
	if err != nil {
		t.Fatal(err)
	}
	off := DefaultMatchOptions()
	off.NoFeatures = true
	if ms, _ := NewMatcher(b, off).Match(fp); len(ms) != 0 {
		t.Fatalf("a hash route matched the turned copy: %+v", ms)
	}
	ms, err := NewMatcher(b, DefaultMatchOptions()).Match(fp)
	if err != nil || len(ms) != 1 {
		t.Fatalf("matches %+v, %v", ms, err)
	}
	m := ms[0]
	if m.CaptureID != ps[2].Name || m.Algorithm != AlgoFeatures || m.Via != ViaFeatures || m.Inliers < 6 || m.LogNFA > -6 || m.Rect == nil {
		t.Errorf("match %+v", m)
	}
	// Rotate turns clockwise as displayed, as Rotation counts.
	if math.Abs(m.Rotation-30) > 3 {
		t.Errorf("rotation %.1f, want 30", m.Rotation)
	}
	js, _ := json.Marshal(m)
	var back map[string]any
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"inliers", "log_nfa", "rotation", "scale", "via", "rect"} {
		if _, ok := back[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, js)
		}
	}
}

// The query's features cost more than the rest of its fingerprint: they
// are computed only when a policy with the route meets a bank that has
// features.
func TestQueryFeaturesComputedOnDemand(t *testing.T) {
	ps := photos.All()
	e, err := EnrollImage(ps[0].Image)
	if err != nil {
		t.Fatal(err)
	}
	withFeat, without := NewBank(), NewBank()
	e.Capture = Capture{ID: "a"}
	if err := withFeat.Add(e); err != nil {
		t.Fatal(err)
	}
	e.Features = feature.CaptureSet{}
	if err := without.Add(e); err != nil {
		t.Fatal(err)
	}
	off := DefaultMatchOptions()
	off.NoFeatures = true
	tests := []struct {
		name string
		bank *Bank
		opts MatchOptions
		want bool
	}{
		{"route off", withFeat, off, false},
		{"bank without features", without, DefaultMatchOptions(), false},
		{"route on, bank with features", withFeat, DefaultMatchOptions(), true},
	}
	for _, tt := range tests {
		fp, err := Compute(ps[1].Image)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := NewMatcher(tt.bank, tt.opts).MatchStats(fp); err != nil {
			t.Fatal(err)
		}
		if got := fp.local.feat != nil; got != tt.want {
			t.Errorf("%s: features computed %v, want %v", tt.name, got, tt.want)
		}
	}
}

// Another frame of a fixed camera with two frames enrolled (so that what
// every frame shows is left out as common) shows the rest of the scene
// where the captures have it: the feature route finds a significant model,
// which the reading refuses (another car) without contradicting it (at
// least half the sites agree). It is no match, but it is listed for
// review with its evidence; an unrelated photograph lists nothing, and a
// copy is matched, not listed.
func TestReviewListsRefusedModels(t *testing.T) {
	b := NewBank()
	enroll := func(id string, img image.Image) {
		t.Helper()
		e, err := EnrollImage(img)
		if err != nil {
			t.Fatal(err)
		}
		e.Capture = Capture{ID: id}
		if err := b.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	const cameras = 3
	for c := range uint64(cameras) {
		for _, k := range []int{0, 9} {
			img, _ := imagegen.CheckpointFrame(100+c, k)
			enroll(fmt.Sprintf("cam%d-%d", c, k), img)
		}
	}
	ps := photos.All()
	enroll(ps[3].Name, ps[3].Image)
	m := NewMatcher(b, DefaultMatchOptions())
	run := func(img image.Image) ([]Match, MatchStats) {
		t.Helper()
		fp, err := Compute(img)
		if err != nil {
			t.Fatal(err)
		}
		ms, st, err := m.MatchStats(fp)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range st.Review {
			if slices.ContainsFunc(ms, func(x Match) bool { return x.CaptureID == r.CaptureID }) {
				t.Errorf("%s is both matched and listed for review", r.CaptureID)
			}
			if r.Algorithm != AlgoFeatures || r.Inliers < 3 || r.LogNFA > DefaultMatchOptions().Features.WithDefaults().MaxLogNFA ||
				r.SitesRead < 12 || 2*r.SitesAgree < r.SitesRead {
				t.Errorf("review entry without the evidence of a refused model: %+v", r)
			}
		}
		return ms, st
	}
	reviewed := 0
	for c := range uint64(cameras) {
		img, _ := imagegen.CheckpointFrame(100+c, 1)
		ms, st := run(img)
		if len(ms) != 0 {
			t.Errorf("camera %d, another frame: matched %+v", c, ms)
		}
		if slices.ContainsFunc(st.Review, func(r Match) bool { return strings.HasPrefix(r.CaptureID, fmt.Sprintf("cam%d-", c)) }) {
			reviewed++
		}
	}
	if reviewed == 0 {
		t.Errorf("no other frame of %d enrolled cameras was listed for review", cameras)
	}
	if ms, st := run(ps[5].Image); len(ms) != 0 || len(st.Review) != 0 {
		t.Errorf("an unrelated photograph: matches %+v, review %+v", ms, st.Review)
	}
	copyImg := transform.Chain(transform.Rotate(12, color.White), transform.JPEG(80))(ps[3].Image)
	if ms, _ := run(copyImg); !slices.ContainsFunc(ms, func(x Match) bool { return x.CaptureID == ps[3].Name }) {
		t.Errorf("a turned copy of %s: matches %+v", ps[3].Name, ms)
	}
}

// A review entry is dropped where a match already explains the same part
// of the query; a match without an outline covers the whole image.
func TestMatchedThere(t *testing.T) {
	r := func(x0, y0, x1, y1 int) *[4]int { return &[4]int{x0, y0, x1, y1} }
	const w, h = 200, 100
	tests := []struct {
		name   string
		best   map[uint32]Match
		review *[4]int
		want   bool
	}{
		{"nothing matched", map[uint32]Match{}, r(0, 0, 100, 100), false},
		{"the whole image matched, review over most of it", map[uint32]Match{1: {}}, r(10, 0, 190, 100), true},
		{"the whole image matched, review in a corner", map[uint32]Match{1: {}}, r(0, 0, 60, 50), false},
		{"a window matched at the same place", map[uint32]Match{1: {Rect: r(0, 0, 100, 100)}}, r(5, 5, 105, 100), true},
		{"a window matched elsewhere", map[uint32]Match{1: {Rect: r(0, 0, 100, 100)}}, r(100, 0, 200, 100), false},
	}
	for _, tt := range tests {
		if got := matchedThere(tt.best, tt.review, w, h); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}
