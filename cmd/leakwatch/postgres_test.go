package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

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
