package scan

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/leakwatch/leakwatch/fixtures/corpus"
	"github.com/leakwatch/leakwatch/internal/store"
	"github.com/leakwatch/leakwatch/internal/store/pgtest"
)

// BenchmarkWorkers measures images hashed and matched per second by one
// and by two workers (one item at a time each, so the work is CPU-bound)
// sharing a run on a real PostgreSQL: a site of 48 photo-sized images.
//
//	go test -run '^$' -bench BenchmarkWorkers -benchtime 3x ./internal/scan
func BenchmarkWorkers(b *testing.B) {
	const n = 48
	rng := rand.New(rand.NewPCG(9, 9))
	imgs := make([][]byte, n)
	for i := range imgs {
		img := image.NewRGBA(image.Rect(0, 0, 640, 480))
		for range 40 {
			c := color.RGBA{uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256)), 255}
			x, y, w, h := rng.IntN(600), rng.IntN(440), 20+rng.IntN(200), 20+rng.IntN(200)
			for px := x; px < min(x+w, 640); px++ {
				for py := y; py < min(y+h, 480); py++ {
					img.Set(px, py, c)
				}
			}
		}
		var buf bytes.Buffer
		_ = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85})
		imgs[i] = buf.Bytes()
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
		_, _ = w.Write(imgs[i%n])
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	bank, _ := setup(b, corpus.New(1).WriteCaptures)
	pg := pgtest.Start(b)
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			var busy time.Duration
			for range b.N {
				b.StopTimer()
				loc := pg.CreateDB(b)
				stores := make([]*store.Store, workers)
				for i := range stores {
					st, err := store.Open(context.Background(), loc)
					if err != nil {
						b.Fatal(err)
					}
					defer st.Close()
					stores[i] = st
				}
				if _, err := Enqueue(context.Background(), stores[0], sharedSpec([]string{srv.URL + "/"})); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start := time.Now()
				var wg sync.WaitGroup
				for i := range workers {
					w := &Worker{Store: stores[i], Bank: bank, ConfigFor: configFor(stores[i]), ExitWhenIdle: true, Slots: 1, Poll: 50 * time.Millisecond}
					wg.Add(1)
					go func() {
						defer wg.Done()
						if _, err := w.Work(context.Background()); err != nil {
							b.Error(err)
						}
					}()
				}
				wg.Wait()
				busy += time.Since(start)
			}
			b.ReportMetric(float64(n*b.N)/busy.Seconds(), "images/s")
		})
	}
}
