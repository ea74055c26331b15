package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leakwatch/leakwatch/internal/lock"
	"github.com/leakwatch/leakwatch/internal/metrics"
)

var listenRE = regexp.MustCompile(`metrics on http://([0-9.:]+)/metrics`)

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// metricValue returns the value of one sample line, or -1.
func metricValue(body, sample string) float64 {
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, sample+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err == nil {
				return f
			}
		}
	}
	return -1
}

// TestWatchScansServesAndShutsDown runs the watcher in-process: it scans
// on schedule, alerts, serves /metrics and /healthz, and exits 0 when its
// context ends (what SIGTERM does).
func TestWatchScansServesAndShutsDown(t *testing.T) {
	if testing.Short() {
		t.Skip("runs several scans")
	}
	fx := newOpsFixture(t, 0)
	recv := newReceiver(t, fx.secret)
	storePath := filepath.Join(fx.dir, "lw.db")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	e := fx.envFor(nil)
	e.stdout, e.stderr = &stdout, &stderr
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"watch", "--schedule", "@every 1s", "--listen", "127.0.0.1:0", "--bank", fx.bank,
			"--store", storePath, "--webhook", recv.URL, fx.site}, e)
	}()
	var addr string
	waitFor(t, "the metrics address", 30*time.Second, func() bool {
		m := listenRE.FindStringSubmatch(stderr.String())
		if m != nil {
			addr = m[1]
		}
		return m != nil
	})
	var health metrics.Report
	waitFor(t, "two finished runs", 60*time.Second, func() bool {
		_, body := httpGet(t, "http://"+addr+"/healthz")
		_ = json.Unmarshal([]byte(body), &health)
		return health.Runs >= 2
	})
	if health.Status != "ok" || health.LastSuccess.IsZero() {
		t.Errorf("health = %+v", health)
	}
	if _, err := recv.Wait(ctx, 1); err != nil {
		t.Fatal(err)
	}
	// Deliveries are counted when the delivery batch ends, a moment after
	// the receiver has the webhook.
	var code int
	var body string
	waitFor(t, "a delivery counted", 30*time.Second, func() bool {
		code, body = httpGet(t, "http://"+addr+"/metrics")
		return code != http.StatusOK || metricValue(body, "leakwatch_alerts_delivered_total") >= 1
	})
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	if v := metricValue(body, "leakwatch_matches_total"); v <= 0 {
		t.Errorf("leakwatch_matches_total = %v", v)
	}
	if v := metricValue(body, "leakwatch_alerts_delivered_total"); v < 1 {
		t.Errorf("leakwatch_alerts_delivered_total = %v", v)
	}
	ok, partial := metricValue(body, `leakwatch_runs_total{status="ok"}`), metricValue(body, `leakwatch_runs_total{status="partial"}`)
	if ok+partial < 2 {
		t.Errorf("runs ok %v + partial %v < 2", ok, partial)
	}
	if v := metricValue(body, "leakwatch_last_success_timestamp_seconds"); v < float64(time.Now().Add(-time.Hour).Unix()) {
		t.Errorf("last success timestamp = %v", v)
	}
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("watch exited %d after shutdown; stderr:\n%s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("watch did not stop")
	}
	if !strings.Contains(stderr.String(), "shutdown complete") {
		t.Errorf("stderr lacks the shutdown message:\n%s", stderr.String())
	}
	// Every event in the outbox reached the receiver, each once by ID.
	st := openStore(t, storePath)
	ids, err := st.EventIDs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, ev := range recv.Received() {
		got[ev.ID] = true
	}
	for _, id := range ids {
		if !got[id] {
			t.Errorf("event %s was not delivered", id)
		}
	}
}

