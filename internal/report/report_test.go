package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leakwatch/leakwatch/fingerprint"
	"github.com/leakwatch/leakwatch/internal/metrics"
	"github.com/leakwatch/leakwatch/internal/outbox"
	"github.com/leakwatch/leakwatch/internal/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// messages is a run that touches every field: a finding on a page, one in
// a nested archive from a hostile site, an error, a scan's summary with
// alerts, a watcher's failed and partial runs, and a skipped run.
func messages(w Writer) error {
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	ev := store.Evidence{CaptureID: "traveller-0007", Kind: "face", URL: "http://dump.test/a/leak.jpg", Page: "http://dump.test/a/",
		SHA256: strings.Repeat("ab", 32), Algorithm: "pdq", Distance: 12, Quality: 93, Variant: "original"}
	inArchive := ev
	inArchive.CaptureID, inArchive.Kind, inArchive.Page = "=HYPERLINK(\"x\")", "plate", ""
	inArchive.URL, inArchive.ArchivePath = "http://dump.test/pack.zip", "inner.tar!/photos/p 1.png"
	inArchive.Distance, inArchive.Variant = 30, ""
	sum := Summary{RunID: 3, Pages: 4, Unchanged: 1, Assets: 9, Images: 7, Hashed: 5, Cached: 2, Unhashable: 1, PatchLimited: 1, FeatureLimited: 1, HashLimited: 1, Reviewed: 2,
		Matches: 2, Errors: 2, ErrorsBy: map[string]int64{"size_limit": 1, "corrupt_image": 1},
		Incidents: []IncidentChange{
			{ID: "inc_0123456789abcdef", Source: "http://dump.test", Created: true, NewCaptures: []string{"traveller-0007"}, Event: "evt_0123456789abcdef_v1"},
			{ID: "inc_fedcba9876543210", Source: "http://old.test", NewCaptures: []string{}},
		},
		Duration: 1500 * time.Millisecond}
	steps := []func() error{
		func() error { return w.Finding(Finding{Evidence: ev, IncidentID: "inc_0123456789abcdef"}) },
		func() error { return w.Finding(Finding{Evidence: inArchive, IncidentID: "inc_0123456789abcdef"}) },
		func() error {
			return w.Error(Problem{URL: "http://dump.test/bomb.png", Reason: "pixel_limit", Err: "image too large: 100000x100000 pixels <script>"})
		},
		func() error {
			return w.Finished(Finished{Summary: sum, Alerts: &outbox.Result{Delivered: 1, Retrying: 1}})
		},
		func() error {
			return w.Finished(Finished{Status: metrics.StatusFailed, Err: "open bank: no such file", Summary: Summary{}})
		},
		func() error {
			return w.Finished(Finished{Status: metrics.StatusPartial, Summary: Summary{RunID: 4, ErrorsBy: map[string]int64{}, Incidents: []IncidentChange{}}})
		},
		func() error { return w.Skipped(Skipped{Reason: "locked", At: at}) },
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return err
		}
	}
	return nil
}

// lines renders Finished.Lines for the summaries in messages.
type lines struct{ bytes.Buffer }

func (l *lines) Finding(Finding) error { return nil }
func (l *lines) Error(Problem) error   { return nil }
func (l *lines) Skipped(Skipped) error { return nil }
func (l *lines) Finished(f Finished) error {
	for _, s := range f.Lines() {
		l.WriteString(s + "\n")
	}
	l.WriteString("--\n")
	return nil
}

func TestGolden(t *testing.T) {
	tests := []struct {
		golden string
		writer func(*bytes.Buffer) Writer
	}{
		{"json.golden", func(b *bytes.Buffer) Writer { return NewJSON(b) }},
		{"text.golden", func(b *bytes.Buffer) Writer { return NewText(b) }},
		{"csv.golden", func(b *bytes.Buffer) Writer { return NewCSV(b) }},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			var b bytes.Buffer
			if err := messages(tt.writer(&b)); err != nil {
				t.Fatal(err)
			}
			compare(t, tt.golden, b.Bytes())
		})
	}
	t.Run("summary.golden", func(t *testing.T) {
		var l lines
		if err := messages(&l); err != nil {
			t.Fatal(err)
		}
		compare(t, "summary.golden", l.Bytes())
	})
}

// TestFileMatchGolden renders the match command's results: a file with two
// matches, one with none, an unhashable one and an unreadable one.
func TestFileMatchGolden(t *testing.T) {
	rect := [4]int{10, 20, 110, 220}
	files := []FileMatch{
		{Path: "leaks/a.jpg", Quality: 88, Matches: []fingerprint.Match{
			{CaptureID: "traveller-0007", Kind: "face", Algorithm: fingerprint.AlgoPDQ, Distance: 8, Variant: "original", Quality: 88, PHashDistance: 4},
			{CaptureID: "plate-0002", Kind: "plate", Algorithm: fingerprint.AlgoPDQ, Distance: 40, Variant: "flipx", Region: 2, Via: "patch", Rect: &rect, Quality: 70, PHashDistance: -1},
		}},
		{Path: "leaks/b.png", Quality: 91, Matches: []fingerprint.Match{}},
		{Path: "leaks/flat.png", Quality: 12, Matches: []fingerprint.Match{}, Unhashable: true, Error: "image quality too low"},
		{Path: "leaks/broken.gif", Matches: []fingerprint.Match{}, Error: "corrupt image"},
	}
	tests := []struct {
		golden string
		write  func(*bytes.Buffer, FileMatch) error
	}{
		{"files.json.golden", func(b *bytes.Buffer, r FileMatch) error { return NewJSON(b).FileMatch(r) }},
		{"files.text.golden", func(b *bytes.Buffer, r FileMatch) error { return NewText(b).FileMatch(r) }},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			var b bytes.Buffer
			for _, r := range files {
				if err := tt.write(&b, r); err != nil {
					t.Fatal(err)
				}
			}
			compare(t, tt.golden, b.Bytes())
		})
	}
}

