package jpeg

import (
	"errors"
	"fmt"
)

// Errors returned by this package; test with errors.Is.
var (
	// ErrFormat reports malformed or truncated JPEG data.
	ErrFormat = errors.New("jpeg: invalid data")
	// ErrUnsupported reports a valid JPEG this decoder does not handle:
	// arithmetic coding, 12-bit samples, lossless or hierarchical modes,
	// or a colour layout with no matching image type.
	ErrUnsupported = errors.New("jpeg: unsupported")
	// ErrLimit reports a file over one of the decoding bounds; the error
	// is a *LimitError naming the bound.
	ErrLimit = errors.New("jpeg: over a decoding limit")
)

// LimitError reports which bound a file exceeded.
type LimitError struct {
	// Limit names the bound: "scans", "coefficient bytes" or "pixels".
	Limit string
	// Value is what the file needs, Max the bound.
	Value, Max int64
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("jpeg: %d %s, limit %d", e.Value, e.Limit, e.Max)
}

// Is makes errors.Is(err, ErrLimit) true.
func (e *LimitError) Is(target error) bool { return target == ErrLimit }
