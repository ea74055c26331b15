package decodeerr

import (
	"errors"
	"fmt"
)

// Errors are one format's sentinel errors. Each format has its own, so
// that errors.Is tells one decoder's errors from another's and every
// message starts with the format's name.
type Errors struct {
	// ErrFormat reports malformed or truncated data.
	ErrFormat error
	// ErrUnsupported reports a valid file the decoder does not handle.
	ErrUnsupported error
	// ErrLimit reports a file over one of the decoder's bounds; the
	// error is a *LimitError naming the bound.
	ErrLimit error
	format   string
}

// New returns the errors of the named format ("jpeg").
func New(format string) *Errors {
	return &Errors{
		ErrFormat:      errors.New(format + ": invalid data"),
		ErrUnsupported: errors.New(format + ": unsupported"),
		ErrLimit:       errors.New(format + ": over a decoding limit"),
		format:         format,
	}
}

// Formatf returns ErrFormat wrapped with a description of the fault.
func (e *Errors) Formatf(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{e.ErrFormat}, a...)...)
}

// Unsupportedf returns ErrUnsupported wrapped with what is not handled.
func (e *Errors) Unsupportedf(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{e.ErrUnsupported}, a...)...)
}

// Limit reports that a file needs value of the named bound, whose
// maximum is max.
func (e *Errors) Limit(limit string, value, max int64) error {
	return &LimitError{Limit: limit, Value: value, Max: max, errs: e}
}

// LimitError reports which bound a file exceeded; errors.Is matches it
// with its format's ErrLimit.
type LimitError struct {
	// Limit names the bound ("scans", "pixels", "row bytes").
	Limit string
	// Value is what the file needs (or reached), Max the bound.
	Value, Max int64
	errs       *Errors
}

func (e *LimitError) Error() string {
	prefix := "decoder"
	if e.errs != nil {
		prefix = e.errs.format
	}
	return fmt.Sprintf("%s: %d %s, limit %d", prefix, e.Value, e.Limit, e.Max)
}

// Is makes errors.Is(err, ErrLimit) true for the format's own ErrLimit.
func (e *LimitError) Is(target error) bool {
	return e.errs != nil && target == e.errs.ErrLimit
}

// Default returns v, or def when v is unset (zero or negative): a bound
// left at its zero value takes the decoder's default.
func Default[T ~int | ~int64](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}
