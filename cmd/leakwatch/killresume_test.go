package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/leakwatch/leakwatch/alerts"
	"github.com/leakwatch/leakwatch/internal/lock"
	"github.com/leakwatch/leakwatch/internal/store"
)

// killCycles sets how many kill-and-resume cycles TestKillResume runs:
//
//	go test -run TestKillResume -count=1 ./cmd/leakwatch -args -cycles=50
var killCycles = flag.Int("cycles", 0, "kill-and-resume cycles for TestKillResume (default 5, 2 with -short)")

// leakwatchBinary is the leakwatch command that testscript.Main installed
// in $PATH (a copy of this test binary), run as a separate process so it
// can be killed.
func leakwatchBinary(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("leakwatch")
	if err != nil {
		t.Skipf("leakwatch command not installed by TestMain: %v", err)
	}
	return bin
}

// proc is a leakwatch child process.
type proc struct {
	cmd    *exec.Cmd
	stdout *syncBuffer
	stderr *syncBuffer
}

func (fx *opsFixture) start(t *testing.T, bin string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + fx.dir}
	for k, v := range fx.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p := &proc{cmd: cmd, stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return p
}

// wait returns the exit code, or -1 when the process died of a signal.
func (p *proc) wait() int {
	err := p.cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -2
	}
	return 0
}

// TestKillResume kills scans with SIGKILL at random points and reruns
// them, then checks the delivery guarantees against a clean reference
// run: no incident or capture lost, every event in the outbox received,
// exactly one webhook-id per (incident, version), and no version of an
// incident missing.
func TestKillResume(t *testing.T) {
	cycles := *killCycles
	if cycles == 0 {
		cycles = 5
		if testing.Short() {
			cycles = 2
		}
	}
	bin := leakwatchBinary(t)
	// A slowed site makes a run last long enough to be killed mid-crawl,
	// mid-hashing or mid-delivery.
	fx := newOpsFixture(t, 15*time.Millisecond)
	scanArgs := func(storePath, hook string) []string {
		return []string{"scan", "--bank", fx.bank, "--store", storePath, "--webhook", hook, "--alert-wait", "60s", "--group-by", "page", "--json", fx.site}
	}

	// Reference: one clean run, which also measures alert latency.
	refRecv := newReceiver(t, fx.secret)
	refStore := filepath.Join(fx.dir, "ref.db")
	start := time.Now()
	ref, findings := fx.runTimed(t, bin, scanArgs(refStore, refRecv.URL))
	runTime := time.Since(start)
	if code := ref.wait(); code != 0 {
		t.Fatalf("reference run: exit %d: %s", code, ref.stderr.String())
	}
	want := incidentCaptures(t, openStore(t, refStore))
	if len(want) == 0 {
		t.Fatal("reference run found no incident")
	}
	logLatency(t, refRecv, findings())

	seed := uint64(time.Now().UnixNano())
	t.Logf("kill timing seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 7))
	var kills, redeliveries, diedMidway int
	for c := range cycles {
		recv := newReceiver(t, fx.secret)
		storePath := filepath.Join(fx.dir, fmt.Sprintf("cycle%02d.db", c))
		for range 1 + rng.IntN(3) {
			p := fx.start(t, bin, scanArgs(storePath, recv.URL)...)
			time.Sleep(time.Duration(rng.Int64N(int64(runTime * 6 / 5))))
			_ = p.cmd.Process.Signal(syscall.SIGKILL)
			if p.wait() == -1 {
				diedMidway++
			}
			kills++
		}
		final := fx.start(t, bin, scanArgs(storePath, recv.URL)...)
		if code := final.wait(); code != 0 {
			t.Fatalf("cycle %d: final run exit %d: %s", c, code, final.stderr.String())
		}
		redeliveries += checkDelivery(t, fmt.Sprintf("cycle %d", c), storePath, recv, want)
	}
	t.Logf("%d cycles, %d SIGKILLs (%d mid-run), 0 lost, 0 duplicated; %d redeliveries of an already received webhook-id (dropped by the receiver)",
		cycles, kills, diedMidway, redeliveries)
}

// runTimed starts a --json scan and notes when each incident's first
// finding line appears on stdout.
func (fx *opsFixture) runTimed(t *testing.T, bin string, args []string) (*proc, func() map[string]time.Time) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + fx.dir}
	for k, v := range fx.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	first := map[string]time.Time{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			now := time.Now()
			var fd struct {
				Type       string `json:"type"`
				IncidentID string `json:"incident_id"`
			}
			if json.Unmarshal(sc.Bytes(), &fd) == nil && fd.Type == "finding" {
				if _, ok := first[fd.IncidentID]; !ok {
					first[fd.IncidentID] = now
				}
			}
			_, _ = p.stdout.Write(append(sc.Bytes(), '\n'))
		}
	}()
	return p, func() map[string]time.Time { <-done; return first }
}

