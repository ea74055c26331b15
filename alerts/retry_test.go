package alerts

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// scripted fails with the given errors in order, then succeeds.
type scripted struct {
	name  string
	errs  []error
	calls atomic.Int64
}

func (s *scripted) Name() string { return s.name }
func (s *scripted) Notify(ctx context.Context, ev Event) error {
	i := int(s.calls.Add(1)) - 1
	if i < len(s.errs) {
		return s.errs[i]
	}
	return nil
}

// fakeTime records the waits the retrier asks for and advances a clock by
// them instead of sleeping.
type fakeTime struct {
	now   time.Time
	waits []time.Duration
}

func (f *fakeTime) retrier() retrier {
	return retrier{
		sleep: func(ctx context.Context, d time.Duration) error {
			f.waits = append(f.waits, d)
			f.now = f.now.Add(d)
			return ctx.Err()
		},
		jitter: func(d time.Duration) time.Duration { return d - 1 }, // the top of [0, d)
		now:    func() time.Time { return f.now },
	}
}

func retryable(after time.Duration) error {
	return &RetryableError{RetryAfter: after, Err: errors.New("HTTP 503")}
}

func TestRetryOutcomes(t *testing.T) {
	policy := RetryPolicy{MaxAttempts: 4, Initial: 10 * time.Millisecond, Max: 40 * time.Millisecond, MaxElapsed: time.Hour}
	tests := map[string]struct {
		errs      []error
		policy    RetryPolicy
		wantCalls int64
		wantErr   error
	}{
		"first try":             {wantCalls: 1},
		"after two failures":    {errs: []error{retryable(0), retryable(0)}, wantCalls: 3},
		"unclassified retried":  {errs: []error{errors.New("boom")}, wantCalls: 2},
		"permanent not retried": {errs: []error{ErrPermanent}, wantCalls: 1, wantErr: ErrPermanent},
		"gone not retried":      {errs: []error{ErrGone}, wantCalls: 1, wantErr: ErrGone},
		"invalid not retried":   {errs: []error{ErrInvalidEvent}, wantCalls: 1, wantErr: ErrInvalidEvent},
		"attempts exhausted": {errs: []error{retryable(0), retryable(0), retryable(0), retryable(0), retryable(0)},
			wantCalls: 4, wantErr: &RetryableError{}},
		"retry-after beyond budget": {errs: []error{retryable(2 * time.Hour)},
			wantCalls: 1, wantErr: &RetryableError{}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			n := &scripted{name: "fake", errs: tc.errs}
			ft := &fakeTime{now: time.Unix(1000, 0)}
			err := ft.retrier().deliver(t.Context(), n, testEvent("evt_1"), policy.withDefaults())
			if got := n.calls.Load(); got != tc.wantCalls {
				t.Fatalf("%d attempts, want %d", got, tc.wantCalls)
			}
			switch want := tc.wantErr.(type) {
			case nil:
				if err != nil {
					t.Fatalf("err = %v", err)
				}
			case *RetryableError:
				var re *RetryableError
				if !errors.As(err, &re) {
					t.Fatalf("err = %v, want it to wrap the last *RetryableError", err)
				}
			default:
				if !errors.Is(err, want) {
					t.Fatalf("err = %v, want %v", err, want)
				}
			}
		})
	}
}

func TestRetryBackoffGrowsAndHonoursRetryAfter(t *testing.T) {
	n := &scripted{name: "fake", errs: []error{retryable(0), retryable(0), retryable(0), retryable(0), retryable(time.Second)}}
	ft := &fakeTime{now: time.Unix(1000, 0)}
	p := RetryPolicy{MaxAttempts: 10, Initial: 10 * time.Millisecond, Max: 40 * time.Millisecond, MaxElapsed: time.Hour}
	if err := ft.retrier().deliver(t.Context(), n, testEvent("evt_1"), p); err != nil {
		t.Fatal(err)
	}
	// Ceilings double from Initial and stop at Max; the jitter stub returns
	// the top of each range. The last failure asked for one second.
	want := []time.Duration{10*time.Millisecond - 1, 20*time.Millisecond - 1, 40*time.Millisecond - 1, 40*time.Millisecond - 1, time.Second}
	if len(ft.waits) != len(want) {
		t.Fatalf("waits = %v, want %v", ft.waits, want)
	}
	for i := range want {
		if ft.waits[i] != want[i] {
			t.Fatalf("waits = %v, want %v", ft.waits, want)
		}
	}
}

