package report

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"image"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/leakwatch/leakwatch/fingerprint"
	"github.com/leakwatch/leakwatch/internal/store"
)

// hostile is dump-site text that must reach a reader as text, never markup.
const hostile = `"><script>alert(1)</script><img src=http://evil.test/x>`

type fakeSource struct {
	incs   []store.Incident
	events map[string][]store.Event
	err    error
}

func (f fakeSource) Incidents(_ context.Context, status string) ([]store.Incident, error) {
	var out []store.Incident
	for _, inc := range f.incs {
		if status == "" || inc.Status == status {
			out = append(out, inc)
		}
	}
	return out, f.err
}

func (f fakeSource) Events(_ context.Context, id string) ([]store.Event, error) {
	return f.events[id], nil
}

// sample has a new incident on a site with two captures, three copies (one
// in an archive, one by the feature route, one with hostile names) and two
// alert events, and a resolved incident on another site.
func sample() fakeSource {
	t0 := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	m := func(capture, kind, url, entry, sha, algo, via string, dist, inliers int, first time.Duration) store.Match {
		return store.Match{Evidence: store.Evidence{CaptureID: capture, Kind: kind, URL: url, Page: "http://dump.test/a/", ArchivePath: entry,
			SHA256: strings.Repeat(sha, 32), Algorithm: algo, Via: via, Distance: dist, Inliers: inliers, Quality: 90, Variant: "original"},
			FirstSeen: t0.Add(first), LastSeen: t0.Add(48 * time.Hour)}
	}
	a := store.Incident{ID: "inc_0123456789abcdef", Source: "http://dump.test", Status: store.StatusNew, FirstSeen: t0, LastSeen: t0.Add(48 * time.Hour),
		UpdatedAt: t0.Add(time.Hour), Captures: []string{"plate-0002", "traveller-0007"}, Matches: []store.Match{
			m("plate-0002", "plate", "http://dump.test/pack.zip", "inner.tar!/p 1.png", "cd", "pdq", "window", 18, 0, time.Hour),
			m("traveller-0007", "face", "http://dump.test/a/leak.jpg", "", "ab", "pdq", "", 12, 0, 0),
			m("traveller-0007", "face", "http://dump.test/a/"+hostile, "", "ef", "features", "features", -1, 23, time.Hour),
		}}
	b := store.Incident{ID: "inc_fedcba9876543210", Source: "http://old.test", Status: store.StatusResolved, FirstSeen: t0.Add(-72 * time.Hour),
		LastSeen: t0.Add(-70 * time.Hour), UpdatedAt: t0.Add(-24 * time.Hour), Captures: []string{"traveller-0007"}, Matches: []store.Match{
			m("traveller-0007", "face", "http://old.test/x.jpg", "", "12", "phash", "", 4, 0, -72*time.Hour),
		}}
	b.Matches[0].LastSeen = b.LastSeen
	evs := []store.Event{
		{ID: "evt_0123456789abcdef_v1", Type: store.EventCreated, CreatedAt: t0, Version: 1, Status: store.StatusNew, NewCaptures: []string{"traveller-0007"},
			Deliveries: []store.Delivery{{Endpoint: "webhook:0a1b2c3d4e5f", Status: store.DeliveryDelivered, Attempts: 1, DeliveredAt: t0.Add(time.Second)}}},
		{ID: "evt_0123456789abcdef_v2", Type: store.EventUpdated, CreatedAt: t0.Add(time.Hour), Version: 2, Status: store.StatusNew, NewCaptures: []string{"plate-0002"},
			Deliveries: []store.Delivery{{Endpoint: "webhook:0a1b2c3d4e5f", Status: store.DeliveryPending, Attempts: 2}}},
	}
	return fakeSource{incs: []store.Incident{a, b}, events: map[string][]store.Event{a.ID: evs}}
}

func sampleCaptures(id string) (fingerprint.Capture, bool) {
	switch id {
	case "traveller-0007":
		return fingerprint.Capture{ID: id, Kind: "face", Source: "border-cam-3", EnrolledAt: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC),
			Meta: map[string]string{"site": "Terminal 2", "note": "=cmd|' /C calc'!A0 " + hostile}}, true
	}
	return fingerprint.Capture{}, false
}

