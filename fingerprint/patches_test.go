package fingerprint

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"math"
	"testing"

	"github.com/leakwatch/leakwatch/fingerprint/pdq"
	"github.com/leakwatch/leakwatch/fixtures/imagegen"
	"github.com/leakwatch/leakwatch/fixtures/photos"
	"github.com/leakwatch/leakwatch/fixtures/transform"
)

// patchBank enrolls three real photographs and three generated captures.
func patchBank(t *testing.T) (*Bank, map[string]image.Image) {
	t.Helper()
	imgs := map[string]image.Image{}
	for i, p := range photos.All() {
		if i == 3 {
			break
		}
		imgs[p.Name] = p.Image
	}
	plate, _ := imagegen.Plate(7)
	imgs["plate"], imgs["face"], imgs["vehicle"] = plate, imagegen.Face(7), imagegen.Vehicle(7)
	b := NewBank()
	for id, img := range imgs {
		e, err := EnrollImage(img)
		if err != nil {
			t.Fatal(err)
		}
		e.Capture = Capture{ID: id, Kind: "other"}
		if err := b.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	return b, imgs
}

func TestEnrollPatchFrames(t *testing.T) {
	for _, p := range photos.All()[:3] {
		e, err := EnrollImage(p.Image)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, r := range e.PDQ {
			if r.Region != RegionPatch {
				if r.Frame != (PatchFrame{}) {
					t.Errorf("%s: region %d carries a frame %+v", p.Name, r.Region, r.Frame)
				}
				continue
			}
			n++
			f := r.Frame
			if r.Quality < pdq.MinQuality || max(f.W, f.H) != 1 || f.D < enrollMinPair-1e-3 || f.D > enrollMaxPair+1e-3 {
				t.Errorf("%s: bad patch %+v quality %d", p.Name, f, r.Quality)
			}
			// The patch lies inside the capture, give or take the half
			// pixel that patchFrames allows (in units of the long side,
			// which makes it more than 1e-3 on a small photo).
			half := float32(patchSide) * f.D / 2
			b := p.Image.Bounds()
			tol := float32(0.5/float64(max(b.Dx(), b.Dy()))) + 1e-3
			if f.X-half < -tol || f.Y-half < -tol || f.X+half > f.W+tol || f.Y+half > f.H+tol {
				t.Errorf("%s: patch %+v leaves the capture", p.Name, f)
			}
		}
		if n < 4 || n > enrollPatches {
			t.Errorf("%s: %d patches enrolled, want 4..%d", p.Name, n, enrollPatches)
		}
	}
}

// TestUnevenCropsMatchThroughPatches checks the uneven crops no enrolled
// region lines up with: they match their own capture through the patch
// route, and nothing when that route is off.
func TestUnevenCropsMatchThroughPatches(t *testing.T) {
	bank, imgs := patchBank(t)
	crops := []struct {
		name string
		fn   transform.Func
	}{
		{"15/5/10/20", transform.CropSides(0.15, 0.05, 0.10, 0.20)},
		{"2/20/12/3", transform.CropSides(0.02, 0.20, 0.12, 0.03)},
		{"22/10/3/15, shrunk, jpeg", transform.Chain(transform.CropSides(0.22, 0.10, 0.03, 0.15), transform.Resize(0.6), transform.JPEG(75))},
	}
	on := DefaultMatchOptions()
	on.NoFeatures = true // the patch route is under test
	off := on
	off.Patches = false
	queries, viaPatch := 0, 0
	for id, img := range imgs {
		for _, c := range crops {
			fp, err := Compute(c.fn(img))
			if err != nil {
				t.Fatal(err)
			}
			if !fp.HasPatches() {
				t.Fatalf("%s %s: fresh fingerprint without patches", id, c.name)
			}
			queries++
			ms, err := NewMatcher(bank, on).Match(fp)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range ms {
				if m.CaptureID != id {
					t.Errorf("%s %s: matched %s too (%+v)", id, c.name, m.CaptureID, m)
				}
			}
			if len(ms) == 0 || ms[0].CaptureID != id {
				t.Logf("%s %s: missed", id, c.name)
				continue
			}
			if ms[0].Via != ViaPatch {
				continue
			}
			viaPatch++
			if ms[0].Distance > on.PatchMatchRadius || ms[0].Rect == nil || !IsCentralRegion(ms[0].Region) {
				t.Errorf("%s %s: patch match %+v", id, c.name, ms[0])
			}
			// Without the route, the same query finds nothing.
			if ms, _ := NewMatcher(bank, off).Match(fp); len(ms) != 0 {
				t.Errorf("%s %s: matched %+v with patches off", id, c.name, ms)
			}
		}
	}
	// The target for 25% crops is 80%; these are a handful.
	if viaPatch*10 < queries*8 {
		t.Errorf("%d of %d uneven crops matched through patches, want >= 80%%", viaPatch, queries)
	}
}

// TestPatchesRejectLookalikes queries other shots of the enrolled face and
// plate: same person or plate and framing, so patches can lead to them,
// but verification must refuse.
func TestPatchesRejectLookalikes(t *testing.T) {
	bank, _ := patchBank(t)
	var qs []image.Image
	for k := 1; k <= 4; k++ {
		p, _ := imagegen.PlateVariant(7, k)
		qs = append(qs, imagegen.FaceVariant(7, k), p, transform.CropSides(0.1, 0.02, 0.05, 0.12)(p))
	}
	for i, q := range qs {
		fp, err := Compute(q)
		if err != nil {
			t.Fatal(err)
		}
		ms, err := NewMatcher(bank, DefaultMatchOptions()).Match(fp)
		if err != nil && !errors.Is(err, ErrLowQuality) {
			t.Fatal(err)
		}
		if len(ms) != 0 {
			t.Errorf("lookalike %d matched %+v", i, ms)
		}
	}
}

func TestPatchFramesSurviveTheBankFile(t *testing.T) {
	bank, _ := patchBank(t)
	data, err := bank.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	got, err := UnmarshalBank(data)
	if err != nil {
		t.Fatal(err)
	}
	if got.Stats().PatchHashes == 0 || got.Stats().PatchHashes != bank.Stats().PatchHashes {
		t.Fatalf("patch hashes %d after the round trip, %d before", got.Stats().PatchHashes, bank.Stats().PatchHashes)
	}
	for i, r := range bank.pdqReg {
		if r != RegionPatch {
			continue
		}
		a, b := bank.pdqFrame[i].frame(), got.pdqFrame[i].frame()
		if a != b || math.Abs(float64(a.D)) == 0 {
			t.Fatalf("entry %d: frame %+v became %+v", i, a, b)
		}
	}
}

// reseal rewrites a bank file's header and trailer checksums after an
// edit, so that the structural checks behind them are what is tested.
func reseal(d []byte) []byte {
	le := binary.LittleEndian
	le.PutUint32(d[60:], crc32.Checksum(d[:60], castagnoli))
	body := len(d) - 8
	le.PutUint32(d[body:], crc32.Checksum(d[:body], castagnoli))
	return d
}

func TestBankRefusesBadPatchFrames(t *testing.T) {
	data, _ := sampleBank(t, 4).MarshalBinary()
	le := binary.LittleEndian
	frames := len(data) - 8 - 4*frameEntrySize
	tests := []struct {
		name string
		edit func(d []byte) []byte
	}{
		{"frame names a region entry", func(d []byte) []byte { le.PutUint32(d[frames:], 1); return d }},
		{"frames out of order", func(d []byte) []byte {
			a := append([]byte(nil), d[frames:frames+frameEntrySize]...)
			copy(d[frames:], d[frames+frameEntrySize:frames+2*frameEntrySize])
			copy(d[frames+frameEntrySize:], a)
			return d
		}},
		{"frame beyond the entries", func(d []byte) []byte { le.PutUint32(d[frames:], 1<<31); return d }},
		{"version 1 with frames", func(d []byte) []byte { le.PutUint32(d[8:], 1); return d }},
		{"frame count larger than the patches", func(d []byte) []byte {
			le.PutUint64(d[48:], le.Uint64(d[48:])+1)
			return append(d[:len(d)-8], append(make([]byte, frameEntrySize), d[len(d)-8:]...)...)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := reseal(tt.edit(append([]byte(nil), data...)))
			if _, err := UnmarshalBank(d); !errors.Is(err, ErrBankFormat) {
				t.Errorf("accepted: %v", err)
			}
		})
	}
	// A version 1 file (no frames, no patches) still loads.
	v1 := NewBank()
	if err := v1.Add(Enrollment{Capture: Capture{ID: "old"}, PDQ: []RegionHash{{Quality: 90}}}); err != nil {
		t.Fatal(err)
	}
	d, _ := v1.MarshalBinary()
	le.PutUint32(d[8:], 1)
	if _, err := UnmarshalBank(reseal(d)); err != nil {
		t.Errorf("version 1 bank refused: %v", err)
	}
}

// FuzzPatches drives keypoint detection, patch enrollment and the patch
// route of matching with arbitrary grey images: nothing may panic, and
// every enrolled frame lies in the capture.
func FuzzPatches(f *testing.F) {
	f.Add(uint16(64), uint16(64), []byte{0, 255, 17, 200, 3})
	f.Add(uint16(640), uint16(33), []byte("keypoints"))
	f.Add(uint16(31), uint16(500), []byte{128})
	f.Add(uint16(300), uint16(200), []byte{})
	e, err := EnrollImage(photos.All()[0].Image)
	if err != nil {
		f.Fatal(err)
	}
	e.Capture = Capture{ID: "seed"}
	bank := NewBank()
	if err := bank.Add(e); err != nil {
		f.Fatal(err)
	}
	m := NewMatcher(bank, DefaultMatchOptions())
	f.Fuzz(func(t *testing.T, w, h uint16, data []byte) {
		width, height := int(w%700)+1, int(h%700)+1
		g := image.NewGray(image.Rect(0, 0, width, height))
		for i := range g.Pix {
			if len(data) > 0 {
				// Repeat the data with a drift, so short inputs still
				// make structure at several scales.
				g.Pix[i] = data[i%len(data)] + byte(i/len(data))
			}
		}
		e, err := EnrollImage(g)
		if err != nil {
			return
		}
		for _, r := range e.PDQ {
			if r.Region != RegionPatch {
				continue
			}
			fr := r.Frame
			if fr.D <= 0 || fr.X < 0 || fr.Y < 0 || fr.X > fr.W || fr.Y > fr.H || max(fr.W, fr.H) != 1 {
				t.Fatalf("frame %+v", fr)
			}
		}
		fp, err := Compute(g)
		if err != nil {
			return
		}
		if _, err := m.Match(fp); err != nil && !errors.Is(err, ErrLowQuality) {
			t.Fatal(err)
		}
	})
}

// TestPatchBudgetReported: leads beyond the per-query verification budget
// are counted, not silently dropped. The same photograph enrolled under
// more IDs than the budget makes every capture a true lead.
func TestPatchBudgetReported(t *testing.T) {
	img := photos.All()[0].Image
	e, err := EnrollImage(img)
	if err != nil {
		t.Fatal(err)
	}
	fp, err := Compute(transform.CropSides(0.15, 0.05, 0.10, 0.20)(img))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, verifyPerQuery + 8} {
		bank := NewBank()
		for i := range n {
			e.Capture = Capture{ID: fmt.Sprintf("copy-%02d", i)}
			if err := bank.Add(e); err != nil {
				t.Fatal(err)
			}
		}
		o := DefaultMatchOptions()
		o.NoFeatures = true // identical copies: the feature route matches them all
		ms, stats, err := NewMatcher(bank, o).MatchStats(fp)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case n == 1 && (len(ms) != 1 || stats.PatchLeadsSkipped != 0):
			t.Errorf("one capture: %d matches, %d leads skipped", len(ms), stats.PatchLeadsSkipped)
		case n > verifyPerQuery && (len(ms) > verifyPerQuery || stats.PatchLeadsSkipped == 0):
			t.Errorf("%d look-alike captures: %d matches, %d leads skipped; want at most %d and some skipped",
				n, len(ms), stats.PatchLeadsSkipped, verifyPerQuery)
		}
	}
}
