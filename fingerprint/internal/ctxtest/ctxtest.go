package ctxtest

import "context"

// Countdown is a context whose Err is nil for its first n calls and
// context.Canceled after: a cancellation that arrives in the middle of a
// decode, at the n-th check.
func Countdown(n int) context.Context {
	return &countdown{Context: context.Background(), n: n}
}

type countdown struct {
	context.Context
	n int
}

func (c *countdown) Err() error {
	if c.n--; c.n < 0 {
		return context.Canceled
	}
	return nil
}
