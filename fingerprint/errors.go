package fingerprint

import "errors"

// Errors returned by this package; test with errors.Is.
var (
	// ErrTooManyPixels reports an image whose declared dimensions exceed the pixel limit.
	ErrTooManyPixels = errors.New("image exceeds pixel limit")
	// ErrDecodeLimit reports an image over one of the decoder's bounds
	// (Limits.MaxScans, MaxCoefBytes, MaxDecodedPixels, the PNG and TIFF
	// bounds); the message names it.
	ErrDecodeLimit = errors.New("image exceeds a decoding limit")
	// ErrTooLarge reports an encoded image larger than the byte limit.
	ErrTooLarge = errors.New("image exceeds size limit")
	// ErrUnsupported reports bytes that are not an image format we decode.
	ErrUnsupported = errors.New("unsupported image format")
	// ErrCorrupt reports an image that could not be decoded.
	ErrCorrupt = errors.New("corrupt image")
	// ErrLowQuality reports an image too flat or small for a reliable PDQ hash.
	ErrLowQuality = errors.New("image quality too low to hash reliably")
	// ErrBankFormat reports a bank file that is truncated, corrupted or of an unknown version.
	ErrBankFormat = errors.New("invalid bank file")
)
