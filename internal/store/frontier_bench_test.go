package store

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/leakwatch/leakwatch/internal/store/pgtest"
)

// BenchmarkClaim measures one claim (one item under a lease) and one
// completion on a real PostgreSQL over loopback, alone and with 8 workers
// at once (each completion queueing two links, every match recorded into
// one incident); it reports the transactions retried after serialization
// failures or deadlocks (none may fail).
//
//	go test -run '^$' -bench BenchmarkClaim -benchtime 2000x ./internal/store
func BenchmarkClaim(b *testing.B) {
	srv := pgtest.Start(b)
	ctx := context.Background()
	for _, workers := range []int{1, 8} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			loc := srv.CreateDB(b)
			setup := openBench(b, loc)
			items := make([]Item, b.N)
			for i := range items {
				items[i] = Item{URL: fmt.Sprintf("http://dump.test/%d", i), Kind: "image", Depth: 1}
			}
			if _, err := setup.CreateRun(ctx, "x", []byte("{}"), items); err != nil {
				b.Fatal(err)
			}
			stores := make([]*Store, workers)
			for i := range stores {
				stores[i] = openBench(b, loc)
			}
			var claim, complete time.Duration
			var mu sync.Mutex
			var wg sync.WaitGroup
			b.ResetTimer()
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					st, owner := stores[w], fmt.Sprintf("w%d", w)
					var c1, c2 time.Duration
					for n := 0; ; n++ {
						t0 := time.Now()
						got, err := st.Claim(ctx, owner, 0, 1, time.Minute)
						t1 := time.Now()
						if err != nil {
							b.Error(err)
							return
						}
						if len(got) == 0 {
							break
						}
						it := got[0]
						if workers > 1 {
							if _, err := st.RecordMatches(ctx, "http://dump.test", []Evidence{match(fmt.Sprintf("c%d", it.ID%50), fmt.Sprint(it.ID))}, nil); err != nil {
								b.Error(err)
								return
							}
						}
						t2 := time.Now()
						kids := []Item{{URL: it.URL + "/a", Kind: "image", Depth: 2}, {URL: it.URL + "/b", Kind: "image", Depth: 2}}
						if workers == 1 {
							kids = nil
						}
						if _, err := st.Complete(ctx, owner, it, Result{Children: kids}, 10, 1); err != nil {
							b.Error(err)
							return
						}
						c1 += t1.Sub(t0)
						c2 += time.Since(t2)
					}
					mu.Lock()
					claim += c1
					complete += c2
					mu.Unlock()
				}()
			}
			wg.Wait()
			b.StopTimer()
			var retries int64
			for _, st := range stores {
				retries += st.TxRetries()
			}
			b.ReportMetric(float64(claim.Microseconds())/float64(b.N)/1000, "claim-ms")
			b.ReportMetric(float64(complete.Microseconds())/float64(b.N)/1000, "complete-ms")
			b.ReportMetric(float64(retries), "tx-retries")
		})
	}
}

func openBench(b *testing.B, loc string) *Store {
	b.Helper()
	s, err := Open(context.Background(), loc)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}
