package crawler

import (
	"context"
	"testing"
	"time"
)

// TestSchedQueueBoundPerHost: a host whose queue is full holds up only its
// own pushes; another host's asset is queued and handed out at once.
func TestSchedQueueBoundPerHost(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := newSched(ctx, 2, 1)
	for range 2 {
		if !s.push(Asset{URL: "http://slow.test/x"}, "slow.test:80") {
			t.Fatal("push refused")
		}
	}
	blocked := make(chan bool, 1)
	go func() { blocked <- s.push(Asset{URL: "http://slow.test/y"}, "slow.test:80") }()
	pushed := make(chan bool, 1)
	go func() { pushed <- s.push(Asset{URL: "http://fast.test/a"}, "fast.test:80") }()
	select {
	case ok := <-pushed:
		if !ok {
			t.Fatal("push refused")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a push for another host waited on the full host's queue")
	}
	select {
	case <-blocked:
		t.Fatal("a push beyond the full host's bound did not wait")
	default:
	}
	cancel() // lets the waiting push go
	if <-blocked {
		t.Error("a push waiting when the run stopped reported success")
	}
}
