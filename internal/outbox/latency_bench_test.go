package outbox

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/leakwatch/leakwatch/alerts"
)

// BenchmarkMatchToDelivery measures alert latency on loopback: from
// RecordMatches committing a new incident (and its outbox event) to the
// signed webhook being accepted by a receiver, with a Worker that is kicked
// as the scan does. ns/op is that latency.
func BenchmarkMatchToDelivery(b *testing.B) {
	s := openStore(b, nil)
	sec, err := alerts.NewSecret(nil)
	if err != nil {
		b.Fatal(err)
	}
	recv := alerts.NewReceiver(sec)
	srv := httptest.NewServer(recv)
	defer srv.Close()
	wh, err := alerts.NewWebhook(srv.URL, sec)
	if err != nil {
		b.Fatal(err)
	}
	key := alerts.EndpointKey("webhook", srv.URL)
	w := NewWorker(&Dispatcher{Store: s, Notifiers: map[string]alerts.Notifier{key: wh}}, time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go w.Run(ctx, nil)
	wctx, wcancel := context.WithTimeout(ctx, time.Minute)
	defer wcancel()
	b.ResetTimer()
	for i := range b.N {
		record(b, s, fmt.Sprintf("http://dump%d.test", i), key)
		w.Kick()
		if _, err := recv.Wait(wctx, i+1); err != nil {
			b.Fatal(err)
		}
	}
}
