package metrics

import (
	"encoding/json"
	"net/http"
	"sync"
	"time"
)

// Health tracks recent runs for /healthz. It is safe for concurrent use.
type Health struct {
	// UnhealthyAfter is how many failed runs in a row make the watcher
	// unhealthy (default 3).
	UnhealthyAfter int

	mu          sync.Mutex
	started     time.Time
	lastRun     time.Time
	lastStatus  string
	lastSuccess time.Time
	failures    int
	runs        int
	skipped     int
}

// NewHealth returns a tracker for a watcher started at start.
func NewHealth(start time.Time, unhealthyAfter int) *Health {
	if unhealthyAfter <= 0 {
		unhealthyAfter = 3
	}
	return &Health{UnhealthyAfter: unhealthyAfter, started: start}
}

// Observe records a run's status at its end. Interrupted runs do not count
// either way.
func (h *Health) Observe(status string, end time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if status == StatusInterrupted {
		return
	}
	h.runs++
	h.lastRun, h.lastStatus = end, status
	if status == StatusFailed {
		h.failures++
		return
	}
	h.failures = 0
	h.lastSuccess = end
}

// Skipped records a run skipped because of the lock.
func (h *Health) Skipped() {
	h.mu.Lock()
	h.skipped++
	h.mu.Unlock()
}

// Report is the /healthz body.
type Report struct {
	// Status is "ok", "starting" (no run finished yet) or "failing".
	Status              string    `json:"status"`
	Started             time.Time `json:"started"`
	LastRun             time.Time `json:"last_run,omitzero"`
	LastRunStatus       string    `json:"last_run_status,omitempty"`
	LastSuccess         time.Time `json:"last_success,omitzero"`
	ConsecutiveFailures int       `json:"consecutive_failures"`
	Runs                int       `json:"runs"`
	SkippedLocked       int       `json:"skipped_locked"`
}

// Report returns the current health.
func (h *Health) Report() Report {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := Report{Status: "ok", Started: h.started, LastRun: h.lastRun, LastRunStatus: h.lastStatus,
		LastSuccess: h.lastSuccess, ConsecutiveFailures: h.failures, Runs: h.runs, SkippedLocked: h.skipped}
	switch {
	case h.failures >= h.UnhealthyAfter:
		r.Status = "failing"
	case h.runs == 0:
		r.Status = "starting"
	}
	return r
}

// ServeHTTP answers 200 with the report, or 503 when failing.
func (h *Health) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	r := h.Report()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if r.Status == "failing" {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(r)
}

// Mux serves /metrics from m and /healthz from h.
func Mux(m *Metrics, h *Health) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler())
	mux.Handle("/healthz", h)
	return mux
}
