package bmp

import (
	"errors"
	"fmt"
)

// Errors returned by this package; test with errors.Is.
var (
	// ErrFormat reports malformed or truncated BMP data.
	ErrFormat = errors.New("bmp: invalid data")
	// ErrUnsupported reports a valid file this reader does not decode.
	ErrUnsupported = errors.New("bmp: unsupported")
	// ErrLimit reports a file over one of the bounds; the error is a
	// *LimitError naming it.
	ErrLimit = errors.New("bmp: over a decoding limit")
)

// LimitError reports which bound a file exceeded.
type LimitError struct {
	// Limit names the bound: "pixels" or "output pixels".
	Limit string
	// Value is what the file needs, Max the bound.
	Value, Max int64
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("bmp: %d %s, limit %d", e.Value, e.Limit, e.Max)
}

// Is makes errors.Is(err, ErrLimit) true.
func (e *LimitError) Is(target error) bool { return target == ErrLimit }

func formatErr(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrFormat}, a...)...)
}

func unsupported(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrUnsupported}, a...)...)
}
