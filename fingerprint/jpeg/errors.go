package jpeg

import "github.com/leakwatch/leakwatch/fingerprint/internal/decodeerr"

var errs = decodeerr.New("jpeg")

// Errors returned by this package; test with errors.Is.
var (
	// ErrFormat reports malformed or truncated JPEG data.
	ErrFormat = errs.ErrFormat
	// ErrUnsupported reports a valid JPEG this decoder does not handle:
	// arithmetic coding, 12-bit samples, lossless or hierarchical modes,
	// or a colour layout with no matching image type.
	ErrUnsupported = errs.ErrUnsupported
	// ErrLimit reports a file over one of the decoding bounds; the error
	// is a *LimitError naming the bound ("scans", "coefficient bytes" or
	// "pixels").
	ErrLimit = errs.ErrLimit
)

// LimitError reports which bound a file exceeded, what the file needs and
// the bound.
type LimitError = decodeerr.LimitError
