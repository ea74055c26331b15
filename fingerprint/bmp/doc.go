// Package bmp reads a BMP file held in memory straight into a reduced
// luma image, a row at a time (the rows are read where they lie in the
// file, never copied into a full-size image), area-averaged into the
// output as they go. It reads what golang.org/x/image/bmp reads:
// uncompressed 1, 2, 4 and 8-bit palette, 24-bit and 32-bit files,
// bottom-up or top-down, with a BITMAPINFOHEADER, V4 or V5 header (32-bit
// bit fields only in the standard layout); the luma of each pixel is what
// the fingerprint takes from the image x/image/bmp returns, so the output
// equals that decode followed by an area reduction, within rounding.
// Run-length and 16-bit files, and other headers, are ErrUnsupported.
// Sizes and offsets are checked against the file and the bounds before
// anything is allocated, and the context is checked between rows.
package bmp
