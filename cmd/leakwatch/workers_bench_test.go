package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leakwatch/leakwatch/fixtures/corpus"
	"github.com/leakwatch/leakwatch/fixtures/photos"
	"github.com/leakwatch/leakwatch/internal/store"
	"github.com/leakwatch/leakwatch/internal/store/pgtest"
)

// BenchmarkWorkerProcesses measures the images per second that one and
// two worker processes, each limited to one CPU (GOMAXPROCS=1), hash and
// match sharing a run on a real PostgreSQL: a loopback site of 576
// distinct real photos (the 24 fixture photos, each served 24 times with
// its own JPEG comment, so every one is decoded), the corpus bank. The time
// runs from starting the workers to the last one leaving
// (--exit-when-idle), start-up and bank load included; the load average
// is logged before and after each measurement, and the worker processes'
// CPU time gives images per CPU-second, which the load does not change.
//
//	go test -run '^$' -bench BenchmarkWorkerProcesses -benchtime 1x -count 3 ./cmd/leakwatch
func BenchmarkWorkerProcesses(b *testing.B) {
	bin := leakwatchBinary(b)
	ps := photos.All()
	var imgs [][]byte
	// Enough images that start-up, bank load and the idle check at the
	// end weigh little against the hashing.
	for v := range 24 {
		for i, p := range ps {
			com := fmt.Appendf(nil, "leakwatch bench %d-%d", v, i)
			var buf bytes.Buffer
			buf.Write(p.JPEG[:2])
			buf.Write([]byte{0xFF, 0xFE, byte((len(com) + 2) >> 8), byte(len(com) + 2)})
			buf.Write(com)
			buf.Write(p.JPEG[2:])
			imgs = append(imgs, buf.Bytes())
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		for i := range imgs {
			fmt.Fprintf(w, `<img src="/i/%d.jpg">`, i)
		}
	})
	mux.HandleFunc("/i/", func(w http.ResponseWriter, r *http.Request) {
		var i int
		_, _ = fmt.Sscanf(r.URL.Path, "/i/%d.jpg", &i)
		w.Header().Set("Content-Type", "image/jpeg")
		_, _ = w.Write(imgs[i%len(imgs)])
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	dir := b.TempDir()
	captures, bank := filepath.Join(dir, "captures"), filepath.Join(dir, "bank.lwb")
	if err := corpus.New(1).WriteCaptures(captures); err != nil {
		b.Fatal(err)
	}
	var stderr bytes.Buffer
	e := env{stdout: &bytes.Buffer{}, stderr: &stderr, getenv: func(string) string { return "" }, readFile: os.ReadFile}
	if code := run(context.Background(), []string{"enroll", "--bank", bank, "--manifest", filepath.Join(captures, "manifest.csv")}, e); code != 0 {
		b.Fatalf("enroll: exit %d: %s", code, stderr.String())
	}
	pg := pgtest.Start(b)
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("processes=%d", workers), func(b *testing.B) {
			var busy, cpu time.Duration
			for range b.N {
				b.StopTimer()
				loc := pg.CreateDB(b)
				if code := run(context.Background(), []string{"enqueue", "--store", loc, srv.URL + "/"}, e); code != 0 {
					b.Fatalf("enqueue: exit %d: %s", code, stderr.String())
				}
				before := loadavg()
				b.StartTimer()
				start := time.Now()
				var wg sync.WaitGroup
				var mu sync.Mutex
				var used time.Duration
				for range workers {
					cmd := exec.Command(bin, "worker", "--store", loc, "--bank", bank, "--exit-when-idle")
					cmd.Env = append(os.Environ(), "GOMAXPROCS=1", "XDG_CONFIG_HOME="+dir, "XDG_DATA_HOME="+dir, "LEAKWATCH_CONFIG=")
					var out bytes.Buffer
					cmd.Stderr = &out
					if err := cmd.Start(); err != nil {
						b.Fatal(err)
					}
					wg.Add(1)
					go func() {
						defer wg.Done()
						if err := cmd.Wait(); err != nil {
							b.Errorf("worker: %v: %s", err, out.String())
						}
						mu.Lock()
						used += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
						mu.Unlock()
					}()
				}
				wg.Wait()
				took := time.Since(start)
				busy += took
				cpu += used
				b.StopTimer()
				st, err := store.Open(context.Background(), loc)
				if err != nil {
					b.Fatal(err)
				}
				ri, err := st.Run(context.Background(), 1)
				st.Close()
				if err != nil || ri.Status != store.RunDone || ri.Done != len(imgs)+1 || len(ri.Workers) != workers {
					b.Fatalf("run %+v %v: want done, %d items, %d workers", ri, err, len(imgs)+1, workers)
				}
				b.Logf("%d process(es): %d images in %s (%.2f images/s), workers' CPU %s (%.2f images per CPU-second); load average before %s, after %s",
					workers, len(imgs), took.Round(time.Millisecond), float64(len(imgs))/took.Seconds(),
					used.Round(time.Millisecond), float64(len(imgs))/used.Seconds(), before, loadavg())
				b.StartTimer()
			}
			b.ReportMetric(float64(len(imgs)*b.N)/busy.Seconds(), "images/s")
			b.ReportMetric(float64(len(imgs)*b.N)/cpu.Seconds(), "images/cpu-s")
		})
	}
}

// loadavg is the first three fields of /proc/loadavg ("?" elsewhere).
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