// TestWatchSkipsLockedRuns holds the store lock as another run would: the
// watcher skips each tick, reports it and still exits cleanly.
func TestWatchSkipsLockedRuns(t *testing.T) {
	fx := newOpsFixture(t, 0)
	storePath := filepath.Join(fx.dir, "lw.db")
	lk, err := lock.Acquire(context.Background(), storePath+".lock", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Release()
	code, stdout, stderr := fx.run(t, context.Background(), "watch", "--schedule", "@every 1s", "--ticks", "2", "--listen", "off",
		"--json", "--bank", fx.bank, "--store", storePath, fx.site)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if n := strings.Count(stdout, `"type":"skipped","reason":"locked"`); n != 2 {
		t.Errorf("%d skipped lines, want 2:\n%s", n, stdout)
	}
	if strings.Contains(stdout, `"type":"summary"`) || strings.Contains(stdout, `"type":"finding"`) {
		t.Errorf("a run happened despite the lock:\n%s", stdout)
	}
	if !strings.Contains(stderr, "run skipped") || !strings.Contains(stderr, "pid "+strconv.Itoa(os.Getpid())) {
		t.Errorf("stderr does not explain the skip and name the holder:\n%s", stderr)
	}
}

// TestWatchReloadsBank starts with a bank of one capture, replaces the
// bank file between runs (as enroll does) and expects the second run to
// find the captures only the new bank holds.
func TestWatchReloadsBank(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two scans")
	}
	fx := newOpsFixture(t, 0)
	manifest, err := os.ReadFile(filepath.Join(fx.captures, "manifest.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(manifest), "\n")
	small := filepath.Join(fx.captures, "one.csv")
	if err := os.WriteFile(small, []byte(lines[0]+lines[1]), 0o644); err != nil {
		t.Fatal(err)
	}
	first := strings.SplitN(lines[1], ",", 3)[1] // capture_id of the only row
	oneBank := filepath.Join(fx.dir, "one.lwb")
	if code, _, stderr := fx.run(t, context.Background(), "enroll", "--bank", oneBank, "--manifest", small); code != 0 {
		t.Fatalf("enroll: %s", stderr)
	}
	live := filepath.Join(fx.dir, "live.lwb")
	copyFile(t, oneBank, live)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stdout, stderr syncBuffer
	e := fx.envFor(nil)
	e.stdout, e.stderr = &stdout, &stderr
	done := make(chan int, 1)
	go func() {
		// Three runs: a run that takes longer than the 1 s period starts
		// the next at once, possibly before the bank below is replaced, so
		// only the last run is sure to see the new bank.
		done <- run(ctx, []string{"watch", "--schedule", "@every 1s", "--ticks", "3", "--listen", "off", "--json",
			"--bank", live, "--store", filepath.Join(fx.dir, "lw.db"), fx.site}, e)
	}()
	waitFor(t, "the first run", time.Minute, func() bool { return strings.Contains(stdout.String(), `"type":"summary"`) })
	// Replace the bank the way enroll does: write a new file, rename it over.
	tmp := live + ".new"
	copyFile(t, fx.bank, tmp)
	if err := os.Rename(tmp, live); err != nil {
		t.Fatal(err)
	}
	if code := <-done; code != exitOK {
		t.Fatalf("watch exited %d: %s", code, stderr.String())
	}
	// Findings stream before their run's summary line.
	var found []map[string]bool
	cur := map[string]bool{}
	for _, line := range strings.Split(stdout.String(), "\n") {
		var l struct {
			Type      string `json:"type"`
			CaptureID string `json:"capture_id"`
		}
		if json.Unmarshal([]byte(line), &l) != nil {
			continue
		}
		switch l.Type {
		case "finding":
			cur[l.CaptureID] = true
		case "summary":
			found = append(found, cur)
			cur = map[string]bool{}
		}
	}
	if !strings.Contains(stderr.String(), "changed on disk: reloaded") {
		t.Errorf("no reload message:\n%s", stderr.String())
	}
	if len(found) < 2 { // a tick that falls inside a run is skipped
		t.Fatalf("runs: %d\n%s", len(found), stdout.String())
	}
	for c := range found[0] {
		if c != first {
			t.Errorf("first run (one-capture bank) found %s", c)
		}
	}
	if last := found[len(found)-1]; len(last) <= 1 {
		t.Errorf("last run found %v, want the captures of the reloaded bank", last)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestWatchUsageErrors(t *testing.T) {
	fx := newOpsFixture(t, 0)
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no schedule", []string{"--bank", fx.bank, fx.site}, "--schedule is required"},
		{"bad schedule", []string{"--bank", fx.bank, "--schedule", "every day", fx.site}, "--schedule"},
		{"public listen", []string{"--bank", fx.bank, "--schedule", "@daily", "--listen", "0.0.0.0:9477", fx.site}, "not a loopback address"},
		{"no seeds", []string{"--bank", fx.bank, "--schedule", "@daily"}, "no seeds"},
		{"no bank", []string{"--schedule", "@daily", fx.site}, "--bank is required"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := fx.run(t, context.Background(), append([]string{"watch"}, tc.args...)...)
			if code != exitUsage || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want %d mentioning %q", code, stderr, exitUsage, tc.want)
			}
		})
	}
}