func TestRetryMaxElapsed(t *testing.T) {
	errs := make([]error, 100)
	for i := range errs {
		errs[i] = retryable(0)
	}
	n := &scripted{name: "fake", errs: errs}
	ft := &fakeTime{now: time.Unix(1000, 0)}
	p := RetryPolicy{MaxAttempts: 100, Initial: time.Second, Max: time.Second, MaxElapsed: 5 * time.Second}
	err := ft.retrier().deliver(t.Context(), n, testEvent("evt_1"), p)
	if err == nil {
		t.Fatal("delivery succeeded past its time budget")
	}
	var total time.Duration
	for _, w := range ft.waits {
		total += w
	}
	if total > p.MaxElapsed {
		t.Fatalf("waited %v in total, budget %v", total, p.MaxElapsed)
	}
}

func TestRetryStopsWhenContextEnds(t *testing.T) {
	n := &scripted{name: "fake", errs: []error{retryable(0), retryable(0), retryable(0)}}
	ctx, cancel := context.WithCancel(t.Context())
	r := retrier{
		sleep:  func(ctx context.Context, d time.Duration) error { cancel(); return ctx.Err() },
		jitter: func(d time.Duration) time.Duration { return 0 },
		now:    time.Now,
	}
	err := r.deliver(ctx, n, testEvent("evt_1"), fastPolicy(5))
	if !errors.Is(err, context.Canceled) || n.calls.Load() != 1 {
		t.Fatalf("err = %v after %d calls, want context.Canceled after 1", err, n.calls.Load())
	}
}

func TestRetryMultiRetriesMembersIndependently(t *testing.T) {
	flaky := &scripted{name: "flaky", errs: []error{retryable(0), retryable(0)}}
	steady := &scripted{name: "steady"}
	broken := &scripted{name: "broken", errs: []error{ErrPermanent}}
	err := DeliverWithRetry(t.Context(), Multi{flaky, steady, broken}, testEvent("evt_1"), fastPolicy(5))
	if !errors.Is(err, ErrPermanent) {
		t.Fatalf("err = %v, want the broken member's ErrPermanent", err)
	}
	if flaky.calls.Load() != 3 || steady.calls.Load() != 1 || broken.calls.Load() != 1 {
		t.Fatalf("calls flaky=%d steady=%d broken=%d, want 3, 1, 1",
			flaky.calls.Load(), steady.calls.Load(), broken.calls.Load())
	}
}

func TestMultiNotify(t *testing.T) {
	a, b := &scripted{name: "a"}, &scripted{name: "b", errs: []error{retryable(time.Second)}}
	m := Multi{a, b}
	err := m.Notify(t.Context(), testEvent("evt_1"))
	var re *RetryableError
	if !errors.As(err, &re) || re.RetryAfter != time.Second {
		t.Fatalf("err = %v, want b's retryable error", err)
	}
	if a.calls.Load() != 1 || b.calls.Load() != 1 {
		t.Fatal("Multi did not call every member once")
	}
	if m.Name() != "multi[a,b]" {
		t.Fatalf("Name = %q", m.Name())
	}
	if err := (Multi{}).Notify(t.Context(), testEvent("evt_1")); err != nil {
		t.Fatalf("empty Multi: %v", err)
	}
}

func TestRetryPolicyDefaults(t *testing.T) {
	p := RetryPolicy{}.withDefaults()
	if p != DefaultRetryPolicy() {
		t.Fatalf("zero policy = %+v, want defaults %+v", p, DefaultRetryPolicy())
	}
	if p := (RetryPolicy{Initial: time.Minute, Max: time.Second}).withDefaults(); p.Max < p.Initial {
		t.Fatalf("Max %v below Initial %v", p.Max, p.Initial)
	}
}
