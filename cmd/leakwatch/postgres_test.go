package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leakwatch/leakwatch/internal/store/pgtest"
)

// The shared-run commands against a real PostgreSQL (named by
// LEAKWATCH_STORE): enqueue prints a run, a worker works it until idle and
// records the incidents, runs and incidents read them back, doctor checks
// the store. Equivalence with a single-process SQLite scan is
// internal/scan's TestThreeWorkersMatchSingleProcess.
func TestSharedRunCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL and scans")
	}
	pg := pgtest.Start(t).CreateDB(t)
	fx := newOpsFixture(t, 0)
	ctx := context.Background()
	env := map[string]string{"LEAKWATCH_STORE": pg}
	code, stdout, stderr := fx.runEnv(t, ctx, env, "enqueue", "--max-depth", "3", fx.site)
	if code != 0 || strings.TrimSpace(stdout) != "1" {
		t.Fatalf("enqueue: exit %d, stdout %q: %s", code, stdout, stderr)
	}
	if code, _, stderr := fx.runEnv(t, ctx, env, "enqueue", "ftp://nowhere/"); code != 2 || !strings.Contains(stderr, "invalid seed") {
		t.Fatalf("bad seed: exit %d: %s", code, stderr)
	}
	if code, stdout, stderr = fx.runEnv(t, ctx, env, "worker", "--bank", fx.bank, "--exit-when-idle", "--json"); code != 0 || !strings.Contains(stdout, `"type":"finding"`) {
		t.Fatalf("worker: exit %d: %s%s", code, stdout, stderr)
	}
	code, stdout, stderr = fx.runEnv(t, ctx, env, "runs", "show", "1", "--json")
	var ri struct {
		Status   string `json:"status"`
		Done     int    `json:"done"`
		Pending  int    `json:"pending"`
		Findings int    `json:"findings"`
		Workers  []any  `json:"workers"`
	}
	if code != 0 || json.Unmarshal([]byte(stdout), &ri) != nil || ri.Status != "done" || ri.Done == 0 || ri.Pending != 0 || ri.Findings == 0 || len(ri.Workers) != 1 {
		t.Fatalf("runs show: exit %d %q %+v: %s", code, stdout, ri, stderr)
	}
	if code, stdout, _ = fx.runEnv(t, ctx, env, "runs", "list"); code != 0 || !strings.Contains(stdout, "done") {
		t.Fatalf("runs list: exit %d %q", code, stdout)
	}
	if code, stdout, _ = fx.runEnv(t, ctx, env, "incidents", "list"); code != 0 || !strings.Contains(stdout, "inc_") {
		t.Fatalf("incidents list: exit %d %q", code, stdout)
	}
	_, stdout, stderr = fx.runEnv(t, ctx, nil, "doctor", "--bank", fx.bank, "--store", pg)
	if !strings.Contains(stdout, "ok   store    postgres://leakwatch@127.0.0.1:") || !strings.Contains(stdout, "ok   lock") {
		t.Fatalf("doctor on the postgres store:\n%s%s", stdout, stderr)
	}
}

// A worker serves its own metrics on loopback with --worker-listen: its
// ID on every series, the items it claimed and completed, its lease
// renewals and claim latency; a non-loopback address is refused.
func TestWorkerMetricsEndpoint(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL and scans")
	}
	pg := pgtest.Start(t).CreateDB(t)
	// Every request takes half a second, longer than a third of the
	// lease: items are renewed while they are worked on.
	fx := newOpsFixture(t, 500*time.Millisecond)
	env := map[string]string{"LEAKWATCH_STORE": pg}
	if code, _, stderr := fx.runEnv(t, context.Background(), env, "worker", "--bank", fx.bank, "--worker-listen", "192.0.2.1:9481"); code != 2 || !strings.Contains(stderr, "--worker-listen 192.0.2.1:9481 is not a loopback address") {
		t.Fatalf("non-loopback --worker-listen: exit %d: %s", code, stderr)
	}
	if code, stdout, stderr := fx.runEnv(t, context.Background(), env, "enqueue", "--max-depth", "3", fx.site); code != 0 {
		t.Fatalf("enqueue: exit %d %q: %s", code, stdout, stderr)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	var werr string
	go func() {
		code, _, stderr := fx.runEnv(t, ctx, env, "worker", "--bank", fx.bank, "--worker-id", "wk-7", "--lease", "1s", "--worker-listen", addr, "--log-level", "info")
		werr = stderr
		done <- code
	}()
	scrape := func() string {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			return ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	value := func(body, series string) float64 {
		for _, line := range strings.Split(body, "\n") {
			if rest, ok := strings.CutPrefix(line, series+" "); ok {
				v, _ := strconv.ParseFloat(rest, 64)
				return v
			}
		}
		return -1
	}
	var body string
	deadline := time.Now().Add(3 * time.Minute)
	for {
		body = scrape()
		// The run is done when another claim finds nothing: wait for the
		// counters to settle on the whole run.
		if code, stdout, _ := fx.runEnv(t, context.Background(), env, "runs", "show", "1"); code == 0 && strings.Contains(stdout, "run 1: done") &&
			value(body, `leakwatch_worker_items_done_total{worker="wk-7"}`) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("run not done in time; metrics:\n%s", body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	body = scrape()
	code, stdout, _ := fx.runEnv(t, context.Background(), env, "runs", "show", "1", "--json")
	var ri struct{ Done, Failed int }
	if code != 0 || json.Unmarshal([]byte(stdout), &ri) != nil {
		t.Fatalf("runs show: exit %d %q", code, stdout)
	}
	claimed := value(body, `leakwatch_worker_items_claimed_total{worker="wk-7"}`)
	done2 := value(body, `leakwatch_worker_items_done_total{worker="wk-7"}`)
	failed := value(body, `leakwatch_worker_items_failed_total{worker="wk-7"}`)
	if int(done2) != ri.Done || int(failed) != ri.Failed || int(claimed) != ri.Done+ri.Failed {
		t.Errorf("worker counted %v claimed, %v done, %v failed; the run has %d done, %d failed", claimed, done2, failed, ri.Done, ri.Failed)
	}
	for _, series := range []string{
		`leakwatch_worker_claim_seconds_count{worker="wk-7"}`,
		`leakwatch_worker_lease_renewals_total{worker="wk-7"}`,
	} {
		if value(body, series) <= 0 {
			t.Errorf("%s is not positive", series)
		}
	}
	for _, series := range []string{
		`leakwatch_worker_leases_lost_total{worker="wk-7"}`,
		`leakwatch_worker_store_retries_total{op="claim",worker="wk-7"}`,
		`leakwatch_worker_tx_retries_total{worker="wk-7"}`,
	} {
		if value(body, series) != 0 {
			t.Errorf("%s: want 0 on a healthy store", series)
		}
	}
	cancel()
	if code := <-done; code != exitInterrupted {
		t.Errorf("worker stopped with exit %d, want %d", code, exitInterrupted)
	}
	if scrape() != "" {
		t.Error("the metrics endpoint outlived the worker")
	}
	if t.Failed() {
		t.Logf("worker's log:\n%s", werr)
	}
}
