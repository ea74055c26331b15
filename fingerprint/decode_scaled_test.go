package fingerprint

import (
	"bufio"
	"context"
	"errors"
	"image"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/leakwatch/leakwatch/fingerprint/hamming"
	"github.com/leakwatch/leakwatch/fingerprint/jpeg/jpegtest"
	"github.com/leakwatch/leakwatch/fingerprint/pdq"
)

// TestScaledDecodePDQReference hashes Meta's PDQ test JPEGs decoded at the
// query working size and compares all eight hashes with the C++
// reference, within the bound the full-size decode is held to
// (fingerprint/pdq's TestPDQReference: 10 bits at quality 80 and up, 16
// from 50, a mean of at most 2 for the original orientation).
func TestScaledDecodePDQReference(t *testing.T) {
	f, err := os.Open(filepath.Join(pdqFixtures, "reference.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var checked, scaled, hiN, hiSum, hiMax int
	for sc.Scan() {
		c := strings.Split(sc.Text(), "\t")
		if len(c) < 11 || c[3] != "cpp-reference" || !strings.HasSuffix(c[0], ".jpg") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(pdqFixtures, c[0]))
		if err != nil {
			continue // not shipped
		}
		quality, _ := strconv.Atoi(c[2])
		d, err := DecodeBytes(data, DefaultLimits(), ForQuery())
		if err != nil {
			t.Errorf("%s: %v", c[0], err)
			continue
		}
		if d.Orientation != 1 {
			// The reference hashes the stored pixels.
			continue
		}
		checked++
		if d.Scale > 1 {
			scaled++
		}
		got := pdq.HashAll(d.Image)
		worst := 0
		for k, col := range append([]string{c[1]}, c[4:11]...) {
			ref, err := hamming.ParseHash256(col)
			if err != nil {
				t.Fatal(err)
			}
			dist := got.Hashes[k].Distance(ref)
			worst = max(worst, dist)
			if k == 0 && quality >= 80 {
				hiN++
				hiSum += dist
			}
		}
		limit := -1
		switch {
		case quality >= 80:
			limit = 10
			hiMax = max(hiMax, worst)
		case quality >= pdq.MinQuality:
			limit = 16
		}
		if limit >= 0 && worst > limit {
			t.Errorf("%s (1/%d): distance up to %d from the reference, want <= %d", c[0], d.Scale, worst, limit)
		}
	}
	if checked < 30 || scaled < 10 {
		t.Fatalf("checked %d JPEGs, %d of them scaled; want at least 30 and 10", checked, scaled)
	}
	mean := float64(hiSum) / float64(hiN)
	t.Logf("%d JPEGs (%d decoded reduced): quality >= 80: mean distance %.2f, max over all 8 hashes %d", checked, scaled, mean, hiMax)
	if mean > 2 {
		t.Errorf("mean distance %.2f, want <= 2", mean)
	}
}

// TestScaledDecodeSameFingerprint checks that the hashes matching uses do
// not depend on decoding reduced: the working plane comes out the same.
func TestScaledDecodeSameFingerprint(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(pdqFixtures, "data/*/*.jpg"))
	more, _ := filepath.Glob("../fixtures/photos/*.jpg")
	files = append(files, more...)
	scaled := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		full, err := DecodeBytes(data, DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		red, err := DecodeBytes(data, DefaultLimits(), ForQuery())
		if err != nil {
			t.Fatal(err)
		}
		if red.Width != full.Width || red.Height != full.Height {
			t.Fatalf("%s: source size %dx%d reduced, %dx%d full", f, red.Width, red.Height, full.Width, full.Height)
		}
		if red.Scale == 1 {
			continue
		}
		scaled++
		if b := red.Image.Bounds(); max(b.Dx(), b.Dy()) < QuerySide() {
			t.Errorf("%s: decoded %v, under the query side %d", f, b, QuerySide())
		}
		a, err := Compute(full.Image)
		if err != nil {
			t.Fatal(err)
		}
		b, err := Compute(red.Image, SourceSize(red.Width, red.Height))
		if err != nil {
			t.Fatal(err)
		}
		for k := range a.PDQ.Hashes {
			if d := a.PDQ.Hashes[k].Distance(b.PDQ.Hashes[k]); d > 8 {
				t.Errorf("%s (1/%d): dihedral %d hash moved %d bits", f, red.Scale, k, d)
			}
		}
		if d := a.PHash.Distance(b.PHash); d > 6 {
			t.Errorf("%s (1/%d): pHash moved %d bits", f, red.Scale, d)
		}
		// Windows are fixed fractions of the query: the same, in the
		// source's pixels, however it was decoded.
		wa, wb := windowRects(a), windowRects(b)
		if len(wa) != len(wb) {
			t.Errorf("%s: %d windows reduced, %d full", f, len(wb), len(wa))
			continue
		}
		for i := range wa {
			if d := wa[i].Min.Sub(wb[i].Min); abs(d.X) > 2 || abs(d.Y) > 2 || abs(wa[i].Dx()-wb[i].Dx()) > 4 {
				t.Errorf("%s: window %d at %v reduced, %v full", f, i, wb[i], wa[i])
			}
		}
	}
	if scaled < 10 {
		t.Fatalf("%d files decoded reduced, want at least 10", scaled)
	}
}

