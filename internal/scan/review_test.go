package scan

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leakwatch/leakwatch/fingerprint"
	"github.com/leakwatch/leakwatch/fixtures/imagegen"
	"github.com/leakwatch/leakwatch/internal/report"
	"github.com/leakwatch/leakwatch/internal/store"
)

// TestScanLogsReviewLeads: a dump image that is another frame of an
// enrolled fixed camera (two of its frames enrolled) is no match, but the
// feature route placed a capture in it significantly: the scan counts it
// for review and logs the capture with its evidence.
func TestScanLogsReviewLeads(t *testing.T) {
	ctx := context.Background()
	frame := func(k int) []byte {
		img, _ := imagegen.CheckpointFrame(100, k)
		return jpegOf(t, img)
	}
	bank := fingerprint.NewBank()
	for _, k := range []int{0, 9} {
		d, err := fingerprint.DecodeBytes(frame(k), fingerprint.DefaultLimits(), fingerprint.ForEnroll())
		if err != nil {
			t.Fatal(err)
		}
		e, err := fingerprint.EnrollImage(d.Image)
		if err != nil {
			t.Fatal(err)
		}
		e.Capture = fingerprint.Capture{ID: fmt.Sprintf("cam-%d", k), Kind: "plate"}
		if err := bank.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	other := frame(1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/jpeg")
		_, _ = w.Write(other)
	}))
	defer srv.Close()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "lw.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var logs bytes.Buffer
	var reviews []report.Review
	sum, err := Run(ctx, Config{Seeds: []string{srv.URL + "/frame.jpg"}, Bank: bank, Store: st,
		Logger: slog.New(slog.NewJSONHandler(&logs, nil)), OnReview: func(r report.Review) { reviews = append(reviews, r) }})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Images != 1 || sum.Matches != 0 || sum.Reviewed != 1 {
		t.Fatalf("summary %+v, want one image, no match, one for review", sum)
	}
	found := false
	for line := range strings.Lines(logs.String()) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
		if msg, _ := rec["msg"].(string); strings.HasPrefix(msg, "for review") {
			found = true
			id, _ := rec["capture_id"].(string)
			inliers, _ := rec["inliers"].(float64)
			read, _ := rec["sites_read"].(float64)
			agree, _ := rec["sites_agree"].(float64)
			if !strings.HasPrefix(id, "cam-") || rec["url"] != srv.URL+"/frame.jpg" || inliers < 3 || read < 12 || 2*agree < read {
				t.Errorf("review line without its evidence: %s", line)
			}
		}
	}
	if !found {
		t.Errorf("no review line logged:\n%s", logs.String())
	}
	if len(reviews) == 0 || reviews[0].URL != srv.URL+"/frame.jpg" || len(reviews[0].SHA256) != 64 || !strings.HasPrefix(reviews[0].CaptureID, "cam-") {
		t.Errorf("reviews streamed: %+v", reviews)
	}
}