func sampleDoc(t *testing.T, o BuildOptions) Document {
	t.Helper()
	o.Now = time.Date(2026, 3, 7, 8, 0, 0, 0, time.UTC)
	if o.Capture == nil {
		o.Capture = sampleCaptures
	}
	o.Store, o.Bank = "/var/lib/leakwatch/leakwatch.db", "/etc/leakwatch/bank.lwb"
	doc, err := Build(context.Background(), sample(), o)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestDocumentGolden(t *testing.T) {
	doc := sampleDoc(t, BuildOptions{})
	for _, tt := range []struct {
		golden string
		write  func(*bytes.Buffer, Document) error
	}{
		{"document.html.golden", func(b *bytes.Buffer, d Document) error { return WriteHTML(b, d) }},
		{"document.json.golden", func(b *bytes.Buffer, d Document) error { return WriteDocumentJSON(b, d) }},
		{"document.csv.golden", func(b *bytes.Buffer, d Document) error { return WriteDocumentCSV(b, d) }},
	} {
		t.Run(tt.golden, func(t *testing.T) {
			var b bytes.Buffer
			if err := tt.write(&b, doc); err != nil {
				t.Fatal(err)
			}
			compare(t, tt.golden, b.Bytes())
		})
	}
}

func TestBuildFilters(t *testing.T) {
	since := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name    string
		f       Filters
		want    []string
		copies  int
		files   int
		statues map[string]int
	}{
		{"all", Filters{}, []string{"inc_0123456789abcdef", "inc_fedcba9876543210"}, 4, 4, map[string]int{"new": 1, "resolved": 1}},
		{"status", Filters{Status: store.StatusResolved}, []string{"inc_fedcba9876543210"}, 1, 1, map[string]int{"resolved": 1}},
		{"since", Filters{Since: since}, []string{"inc_0123456789abcdef"}, 3, 3, map[string]int{"new": 1}},
		{"prefix", Filters{Incidents: []string{"inc_fed", "inc_nothing"}}, []string{"inc_fedcba9876543210"}, 1, 1, map[string]int{"resolved": 1}},
		{"none", Filters{Status: store.StatusAcknowledged}, nil, 0, 0, map[string]int{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			doc := sampleDoc(t, BuildOptions{Filters: tt.f})
			var got []string
			for _, inc := range doc.Incidents {
				got = append(got, inc.ID)
			}
			if !slices.Equal(got, tt.want) || doc.Totals.Incidents != len(tt.want) || doc.Totals.Copies != tt.copies || doc.Totals.Files != tt.files {
				t.Errorf("incidents %v, totals %+v; want %v, %d copies, %d files", got, doc.Totals, tt.want, tt.copies, tt.files)
			}
			for s, n := range tt.statues {
				if doc.Totals.ByStatus[s] != n {
					t.Errorf("by status %v, want %v", doc.Totals.ByStatus, tt.statues)
				}
			}
		})
	}
	if _, err := Build(context.Background(), fakeSource{err: errors.New("disk gone")}, BuildOptions{}); err == nil || !strings.Contains(err.Error(), "disk gone") {
		t.Errorf("store error: %v", err)
	}
}

func TestTimelineAndCaptures(t *testing.T) {
	doc := sampleDoc(t, BuildOptions{})
	inc := doc.Incidents[0]
	var whats []string
	for i, s := range inc.Timeline {
		whats = append(whats, s.What)
		if i > 0 && s.At.Before(inc.Timeline[i-1].At) {
			t.Errorf("timeline out of order at %d: %+v", i, inc.Timeline)
		}
	}
	want := []string{"first seen at http://dump.test", "incident.created (evt_0123456789abcdef_v1)", "incident.updated (evt_0123456789abcdef_v2)",
		"last change; status now new", "last seen"}
	if !slices.Equal(whats, want) {
		t.Errorf("timeline %q, want %q", whats, want)
	}
	if d := inc.Timeline[1].Detail; !strings.Contains(d, "1 new captures: traveller-0007") || !strings.Contains(d, "webhook:0a1b2c3d4e5f delivered after 1 attempts") {
		t.Errorf("created step detail %q", d)
	}
	if len(inc.Captures) != 2 || inc.Captures[0].ID != "plate-0002" || inc.Captures[0].InBank || !inc.Captures[1].InBank ||
		inc.Captures[1].Source != "border-cam-3" || inc.Captures[1].Copies != 2 || inc.Captures[1].Meta["site"] != "Terminal 2" {
		t.Errorf("captures %+v", inc.Captures)
	}
	routes := []string{inc.Matches[0].Route() + " " + inc.Matches[0].Strength(), inc.Matches[1].Route() + " " + inc.Matches[1].Strength(),
		inc.Matches[2].Route() + " " + inc.Matches[2].Strength()}
	if !slices.Equal(routes, []string{"pdq via window distance 18", "pdq, whole image distance 12", "features 23 inliers"}) {
		t.Errorf("routes %q", routes)
	}
}