// TestAffectedGolden renders an incident's affected captures for export:
// one capture seen twice (once in an archive), one whose ID and URL would
// be a spreadsheet formula.
func TestAffectedGolden(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	rows := []store.Affected{
		{IncidentID: "inc_0123456789abcdef", CaptureID: "traveller-0007", Kind: "face", FirstSeen: t0, LastSeen: t0.Add(time.Hour),
			BestDistance: 4, Copies: 2, URLs: []string{"http://dump.test/1.jpg", "http://dump.test/a.zip#in/2.jpg"}},
		{IncidentID: "inc_0123456789abcdef", CaptureID: "+plate", Kind: "plate", FirstSeen: t0, LastSeen: t0,
			BestDistance: 30, Copies: 1, URLs: []string{"=cmd|' /C calc'!A0"}},
	}
	tests := []struct {
		golden string
		write  func(*bytes.Buffer, []store.Affected) error
	}{
		{"affected.csv.golden", func(b *bytes.Buffer, r []store.Affected) error { return WriteAffectedCSV(b, r) }},
		{"affected.json.golden", func(b *bytes.Buffer, r []store.Affected) error { return WriteAffectedJSON(b, r) }},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			var b bytes.Buffer
			if err := tt.write(&b, rows); err != nil {
				t.Fatal(err)
			}
			compare(t, tt.golden, b.Bytes())
		})
	}
}

// compare checks got against testdata/name, or rewrites it with -update.
func compare(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it after a deliberate change):\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}

// TestConcurrentLines checks that lines written from many goroutines stay
// whole: a scan reports findings from several at once.
func TestConcurrentLines(t *testing.T) {
	tests := []struct {
		name   string
		writer func(*bytes.Buffer) Writer
		lines  int // per finding, after any header
		header int
	}{
		{"json", func(b *bytes.Buffer) Writer { return NewJSON(b) }, 1, 0},
		{"text", func(b *bytes.Buffer) Writer { return NewText(b) }, 1, 0},
		{"csv", func(b *bytes.Buffer) Writer { return NewCSV(b) }, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			w := tt.writer(&b)
			f := Finding{Evidence: store.Evidence{CaptureID: "c", URL: "http://dump.test/" + strings.Repeat("x", 2000)}, IncidentID: "inc_1"}
			var wg sync.WaitGroup
			for range 50 {
				wg.Go(func() {
					if err := w.Finding(f); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			got := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
			if len(got) != tt.header+50*tt.lines {
				t.Fatalf("%d lines, want %d", len(got), tt.header+50*tt.lines)
			}
			for _, l := range got[tt.header:] {
				if l != got[tt.header] {
					t.Fatalf("torn line %q", l)
				}
			}
		})
	}
}

func TestDefuse(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"http://dump.test/a.jpg", "http://dump.test/a.jpg"},
		{"=1+1", "'=1+1"},
		{"+1", "'+1"},
		{"-1", "'-1"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\tx", "'\tx"},
		{"\rx", "'\rx"},
		{"a=b", "a=b"},
	}
	for _, tt := range tests {
		if got := Defuse(tt.in); got != tt.want {
			t.Errorf("Defuse(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// A capture left for review is a JSON line of its own type, "type" first,
// with where it was found and the feature route's evidence.
func TestJSONReview(t *testing.T) {
	var b bytes.Buffer
	rect := [4]int{1, 2, 30, 40}
	r := Review{URL: "http://dump.test/a.jpg", Page: "http://dump.test/", SHA256: "ab", Match: fingerprint.Match{
		CaptureID: "cam-0", Kind: "plate", Algorithm: fingerprint.AlgoFeatures, Distance: -1, Variant: "original",
		Via: fingerprint.ViaFeatures, Rect: &rect, PHashDistance: -1, Inliers: 9, LogNFA: -12.5, SitesRead: 40, SitesAgree: 26}}
	if err := NewJSON(&b).Review(r); err != nil {
		t.Fatal(err)
	}
	line := b.String()
	if !strings.HasPrefix(line, `{"type":"review","url":"http://dump.test/a.jpg","page":"http://dump.test/","sha256":"ab","capture_id":"cam-0"`) {
		t.Errorf("review line %s", line)
	}
	var back struct {
		Type string `json:"type"`
		Review
	}
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Type != TypeReview || back.Inliers != 9 || back.LogNFA != -12.5 || back.SitesRead != 40 || back.SitesAgree != 26 || *back.Rect != rect {
		t.Errorf("read back %+v", back)
	}
}

// A URL recorded raw by an older build reaches the text output without
// the characters that would act on the terminal or reorder the line.
func TestTextFindingShowsURLSafely(t *testing.T) {
	var b bytes.Buffer
	ev := store.Evidence{CaptureID: "c1", URL: "http://dump.example/a.jpg?\u202eexe.gpj\x1b[2J\u009b31m"}
	if err := NewText(&b).Finding(Finding{Evidence: ev, IncidentID: "inc_1"}); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); strings.ContainsAny(got, "\u202e\x1b\u009b") || !strings.Contains(got, "http://dump.example/a.jpg?exe.gpj[2J31m") {
		t.Errorf("text finding %q", got)
	}
}
