package fingerprint

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPNGReducedSameFingerprint checks that a PNG read straight into the
// reduced luma (ForQuery), or into the full-size luma (LumaOnly, as hash
// reads it), hashes as image/png's full-size decode does.
func TestPNGReducedSameFingerprint(t *testing.T) {
	var pngs [][]byte
	names, _ := filepath.Glob(filepath.Join(pdqFixtures, "data/*/*.png"))
	for _, f := range names {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		pngs = append(pngs, data)
	}
	photos, _ := filepath.Glob("../fixtures/photos/*.jpg")
	for _, f := range photos[:min(6, len(photos))] {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		d, err := DecodeBytes(data, DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := png.Encode(&buf, d.Image); err != nil {
			t.Fatal(err)
		}
		pngs = append(pngs, buf.Bytes())
		names = append(names, f+".png")
	}
	scaled, worstRef := 0, 0
	for i, data := range pngs {
		full, err := DecodeBytes(data, DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		a, err := Compute(full.Image)
		if err != nil {
			continue // too flat to hash, either way
		}
		// Reduced for matching; full-size luma for hash.
		for _, opt := range []DecodeOption{ForQuery(), LumaOnly()} {
			red, err := DecodeBytes(data, DefaultLimits(), opt)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := red.Image.(*image.Gray); !ok || red.Width != full.Width || red.Height != full.Height {
				t.Fatalf("%s: luma decode %T of %dx%d, full %dx%d", names[i], red.Image, red.Width, red.Height, full.Width, full.Height)
			}
			if red.Scale > 1 {
				scaled++
			}
			b, err := Compute(red.Image, SourceSize(red.Width, red.Height))
			if err != nil {
				t.Fatalf("%s: %v", names[i], err)
			}
			sameHashes(t, fmt.Sprintf("%s (1/%d)", names[i], red.Scale), a, b)
			if red.Scale == 1 {
				// hash's reference PDQ, from the full-size luma.
				ra, rb := a, b
				ra.AddReference(full.Image)
				rb.AddReference(red.Image)
				for k := range ra.Reference.Hashes {
					d := ra.Reference.Hashes[k].Distance(rb.Reference.Hashes[k])
					worstRef = max(worstRef, d)
					if d > 4 {
						t.Errorf("%s: reference dihedral %d hash moved %d bits", names[i], k, d)
					}
				}
			}
		}
	}
	if scaled == 0 {
		t.Error("no file was decoded reduced")
	}
	t.Logf("%d files; full-size luma moves hash's reference PDQ by at most %d bits", len(pngs), worstRef)
}

// sameHashes checks that b, a fingerprint of a reduced or luma decode,
// hashes as a, that of a full-size colour decode, does: every dihedral PDQ
// hash within 8 bits and the pHash within 6.
func sameHashes(t *testing.T, name string, a, b Fingerprint) {
	t.Helper()
	for k := range a.PDQ.Hashes {
		if d := a.PDQ.Hashes[k].Distance(b.PDQ.Hashes[k]); d > 8 {
			t.Errorf("%s: dihedral %d hash moved %d bits", name, k, d)
		}
	}
	if d := a.PHash.Distance(b.PHash); d > 6 {
		t.Errorf("%s: pHash moved %d bits", name, d)
	}
}

// TestPNGBoundsAndCancel: the PNG reader's bounds, lowered in Limits,
// are decode limits naming the bound and its value, and a cancelled
// context stops it.
func TestPNGBoundsAndCancel(t *testing.T) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, gradient(600, 400)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		set  func(*Limits)
		want string
	}{
		{"chunks", func(l *Limits) { l.MaxPNGChunks = 2 }, "3 chunks, limit 2"},
		{"chunk bytes", func(l *Limits) { l.MaxPNGChunkBytes = 12 }, "13 chunk bytes, limit 12"}, // the header
		{"row bytes", func(l *Limits) { l.MaxPNGRowBytes = 100 }, "row bytes, limit 100"},
	} {
		lim := DefaultLimits()
		c.set(&lim)
		if _, err := DecodeBytes(buf.Bytes(), lim, ForQuery()); !errors.Is(err, ErrDecodeLimit) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want ErrDecodeLimit naming %q", c.name, err, c.want)
		}
	}
	lim := DefaultLimits()
	lim.MaxPixels = 600*400 - 1
	if _, err := DecodeBytes(buf.Bytes(), lim, ForQuery()); !errors.Is(err, ErrTooManyPixels) {
		t.Errorf("pixel bound: %v, want ErrTooManyPixels", err)
	}
	if _, err := DecodeBytes(buf.Bytes()[:buf.Len()/2], DefaultLimits(), ForQuery()); !errors.Is(err, ErrCorrupt) {
		t.Errorf("truncated: %v, want ErrCorrupt", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := DecodeBytesContext(ctx, buf.Bytes(), DefaultLimits(), ForQuery()); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
