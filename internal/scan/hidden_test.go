package scan

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image"
	"image/color/palette"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leakwatch/leakwatch/crawler"
	"github.com/leakwatch/leakwatch/fixtures/corpus"
	"github.com/leakwatch/leakwatch/fixtures/transform"
	"github.com/leakwatch/leakwatch/internal/archive/archivetest"
	"github.com/leakwatch/leakwatch/internal/report"
)

func jpegOf(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, transform.Resize(0.8)(img), &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// gifOf makes an animated GIF whose first frame is cover and whose second
// is leak, both dithered to the web palette.
func gifOf(t testing.TB, cover, leak image.Image) []byte {
	t.Helper()
	a := &gif.GIF{}
	r := leak.Bounds()
	for _, img := range []image.Image{cover, leak} {
		p := image.NewPaletted(image.Rect(0, 0, r.Dx(), r.Dy()), palette.WebSafe)
		draw.FloydSteinberg.Draw(p, p.Rect, img, img.Bounds().Min)
		a.Image = append(a.Image, p)
		a.Delay = append(a.Delay, 50)
	}
	var b bytes.Buffer
	if err := gif.EncodeAll(&b, a); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestHiddenImages serves leaks that hide from a crawler that trusts
// Content-Type headers and first frames: images linked by <a href> but
// served as text/html, with no Content-Type and as a generic binary; an
// inline data: image; the second frame of an animated GIF; and a zip
// appended to an unrelated JPEG. Every one must be found.
func TestHiddenImages(t *testing.T) {
	if testing.Short() {
		t.Skip("enrolls and scans a corpus")
	}
	c := corpus.New(11, corpus.WithFaces(3), corpus.WithPlates(4))
	caps := c.Captures
	cover := c.Unrelated[0].Image
	files := map[string]struct {
		ct   string
		body []byte
	}{
		"/view/1": {"text/html; charset=utf-8", jpegOf(t, caps[0].Image)},
		"/raw/2":  {"", jpegOf(t, caps[1].Image)},
		"/bin/3":  {"application/octet-stream", jpegOf(t, caps[2].Image)},
		"/anim":   {"image/gif", gifOf(t, cover, caps[4].Image)},
		"/holiday.jpg": {"image/jpeg", append(jpegOf(t, cover),
			archivetest.Zip(archivetest.File{Name: "x/" + caps[5].ID + ".jpg", Body: jpegOf(t, caps[5].Image)})...)},
		// The same trick one level down: a JPEG with an appended RAR,
		// inside a tar.gz.
		"/album.tgz": {"application/gzip", archivetest.TarGz(archivetest.File{Name: "album/cover.jpg", Body: append(jpegOf(t, c.Unrelated[1].Image),
			archivetest.RAR5(archivetest.File{Name: caps[6].ID + ".jpg", Body: jpegOf(t, caps[6].Image)})...)})},
	}
	inline := base64.StdEncoding.EncodeToString(jpegOf(t, caps[3].Image))
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if f, ok := files[r.URL.Path]; ok {
			if f.ct == "" {
				w.Header()["Content-Type"] = nil // no type, and no sniffing by net/http
			} else {
				w.Header().Set("Content-Type", f.ct)
			}
			_, _ = w.Write(f.body)
			return
		}
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<html><body><a href="/view/1">1</a> <a href="/raw/2">2</a> <a href="/bin/3">3</a>
			<img src="data:image/jpeg;base64,%s"> <img src="/anim"> <a href="/holiday.jpg">holiday</a> <a href="/album.tgz">album</a></body></html>`, inline)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	bank, st := setup(t, c.WriteCaptures)
	var mu sync.Mutex
	var problems []report.Problem
	sum, err := Run(context.Background(), Config{
		Seeds: []string{srv.URL + "/"}, Bank: bank, Store: st,
		Crawler: crawler.Options{RequestTimeout: 20 * time.Second},
		OnError: func(p report.Problem) { mu.Lock(); problems = append(problems, p); mu.Unlock() },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("summary: %+v; problems: %+v", sum, problems)
	incs, err := st.Incidents(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	where := map[string]string{}
	var found []string
	for _, inc := range incs {
		found = append(found, inc.Captures...)
		for _, m := range inc.Matches {
			where[m.CaptureID] = strings.TrimPrefix(m.URL, srv.URL) + " " + m.ArchivePath
		}
	}
	sort.Strings(found)
	var want []string
	for _, cp := range caps {
		want = append(want, cp.ID)
	}
	sort.Strings(want)
	if strings.Join(found, ",") != strings.Join(want, ",") {
		t.Errorf("found %v, want %v", found, want)
	}
	for id, w := range map[string]string{
		caps[0].ID: "/view/1 ", caps[1].ID: "/raw/2 ", caps[2].ID: "/bin/3 ",
		caps[3].ID: "/#inline-image-1 ", caps[4].ID: "/anim#frame=2 ",
		caps[5].ID: "/holiday.jpg (appended zip)!/x/" + caps[5].ID + ".jpg",
		caps[6].ID: "/album.tgz album/cover.jpg!/(appended rar)!/" + caps[6].ID + ".jpg",
	} {
		if where[id] != w {
			t.Errorf("%s found at %q, want %q", id, where[id], w)
		}
	}
}
