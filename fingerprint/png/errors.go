package png

import "github.com/leakwatch/leakwatch/fingerprint/internal/decodeerr"

var errs = decodeerr.New("png")

// Errors returned by this package; test with errors.Is.
var (
	// ErrFormat reports malformed or truncated PNG data.
	ErrFormat = errs.ErrFormat
	// ErrLimit reports a file over one of the bounds; the error is a
	// *LimitError naming it ("pixels", "output pixels", "row bytes",
	// "chunks" or "chunk bytes").
	ErrLimit = errs.ErrLimit
)

// LimitError reports which bound a file exceeded, what the file needs (or
// reached) and the bound.
type LimitError = decodeerr.LimitError
