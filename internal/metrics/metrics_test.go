package metrics

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func scrape(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	b, _ := io.ReadAll(rec.Body)
	return rec.Code, string(b)
}

func TestMetricsExposition(t *testing.T) {
	pending := 7.0
	m := New(Options{Pending: func() float64 { return pending }})
	end := time.Unix(1_700_000_000, 0)
	m.ObserveRun(Run{Status: StatusPartial, Pages: 12, ImagesHashed: 30, Matches: 4, IncidentsChanged: 2,
		ErrorsBy: map[string]int64{"timeout": 2, "corrupt_image": 1}}, end)
	m.ObserveRun(Run{Status: StatusFailed}, end.Add(time.Hour))
	m.ObserveAlerts(3, 5)
	m.SkippedLocked()
	_, body := scrape(t, Mux(m, NewHealth(end, 3)), "/metrics")
	for _, want := range []string{
		"leakwatch_pages_fetched_total 12",
		"leakwatch_images_hashed_total 30",
		"leakwatch_matches_total 4",
		"leakwatch_incidents_changed_total 2",
		`leakwatch_scan_errors_total{reason="timeout"} 2`,
		`leakwatch_scan_errors_total{reason="corrupt_image"} 1`,
		"leakwatch_alerts_delivered_total 3",
		"leakwatch_alerts_failed_total 5",
		`leakwatch_runs_total{status="partial"} 1`,
		`leakwatch_runs_total{status="failed"} 1`,
		`leakwatch_runs_total{status="ok"} 0`,
		"leakwatch_runs_skipped_locked_total 1",
		"leakwatch_last_success_timestamp_seconds 1.7e+09", // the failed run does not move it
		"leakwatch_outbox_pending 7",
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(body, "go_goroutines") {
		t.Error("runtime collectors registered without Options.Runtime")
	}
}

func TestRegistriesAreIndependent(t *testing.T) {
	a, b := New(Options{}), New(Options{Runtime: true})
	a.SkippedLocked()
	_, body := scrape(t, b.Handler(), "/metrics")
	if !strings.Contains(body, "leakwatch_runs_skipped_locked_total 0\n") {
		t.Error("a counter from one set shows in another")
	}
	if !strings.Contains(body, "go_goroutines") {
		t.Error("Options.Runtime did not add the Go collector")
	}
}

func TestHealth(t *testing.T) {
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	steps := []struct {
		status     string // run status observed, or "skip"
		wantCode   int
		wantStatus string
	}{
		{"", http.StatusOK, "starting"},
		{StatusFailed, http.StatusOK, "ok"},
		{StatusInterrupted, http.StatusOK, "ok"},
		{"skip", http.StatusOK, "ok"},
		{StatusFailed, http.StatusServiceUnavailable, "failing"},
		{StatusPartial, http.StatusOK, "ok"},
		{StatusFailed, http.StatusOK, "ok"},
	}
	h := NewHealth(start, 2)
	for i, st := range steps {
		end := start.Add(time.Duration(i) * time.Hour)
		switch st.status {
		case "":
		case "skip":
			h.Skipped()
		default:
			h.Observe(st.status, end)
		}
		code, body := scrape(t, h, "/healthz")
		var r Report
		if err := json.Unmarshal([]byte(body), &r); err != nil {
			t.Fatalf("step %d: %v: %s", i, err, body)
		}
		if code != st.wantCode || r.Status != st.wantStatus {
			t.Errorf("step %d (%s): %d %s, want %d %s", i, st.status, code, r.Status, st.wantCode, st.wantStatus)
		}
	}
	r := h.Report()
	if r.Runs != 4 || r.SkippedLocked != 1 || r.ConsecutiveFailures != 1 || !r.LastSuccess.Equal(start.Add(5*time.Hour)) {
		t.Errorf("final report %+v", r)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/healthz", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /healthz = %d", rec.Code)
	}
}

