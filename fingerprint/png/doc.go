// Package png reads a PNG file straight into a reduced luma image: rows
// are inflated and unfiltered one at a time (two rows of the file in
// memory, never a full-size copy) and their luma is area-averaged into
// the output as they go. Every colour type, bit depth and Adam7
// interlacing are read; the luma of each pixel is what the fingerprint
// takes from the image image/png returns, so the output equals image/png
// followed by an area reduction, within rounding. Work is bounded
// (pixels, inflated bytes, chunk count and size) and the context is
// checked between rows.
package png
