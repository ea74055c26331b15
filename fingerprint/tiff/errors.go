package tiff

import "github.com/leakwatch/leakwatch/fingerprint/internal/decodeerr"

var errs = decodeerr.New("tiff")

// Errors returned by this package; test with errors.Is.
var (
	// ErrFormat reports malformed or truncated TIFF data.
	ErrFormat = errs.ErrFormat
	// ErrUnsupported reports a valid file this reader does not decode.
	ErrUnsupported = errs.ErrUnsupported
	// ErrLimit reports a file over one of the bounds; the error is a
	// *LimitError naming it ("pixels", "output pixels", "row bytes",
	// "blocks" or "padded pixels").
	ErrLimit = errs.ErrLimit
)

// LimitError reports which bound a file exceeded, what the file needs and
// the bound.
type LimitError = decodeerr.LimitError