// TestHTMLSelfContained parses the page and checks that nothing in it
// can reach the network or run: no script, no external reference, no link
// to a dump site; dump-site text is escaped; a thumbnail appears only as a
// data: URL and only when one was given.
func TestHTMLSelfContained(t *testing.T) {
	for _, tt := range []struct {
		name   string
		thumbs bool
	}{{"no evidence", false}, {"thumbnails", true}} {
		t.Run(tt.name, func(t *testing.T) {
			o := BuildOptions{}
			if tt.thumbs {
				o.Evidence = "/srv/evidence"
				o.Thumbnail = func(sha string) ([]byte, bool) { return []byte("JPEG:" + sha[:4]), strings.HasPrefix(sha, "ab") }
			}
			var b bytes.Buffer
			if err := WriteHTML(&b, sampleDoc(t, o)); err != nil {
				t.Fatal(err)
			}
			root, err := html.Parse(bytes.NewReader(b.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			var imgs, rows, csp int
			var text strings.Builder
			var walk func(*html.Node)
			walk = func(n *html.Node) {
				if n.Type == html.TextNode {
					text.WriteString(n.Data)
				}
				if n.Type == html.ElementNode {
					switch n.Data {
					case "script", "link", "iframe", "object", "embed", "a", "form", "base":
						t.Errorf("element <%s> in the report", n.Data)
					case "img":
						imgs++
					case "tr":
						if n.Parent != nil && n.Parent.Data == "tbody" && hasClass(n.Parent.Parent, "evidence") {
							rows++
						}
					case "meta":
						if attr(n, "http-equiv") == "Content-Security-Policy" && strings.Contains(attr(n, "content"), "default-src 'none'") {
							csp++
						}
					}
					for _, a := range n.Attr {
						if strings.HasPrefix(a.Key, "on") {
							t.Errorf("event handler %s on <%s>", a.Key, n.Data)
						}
						switch a.Key {
						case "src", "href", "srcset", "action", "poster", "background":
							if !strings.HasPrefix(a.Val, "data:image/jpeg;base64,") {
								t.Errorf("<%s %s=%q> refers outside the file", n.Data, a.Key, a.Val)
							}
						}
					}
				}
				for c := n.FirstChild; c != nil; c = c.NextSibling {
					walk(c)
				}
			}
			walk(root)
			if strings.Contains(strings.ToLower(b.String()), "url(") || strings.Contains(b.String(), "@import") {
				t.Error("CSS refers to an external resource")
			}
			if csp != 1 {
				t.Error("no Content-Security-Policy forbidding external resources")
			}
			if rows != 4 {
				t.Errorf("%d evidence rows, want 4 (one per copy)", rows)
			}
			wantImgs := 0
			if tt.thumbs {
				wantImgs = 1 // one copy has sha256 ab...
			}
			if imgs != wantImgs {
				t.Errorf("%d images, want %d", imgs, wantImgs)
			}
			for _, s := range []string{hostile, "inc_0123456789abcdef", "inc_fedcba9876543210", "Terminal 2", "features", "23 inliers",
				"inner.tar!/p 1.png", strings.Repeat("cd", 32), "Filters: all incidents."} {
				if !strings.Contains(text.String(), s) {
					t.Errorf("page text lacks %q", s)
				}
			}
		})
	}
}

func hasClass(n *html.Node, c string) bool {
	return slices.Contains(strings.Fields(attr(n, "class")), c)
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func TestDocumentCSVDefused(t *testing.T) {
	var b bytes.Buffer
	if err := WriteDocumentCSV(&b, sampleDoc(t, BuildOptions{})); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 5 || !slices.Equal(recs[0], documentHeader) {
		t.Fatalf("%d records, header %v", len(recs), recs[0])
	}
	for _, r := range recs[1:] {
		for _, cell := range r {
			if cell != "" && strings.ContainsRune("=+-@", rune(cell[0])) && cell != "-1" {
				t.Errorf("cell %q could run as a formula", cell)
			}
		}
	}
}

func TestDocumentJSONRoundTrip(t *testing.T) {
	var b bytes.Buffer
	doc := sampleDoc(t, BuildOptions{Filters: Filters{Status: store.StatusNew}})
	if err := WriteDocumentJSON(&b, doc); err != nil {
		t.Fatal(err)
	}
	var back Document
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Filters.Status != store.StatusNew || len(back.Incidents) != 1 || len(back.Incidents[0].Matches) != 3 || back.Incidents[0].Matches[2].Inliers != 23 {
		t.Errorf("round trip lost data: %+v", back)
	}
}

// TestHTMLInChromium renders the page in headless Chromium (file:// only;
// every host name resolves to nothing and a dead proxy catches the rest,
// so the browser cannot reach any network) and checks the DOM it built.
func TestHTMLInChromium(t *testing.T) {
	bin := chromium()
	if bin == "" {
		t.Skip("no headless Chromium installed (chromium-headless-shell, chromium or google-chrome): the browser check is skipped")
	}
	if testing.Short() {
		t.Skip("browser check skipped in -short mode")
	}
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	var b bytes.Buffer
	if err := WriteHTML(&b, sampleDoc(t, BuildOptions{})); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(page, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--user-data-dir="+filepath.Join(dir, "profile"),
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-default-apps", "--dns-prefetch-disable",
		"--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9", "--dump-dom", "file://"+page)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", bin, err, stderr.Bytes())
	}
	dom := string(out)
	if strings.Contains(dom, "<script") {
		t.Error("the browser built a script element from the report")
	}
	for _, s := range []string{`id="inc_0123456789abcdef"`, `id="inc_fedcba9876543210"`, "Affected captures", "23 inliers", "&lt;script&gt;alert(1)&lt;/script&gt;"} {
		if !strings.Contains(dom, s) {
			t.Errorf("rendered DOM lacks %q", s)
		}
	}
}

// chromium returns the first headless-capable Chromium on PATH, or "".
func chromium() string {
	for _, name := range []string{"chromium-headless-shell", "chromium", "chromium-browser", "google-chrome", "headless_shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"72h", now.Add(-72 * time.Hour), true},
		{"14d", time.Date(2026, 2, 24, 12, 0, 0, 0, time.UTC), true},
		{"2026-03-01", time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), true},
		{"2026-03-01T08:00:00+01:00", time.Date(2026, 3, 1, 7, 0, 0, 0, time.UTC), true},
		{"-5h", time.Time{}, false},
		{"1.5d", time.Time{}, false},
		{"yesterday", time.Time{}, false},
	} {
		got, err := ParseSince(tt.in, now)
		if (err == nil) != tt.ok || !got.Equal(tt.want) {
			t.Errorf("ParseSince(%q) = %v, %v; want %v ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestThumbnail(t *testing.T) {
	src := image.NewRGBA(image.Rect(0, 0, 640, 320))
	for i := range src.Pix {
		src.Pix[i] = byte(i * 7)
	}
	var in bytes.Buffer
	if err := png.Encode(&in, src); err != nil {
		t.Fatal(err)
	}
	th, err := Thumbnail(in.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(th))
	if err != nil || format != "jpeg" || cfg.Width != ThumbnailSide || cfg.Height != ThumbnailSide/2 {
		t.Errorf("thumbnail %s %dx%d: %v", format, cfg.Width, cfg.Height, err)
	}
	if _, err := Thumbnail([]byte("<html>not an image</html>")); err == nil {
		t.Error("a page made a thumbnail")
	}
}

// A report is handed on: the password of a PostgreSQL store named with one
// never goes in it, in any format.
func TestReportRedactsStorePassword(t *testing.T) {
	doc, err := Build(context.Background(), sample(), BuildOptions{Now: time.Now(), Store: "postgres://lw:S3cret@db.internal/lw?sslmode=require"})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, write := range []func(io.Writer, Document) error{WriteHTML, WriteDocumentJSON, WriteDocumentCSV} {
		if err := write(&b, doc); err != nil {
			t.Fatal(err)
		}
	}
	if strings.Contains(b.String(), "S3cret") || !strings.Contains(doc.Store, "db.internal") {
		t.Errorf("store in the report: %q", doc.Store)
	}
}
