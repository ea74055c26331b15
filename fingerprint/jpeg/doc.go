// Package jpeg decodes baseline and progressive JPEG images at 1/1, 1/2,
// 1/4 or 1/8 of their size directly in the DCT domain, the way
// libjpeg-turbo's scale_denom does: a reduced image needs only the
// low-frequency corner of each block, so most of the inverse transform,
// the colour work and, for progressive files, whole scans are skipped.
//
// Every byte it reads is treated as hostile. Decode refuses files with more
// scans than Options.MaxScans, more coefficient memory than
// Options.MaxCoefBytes or more output pixels than Options.MaxPixels before
// allocating anything large, and it checks its context between scans and
// between rows of blocks, so a cancelled decode stops within milliseconds.
// Arithmetic-coded, 12-bit, lossless and hierarchical files are refused
// with ErrUnsupported; malformed ones with ErrFormat.
//
// Output matches image/jpeg (within rounding of the inverse transform) at
// scale 1: *image.YCbCr, *image.Gray, *image.RGBA or *image.CMYK. With
// Options.Luma it is an *image.Gray holding only the luma, which is all a
// perceptual hash needs; chroma is then entropy-decoded but never
// transformed.
package jpeg