// logLatency reports, for each incident created by a run, the time from
// its first finding line to the receiver's first request for its
// creation event (evt_<incident>_v1). A negative value means the request
// arrived before the finding line was read.
func logLatency(t *testing.T, recv *receiver, findings map[string]time.Time) {
	t.Helper()
	var lat []time.Duration
	for inc, at := range findings {
		id := "evt_" + strings.TrimPrefix(inc, "inc_") + "_v1"
		if req, ok := recv.firstRequest(id); ok {
			lat = append(lat, req.Sub(at))
		}
	}
	if len(lat) == 0 {
		t.Log("alert latency: no incident created")
		return
	}
	slices.Sort(lat)
	t.Logf("alert latency from finding to first delivery attempt on loopback: n=%d median=%v max=%v", len(lat), lat[len(lat)/2], lat[len(lat)-1])
}

// checkDelivery verifies one store and its receiver after a clean final
// run, and returns how many extra attempts the receiver saw for IDs it had
// already accepted.
func checkDelivery(t *testing.T, name, storePath string, recv *receiver, want map[string]string) int {
	t.Helper()
	st := openStore(t, storePath)
	ctx := context.Background()
	if got := incidentCaptures(t, st); !mapsEqual(got, want) {
		t.Errorf("%s: incidents %v, want %v", name, got, want)
	}
	ids, err := st.EventIDs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pending, err := st.Deliveries(ctx, store.DeliveryPending)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) > 0 {
		t.Errorf("%s: %d deliveries still pending", name, len(pending))
	}
	received := map[string]alerts.ReceivedEvent{}
	extra := 0
	for _, ev := range recv.Received() {
		received[ev.ID] = ev
		extra += ev.Attempts - 1
	}
	for _, id := range ids {
		if _, ok := received[id]; !ok {
			t.Errorf("%s: event %s in the outbox was never received (lost)", name, id)
		}
	}
	if len(received) != len(ids) {
		t.Errorf("%s: received %d distinct webhook-ids, outbox has %d events", name, len(received), len(ids))
	}
	// One ID per (incident, version), derived from both, and no version
	// skipped: each announced change reached the receiver.
	byVersion := map[string]string{}
	versions := map[string][]int{}
	for id, ev := range received {
		inc, v := eventIncident(t, ev.Body)
		key := inc + "@" + strconv.Itoa(v)
		if prev, dup := byVersion[key]; dup {
			t.Errorf("%s: %s delivered under two ids: %s and %s", name, key, prev, id)
		}
		byVersion[key] = id
		if wantID := "evt_" + strings.TrimPrefix(inc, "inc_") + "_v" + strconv.Itoa(v); id != wantID {
			t.Errorf("%s: event for %s has id %s, want %s", name, key, id, wantID)
		}
		versions[inc] = append(versions[inc], v)
	}
	for inc, vs := range versions {
		sort.Ints(vs)
		for i, v := range vs {
			if v != i+1 {
				t.Errorf("%s: incident %s versions %v: a change was never announced", name, inc, vs)
				break
			}
		}
	}
	return extra
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestOverlappingRunsRefused starts a slow scan in another process, then a
// second scan and a watcher tick on the same store: the scan is refused
// with exit 11 naming the holder, the watcher skips its run, and the first
// scan finishes normally.
func TestOverlappingRunsRefused(t *testing.T) {
	bin := leakwatchBinary(t)
	fx := newOpsFixture(t, 150*time.Millisecond)
	storePath := filepath.Join(fx.dir, "lw.db")
	first := fx.start(t, bin, "scan", "--bank", fx.bank, "--store", storePath, fx.site)
	defer first.cmd.Process.Kill()
	waitFor(t, "the first scan to take the lock", 30*time.Second, func() bool {
		return lock.ReadHolder(storePath+".lock").PID == first.cmd.Process.Pid
	})
	code, _, stderr := fx.run(t, context.Background(), "scan", "--bank", fx.bank, "--store", storePath, fx.site)
	if code != exitLocked {
		t.Fatalf("second scan: exit %d, want %d: %s", code, exitLocked, stderr)
	}
	if !strings.Contains(stderr, "holds the lock") || !strings.Contains(stderr, "pid "+strconv.Itoa(first.cmd.Process.Pid)) {
		t.Errorf("refusal does not name the holder: %s", stderr)
	}
	code, stdout, stderr := fx.run(t, context.Background(), "watch", "--schedule", "@daily", "--ticks", "1", "--listen", "off", "--json",
		"--bank", fx.bank, "--store", storePath, fx.site)
	if code != exitOK || !strings.Contains(stdout, `"type":"skipped"`) {
		t.Errorf("watch during the scan: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if code := first.wait(); code != 0 {
		t.Fatalf("first scan: exit %d: %s", code, first.stderr.String())
	}
	// With the lock free again, the next scan runs.
	if code, _, stderr := fx.run(t, context.Background(), "scan", "--bank", fx.bank, "--store", storePath, fx.site); code != 0 {
		t.Fatalf("scan after the first ended: exit %d: %s", code, stderr)
	}
}

// TestWatchSIGTERM sends SIGTERM to a watcher in the middle of a slow
// scan: it exits 0, the interrupted run is recorded, and incidents found
// before the signal are kept.
func TestWatchSIGTERM(t *testing.T) {
	bin := leakwatchBinary(t)
	fx := newOpsFixture(t, 200*time.Millisecond)
	storePath := filepath.Join(fx.dir, "lw.db")
	logPath := filepath.Join(fx.dir, "alerts.jsonl")
	p := fx.start(t, bin, "watch", "--schedule", "@every 1h", "--listen", "127.0.0.1:0", "--json",
		"--alert-log", logPath, "--bank", fx.bank, "--store", storePath, fx.site)
	defer p.cmd.Process.Kill()
	waitFor(t, "a first finding", time.Minute, func() bool { return strings.Contains(p.stdout.String(), `"type":"finding"`) })
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(); code != 0 {
		t.Fatalf("exit %d after SIGTERM: %s", code, p.stderr.String())
	}
	if !strings.Contains(p.stderr.String(), "shutdown complete") {
		t.Errorf("stderr: %s", p.stderr.String())
	}
	if !strings.Contains(p.stdout.String(), `"status":"interrupted"`) {
		t.Errorf("the interrupted run was not reported: %s", p.stdout.String())
	}
	st := openStore(t, storePath)
	if got := incidentCaptures(t, st); len(got) == 0 {
		t.Error("incidents recorded before the signal were lost")
	}
	// What was announced before the signal is either in the log sink or
	// still pending: nothing vanished.
	ids, _ := st.EventIDs(context.Background())
	pending, _ := st.Deliveries(context.Background(), store.DeliveryPending)
	logged, _ := os.ReadFile(logPath)
	for _, id := range ids {
		inLog := strings.Contains(string(logged), `"id":"`+id+`"`)
		isPending := slices.ContainsFunc(pending, func(d store.Delivery) bool { return d.EventID == id })
		if !inLog && !isPending {
			t.Errorf("event %s neither delivered nor pending", id)
		}
	}
}