func abs(v int) int { return max(v, -v) }

func windowRects(fp Fingerprint) []image.Rectangle {
	var out []image.Rectangle
	for _, c := range fp.Candidates {
		if c.Kind == CandidateWindow {
			out = append(out, c.Rect)
		}
	}
	return out
}

// TestScaledDecodeOrientation rotates a reduced decode by its EXIF
// orientation and reports the source's size.
func TestScaledDecodeOrientation(t *testing.T) {
	data, err := os.ReadFile("../fixtures/photos/earth-from-orbit.jpg") // 1024x819
	if err != nil {
		t.Fatal(err)
	}
	up, err := DecodeBytes(data, DefaultLimits(), ForQuery())
	if err != nil {
		t.Fatal(err)
	}
	g := up.Image.(*image.Gray)
	for _, o := range []int{3, 6, 8} {
		d, err := DecodeBytes(jpegtest.WithOrientation(data, o), DefaultLimits(), ForQuery())
		if err != nil {
			t.Fatal(err)
		}
		w, h := 1024, 819
		if o >= 5 {
			w, h = h, w
		}
		if d.Scale != 2 || d.Width != w || d.Height != h || d.Orientation != o {
			t.Fatalf("orientation %d: %dx%d at 1/%d, o=%d", o, d.Width, d.Height, d.Scale, d.Orientation)
		}
		r := d.Image.(*image.Gray)
		// The source's top-left sample lands where the orientation puts it.
		var at uint8
		switch o {
		case 3:
			at = r.GrayAt(r.Rect.Dx()-1, r.Rect.Dy()-1).Y
		case 6:
			at = r.GrayAt(r.Rect.Dx()-1, 0).Y
		case 8:
			at = r.GrayAt(0, r.Rect.Dy()-1).Y
		}
		if at != g.GrayAt(0, 0).Y {
			t.Errorf("orientation %d: corner %d, source top-left %d", o, at, g.GrayAt(0, 0).Y)
		}
	}
}

