package scan

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/gif"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/image/webp"

	"github.com/leakwatch/leakwatch/fingerprint"
	"github.com/leakwatch/leakwatch/fixtures/corpus"
	"github.com/leakwatch/leakwatch/internal/report"
)

// redrawGIF is an animation of full-canvas frames over a megapixel (too
// large to save before drawing), every other one disposed of with
// "restore to previous": undoing the k-th costs drawing the k frames
// kept before it again, 1+2+...+8 = 36 canvases in all.
func redrawGIF(t *testing.T) []byte {
	t.Helper()
	const w, h = 1100, 1000
	pal := color.Palette{color.Black, color.White, color.Gray{128}}
	g := &gif.GIF{Config: image.Config{Width: w, Height: h, ColorModel: pal}}
	for i := range 16 {
		p := image.NewPaletted(image.Rect(0, 0, w, h), pal)
		for j := range p.Pix {
			p.Pix[j] = uint8((i + j/w) % 3)
		}
		g.Image = append(g.Image, p)
		g.Delay = append(g.Delay, 1)
		d := byte(gif.DisposalNone)
		if i%2 == 1 {
			d = gif.DisposalPrevious
		}
		g.Disposal = append(g.Disposal, d)
	}
	var b bytes.Buffer
	if err := gif.EncodeAll(&b, g); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestScanBoundsGIFRedraw: the scan passes its redraw setting to the
// renderer, and an animation that needs more is a counted frame_limit
// error naming the bound, its first frames still hashed.
func TestScanBoundsGIFRedraw(t *testing.T) {
	c := corpus.New(5, corpus.WithFaces(1))
	bank, st := setup(t, c.WriteCaptures)
	data := redrawGIF(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/gif")
		_, _ = w.Write(data)
	}))
	defer srv.Close()
	for _, tc := range []struct {
		redraw  int
		limited bool
	}{{0, true}, {8, true}, {64, false}} {
		var mu sync.Mutex
		var problems []report.Problem
		sum, err := Run(context.Background(), Config{Seeds: []string{srv.URL + "/anim.gif"}, Bank: bank, Store: st, Recrawl: true,
			MaxGIFRedraw: tc.redraw, OnError: func(p report.Problem) {
				mu.Lock()
				problems = append(problems, p)
				mu.Unlock()
			}})
		if err != nil {
			t.Fatal(err)
		}
		limited := len(problems) == 1 && problems[0].Reason == "frame_limit" && strings.Contains(problems[0].Err, "redrawn pixels")
		if limited != tc.limited || (!tc.limited && len(problems) != 0) {
			t.Errorf("redraw %d canvases: problems %+v, want limited %v", tc.redraw, problems, tc.limited)
		}
		if sum.Hashed == 0 {
			t.Errorf("redraw %d canvases: no frame hashed (%+v)", tc.redraw, sum)
		}
	}
}

// TestScanBoundsWebPDecodeMemory: the scan passes --max-full-decode-bytes
// to the animation renderer. A WebP animation whose canvas alone is over
// it is one counted decode_limit error (as a still image over it is); one
// whose canvas fits but whose frames do not ends there, a frame_limit
// error.
func TestScanBoundsWebPDecodeMemory(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "imagefile", "testdata", "anim-lossless.webp"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := webp.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	canvas := 2 * int64(cfg.Width) * int64(cfg.Height)
	c := corpus.New(5, corpus.WithFaces(1))
	bank, st := setup(t, c.WriteCaptures)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/webp")
		_, _ = w.Write(data)
	}))
	defer srv.Close()
	for _, tc := range []struct {
		bound  int64
		reason string
	}{{canvas - 1, "decode_limit"}, {canvas + 1, "frame_limit"}, {0, ""}} {
		lim := fingerprint.DefaultLimits()
		if tc.bound > 0 {
			lim.MaxFullDecodeBytes = tc.bound
		}
		var mu sync.Mutex
		var problems []report.Problem
		_, err := Run(context.Background(), Config{Seeds: []string{srv.URL + "/anim.webp"}, Bank: bank, Store: st, Recrawl: true, Limits: lim,
			OnError: func(p report.Problem) {
				mu.Lock()
				problems = append(problems, p)
				mu.Unlock()
			}})
		if err != nil {
			t.Fatal(err)
		}
		var reasons []string
		for _, p := range problems {
			reasons = append(reasons, p.Reason)
		}
		if want := []string{tc.reason}; tc.reason == "" && len(reasons) != 0 || tc.reason != "" && !slices.Equal(reasons, want) {
			t.Errorf("bound %d: problems %+v, want %q", tc.bound, problems, tc.reason)
		}
	}
}
