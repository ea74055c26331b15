// Package area builds the reduced luma image that fingerprint's own
// decoders (png, tiff) write into: the luma of each decoded pixel is added
// to the output pixel whose d x d block it falls in, and the output is
// their mean. It also holds the luma weights fingerprint/pdq reads colour
// with, so that a decoder's luma equals what the fingerprint would take
// from the full-size image another decoder returns.
package area