// TestDecodeHugeCMYKBounded decodes a 48-megapixel CMYK progressive file
// with an EXIF rotation, the shape of image that needed 1.59 GB with
// image/jpeg, and checks what one decode allocates.
func TestDecodeHugeCMYKBounded(t *testing.T) {
	data := jpegtest.WithOrientation(jpegtest.ProgressiveCMYK(8000, 6000), 6)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	d, err := DecodeBytes(data, DefaultLimits(), ForQuery())
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if d.Width != 6000 || d.Height != 8000 || d.Scale != 8 {
		t.Fatalf("decoded %dx%d at 1/%d, want 6000x8000 at 1/8", d.Width, d.Height, d.Scale)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("allocated %.1f MB", float64(alloc)/1e6)
	if alloc > 64<<20 {
		t.Errorf("one decode allocated %d bytes, want at most 64 MiB", alloc)
	}
}

// TestDecodeLimitErrors checks that the JPEG bounds are reported as
// ErrDecodeLimit naming the bound, and cancellation as the context's
// error.
func TestDecodeLimitErrors(t *testing.T) {
	lim := DefaultLimits()
	_, err := DecodeBytes(jpegtest.ScanBomb(4000, 3000, 5000), lim, ForQuery())
	if !errors.Is(err, ErrDecodeLimit) || !strings.Contains(err.Error(), "scans") {
		t.Errorf("scan bomb: %v, want ErrDecodeLimit naming scans", err)
	}
	lim.MaxCoefBytes = 1 << 20
	_, err = DecodeBytes(jpegtest.ProgressiveCMYK(8000, 6000), lim, ForQuery())
	if !errors.Is(err, ErrDecodeLimit) || !strings.Contains(err.Error(), "coefficient") {
		t.Errorf("coefficients: %v, want ErrDecodeLimit naming coefficients", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = DecodeBytesContext(ctx, jpegtest.ProgressiveCMYK(800, 600), DefaultLimits(), ForQuery())
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v, want context.Canceled", err)
	}
}

// TestWholeDecodeSameHashes checks ForWhole, the smaller decode of
// whole-image-only matching: it keeps both sides at WholeShortSide or more,
// decodes no larger than ForQuery, and its whole-image hashes stay close
// to a full-size decode's (Meta's test JPEGs, the fixture photographs, and
// generated 1080p and 12-megapixel camera-like files).
// TestWholeDecodeNoLargerThanQuery covers shapes the files here lack.
func TestWholeDecodeSameHashes(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(pdqFixtures, "data/*/*.jpg"))
	more, _ := filepath.Glob("../fixtures/photos/*.jpg")
	names := append(files, more...)
	var inputs [][]byte
	for _, f := range names {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, data)
	}
	for _, size := range []string{"1920x1080", "4000x3000"} {
		inputs = append(inputs, robustBenchJPEGs()[size])
		names = append(names, size)
	}
	scaled, sum, n := 0, 0, 0
	for i, data := range inputs {
		name := names[i]
		full, err := DecodeBytes(data, DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		query, err := DecodeBytes(data, DefaultLimits(), ForQuery())
		if err != nil {
			t.Fatal(err)
		}
		whole, err := DecodeBytes(data, DefaultLimits(), ForWhole())
		if err != nil {
			t.Fatal(err)
		}
		if whole.Scale < query.Scale {
			t.Errorf("%s: ForWhole decodes at 1/%d, larger than ForQuery's 1/%d", name, whole.Scale, query.Scale)
		}
		if whole.Scale == 1 {
			continue
		}
		scaled++
		if b := whole.Image.Bounds(); min(b.Dx(), b.Dy()) < WholeShortSide {
			t.Errorf("%s: decoded %v, under the whole-image side %d", name, b, WholeShortSide)
		}
		a, err := ComputeWhole(full.Image)
		if err != nil {
			t.Fatal(err)
		}
		b, err := ComputeWhole(whole.Image, SourceSize(whole.Width, whole.Height))
		if err != nil {
			t.Fatal(err)
		}
		if d := a.PHash.Distance(b.PHash); d > 6 {
			t.Errorf("%s (1/%d): pHash moved %d bits", name, whole.Scale, d)
		}
		if a.PDQ.Quality < pdq.MinQuality {
			continue
		}
		for k := range a.PDQ.Hashes {
			d := a.PDQ.Hashes[k].Distance(b.PDQ.Hashes[k])
			if d > 10 {
				t.Errorf("%s (1/%d): dihedral %d hash moved %d bits", name, whole.Scale, k, d)
			}
			sum, n = sum+d, n+1
		}
	}
	if scaled < 20 || n == 0 {
		t.Fatalf("%d files decoded reduced, %d hashes compared; want at least 20 files", scaled, n)
	}
	if mean := float64(sum) / float64(n); mean > 2 {
		t.Errorf("mean distance %.2f bits over %d hashes, want <= 2", mean, n)
	}
	t.Logf("%d files reduced, mean distance %.2f bits over %d hashes", scaled, float64(sum)/float64(n), n)
}

// TestWholeDecodeNoLargerThanQuery: a panorama or a long screenshot keeps
// fewer than WholeShortSide rows at the query scale; ForWhole then decodes
// at that scale, never larger (a larger decode would cost more memory and
// time than ForQuery and could fail its bounds).
func TestWholeDecodeNoLargerThanQuery(t *testing.T) {
	for _, tc := range []struct {
		w, h, want int
	}{
		{20000, 400, 8}, // the query scale: 2500x50
		{4000, 3000, 8}, // the whole-image scale: 500x375
		{1920, 1080, 8},
		{1920, 1000, 4}, // 1/8 would keep 125 rows
		{600, 200, 1},
	} {
		data := jpegtest.ProgressiveCMYK(tc.w, tc.h)
		q, err := DecodeBytes(data, DefaultLimits(), ForQuery())
		if err != nil {
			t.Fatalf("%dx%d ForQuery: %v", tc.w, tc.h, err)
		}
		d, err := DecodeBytes(data, DefaultLimits(), ForWhole())
		if err != nil {
			t.Fatalf("%dx%d ForWhole: %v", tc.w, tc.h, err)
		}
		if d.Scale != tc.want || d.Scale < q.Scale {
			t.Errorf("%dx%d: ForWhole 1/%d, ForQuery 1/%d; want 1/%d", tc.w, tc.h, d.Scale, q.Scale, tc.want)
		}
		if b := d.Image.Bounds(); b.Dx() != (tc.w+d.Scale-1)/d.Scale || b.Dy() != (tc.h+d.Scale-1)/d.Scale {
			t.Errorf("%dx%d at 1/%d: decoded %v", tc.w, tc.h, d.Scale, b)
		}
	}
}
