package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sort"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/leakwatch/leakwatch/internal/store/pgtest"
)

// workerCycles sets how many cycles TestKillWorker runs
// (scripts/kill-worker.sh runs 20).
var workerCycles = flag.Int("worker-cycles", 0, "kill-a-worker cycles for TestKillWorker (default 1)")

// fetchLog counts the requests for each path of a fixture site.
type fetchLog struct {
	mu sync.Mutex
	n  map[string]int
}

func (f *fetchLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.n[r.URL.Path]++
		f.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

// take returns the counts so far and starts again.
func (f *fetchLog) take() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.n
	f.n = map[string]int{}
	return out
}

// TestKillWorker runs a shared run with two worker processes on a real
// PostgreSQL and kills one with SIGKILL at a random point: the other takes
// over its items once their leases end, and the result is the reference
// single-process scan's: no incident or capture lost or duplicated, no
// page or image fetched more than twice, every event received, one
// webhook-id per incident version.
func TestKillWorker(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL and worker processes")
	}
	cycles := max(*workerCycles, 1)
	bin := leakwatchBinary(t)
	srv := pgtest.Start(t)
	fx := newOpsFixture(t, 10*time.Millisecond)
	ctx := context.Background()

	start := time.Now()
	ref := fx.dir + "/ref.db"
	if code, _, stderr := fx.run(t, ctx, "scan", "--bank", fx.bank, "--store", ref, fx.site); code != 0 {
		t.Fatalf("reference scan: exit %d: %s", code, stderr)
	}
	runTime := time.Since(start)
	want := incidentCaptures(t, openStore(t, ref))
	if len(want) == 0 {
		t.Fatal("reference scan found nothing")
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("kill timing seed %d, reference scan %s", seed, runTime.Round(time.Millisecond))
	rng := rand.New(rand.NewPCG(seed, 11))
	var midway, redeliveries, refetched int
	for c := range cycles {
		pg := srv.CreateDB(t)
		fx.fetched.take()
		if code, _, stderr := fx.run(t, ctx, "enqueue", "--store", pg, fx.site); code != 0 {
			t.Fatalf("cycle %d: enqueue: exit %d: %s", c, code, stderr)
		}
		recv := newReceiver(t, fx.secret)
		args := []string{"worker", "--bank", fx.bank, "--store", pg, "--exit-when-idle", "--lease", "2s", "--webhook", recv.URL, "--alert-wait", "90s"}
		victim := fx.start(t, bin, args...)
		other := fx.start(t, bin, args...)
		time.Sleep(time.Duration(rng.Int64N(int64(runTime))))
		_ = victim.cmd.Process.Signal(syscall.SIGKILL)
		if victim.wait() == -1 {
			midway++
		}
		if code := other.wait(); code != 0 {
			t.Fatalf("cycle %d: surviving worker exit %d: %s", c, code, other.stderr.String())
		}
		redeliveries += checkDelivery(t, fmt.Sprintf("cycle %d", c), pg, recv, want)
		var twice []string
		for p, n := range fx.fetched.take() {
			if n > 2 {
				t.Errorf("cycle %d: %s fetched %d times", c, p, n)
			}
			if n == 2 {
				twice = append(twice, p)
			}
		}
		sort.Strings(twice)
		refetched += len(twice)
	}
	t.Logf("%d cycles, %d workers killed mid-run; 0 lost, 0 duplicated; %d URLs fetched a second time after a takeover; %d redeliveries of an already received webhook-id",
		cycles, midway, refetched, redeliveries)
}
