package alerts_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/leakwatch/leakwatch/alerts"
)

func ExampleSign() {
	sec, err := alerts.ParseSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		panic(err)
	}
	fmt.Println(alerts.Sign(sec, "msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`)))
	// Output: v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=
}

func ExampleReceiver() {
	sec, _ := alerts.NewSecret(nil)
	rcv := alerts.NewReceiver(sec)
	srv := httptest.NewServer(rcv) // loopback only
	defer srv.Close()

	wh, err := alerts.NewWebhook(srv.URL, sec)
	if err != nil {
		panic(err)
	}
	ev := alerts.Event{
		ID:        alerts.StableID("inc_1", alerts.TypeIncidentCreated),
		Type:      alerts.TypeIncidentCreated,
		Timestamp: time.Now(),
		Data:      map[string]string{"capture_id": "cap_1"},
	}
	if err := alerts.DeliverWithRetry(context.Background(), wh, ev, alerts.DefaultRetryPolicy()); err != nil {
		panic(err)
	}
	got := rcv.Received()
	fmt.Println(len(got), got[0].Type, got[0].Verified)
	// Output: 1 incident.created true
}