// TestCountersMoveDuringARun reports a run's progress twice and then its
// end: the counters follow the run as it goes and count each item once,
// and the build, the bank, the run's duration and per-endpoint failures
// are exported.
func TestCountersMoveDuringARun(t *testing.T) {
	m := New(Options{Version: "v1.2.3"})
	m.BankCaptures(40)
	m.Live(Run{Pages: 3, ImagesHashed: 10, Matches: 1, ErrorsBy: map[string]int64{"timeout": 1}})
	_, body := scrape(t, m.Handler(), "/metrics")
	for _, want := range []string{"leakwatch_pages_fetched_total 3", "leakwatch_images_hashed_total 10", `leakwatch_scan_errors_total{reason="timeout"} 1`,
		`leakwatch_build_info{goversion="go`, `version="v1.2.3"} 1`, "leakwatch_bank_captures 40"} {
		if !strings.Contains(body, want) {
			t.Errorf("during the run: no %q in\n%s", want, body)
		}
	}
	m.Live(Run{Pages: 5, ImagesHashed: 12, Matches: 1, ErrorsBy: map[string]int64{"timeout": 2}})
	m.ObserveRun(Run{Status: StatusPartial, Duration: 90 * time.Second, Pages: 7, ImagesHashed: 12, Matches: 2, ErrorsBy: map[string]int64{"timeout": 2, "size_limit": 1}}, time.Now())
	m.EndpointAttempt("slack:0a1b2c3d4e5f", errors.New("503"))
	m.EndpointAttempt("slack:0a1b2c3d4e5f", nil)
	_, body = scrape(t, m.Handler(), "/metrics")
	for _, want := range []string{"leakwatch_pages_fetched_total 7", "leakwatch_images_hashed_total 12", "leakwatch_matches_total 2",
		`leakwatch_scan_errors_total{reason="timeout"} 2`, `leakwatch_scan_errors_total{reason="size_limit"} 1`,
		"leakwatch_run_duration_seconds_count 1", "leakwatch_run_duration_seconds_sum 90",
		`leakwatch_alert_endpoint_failures_total{endpoint="slack:0a1b2c3d4e5f"} 1`} {
		if !strings.Contains(body, want) {
			t.Errorf("after the run: no %q in\n%s", want, body)
		}
	}
	// The next run starts from zero again.
	m.Live(Run{Pages: 1})
	if _, body = scrape(t, m.Handler(), "/metrics"); !strings.Contains(body, "leakwatch_pages_fetched_total 8") {
		t.Errorf("second run: pages not added once: %s", body)
	}
}

func TestWorkerMetrics(t *testing.T) {
	tx := 2.0
	w := NewWorker("host:1:ab", Options{TxRetries: func() float64 { return tx }})
	w.Claimed(3, 2*time.Millisecond)
	w.Claimed(0, time.Millisecond)
	w.Finished(false)
	w.Finished(true)
	w.Released()
	w.LeaseRenewed()
	w.LeaseLost()
	w.StoreRetry("heartbeat")
	_, body := scrape(t, w.Handler(), "/metrics")
	for _, want := range []string{
		`leakwatch_worker_items_claimed_total{worker="host:1:ab"} 3`,
		`leakwatch_worker_items_done_total{worker="host:1:ab"} 1`,
		`leakwatch_worker_items_failed_total{worker="host:1:ab"} 1`,
		`leakwatch_worker_items_released_total{worker="host:1:ab"} 1`,
		`leakwatch_worker_lease_renewals_total{worker="host:1:ab"} 1`,
		`leakwatch_worker_leases_lost_total{worker="host:1:ab"} 1`,
		`leakwatch_worker_claim_seconds_count{worker="host:1:ab"} 2`,
		`leakwatch_worker_store_retries_total{op="heartbeat",worker="host:1:ab"} 1`,
		`leakwatch_worker_store_retries_total{op="claim",worker="host:1:ab"} 0`,
		`leakwatch_worker_tx_retries_total{worker="host:1:ab"} 2`,
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("worker metrics lack %q", want)
		}
	}
}
