package watch

import (
	"context"
	"testing"
	"time"

	"github.com/robfig/cron/v3"
)

func TestCheckListenAddr(t *testing.T) {
	cases := []struct {
		addr   string
		anyOK  bool
		wantOK bool
	}{
		{"127.0.0.1:9477", false, true},
		{"[::1]:9477", false, true},
		{"localhost:9477", false, true},
		{"off", false, true},
		{"0.0.0.0:9477", false, false},
		{":9477", false, false},
		{"192.0.2.10:9477", false, false},
		{"metrics.example.org:9477", false, false},
		{"0.0.0.0:9477", true, true},
		{"127.0.0.1", false, false},
	}
	for _, tc := range cases {
		err := CheckListen(tc.addr, tc.anyOK)
		if (err == nil) != tc.wantOK {
			t.Errorf("CheckListen(%q, %v) = %v, want ok=%v", tc.addr, tc.anyOK, err, tc.wantOK)
		}
	}
}

func TestNextSlot(t *testing.T) {
	at := func(h int) time.Time { return time.Date(2026, 3, 1, h, 0, 0, 0, time.UTC) }
	every, err := cron.ParseStandard("@every 6h")
	if err != nil {
		t.Fatal(err)
	}
	daily, err := cron.ParseStandard("0 */6 * * *")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		sched     cron.Schedule
		prev, now time.Time
		want      time.Time
	}{
		{"@every: a two-hour run keeps the slots", every, at(0), at(2), at(6)},
		{"@every: a run past a slot skips it", every, at(0), at(13), at(18)},
		{"cron: a two-hour run", daily, at(0), at(2), at(6)},
		{"cron: a run past a slot skips it", daily, at(0), at(7), at(12)},
	}
	for _, tt := range tests {
		if got := nextSlot(tt.sched, tt.prev, tt.now); !got.Equal(tt.want) {
			t.Errorf("%s: next %v, want %v", tt.name, got.Format(time.Kitchen), tt.want.Format(time.Kitchen))
		}
	}
}

func TestSleepUntil(t *testing.T) {
	if !sleepUntil(context.Background(), time.Now().Add(-time.Hour)) {
		t.Error("a time past did not return at once")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if sleepUntil(ctx, time.Now().Add(time.Hour)) {
		t.Error("a cancelled wait reported the time reached")
	}
	if !sleepUntil(context.Background(), time.Now().Add(20*time.Millisecond)) {
		t.Error("a short wait did not reach its time")
	}
}
