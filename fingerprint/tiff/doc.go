// Package tiff reads a TIFF file held in memory straight into a reduced
// luma image: each strip or tile is decompressed a row at a time (one row
// of the file in memory, never a whole strip or a full-size copy) and the
// luma of its pixels is area-averaged into the output as it goes.
//
// It reads the first image of a file: grey (1, 2, 4, 8 or 16 bits, black
// or white is zero), palette (1 to 8 bits), RGB and RGBA (8 or 16 bits,
// alpha associated or not) and 8-bit CMYK, in strips or tiles,
// uncompressed or compressed with PackBits, LZW, Deflate or CCITT group 3
// or 4, with or without the horizontal predictor. The luma of each pixel
// is what the fingerprint takes from the image golang.org/x/image/tiff
// returns, so the output equals that decode followed by an area
// reduction, within rounding. Anything else (JPEG or other compressions,
// YCbCr, floating-point samples, separate colour planes, BigTIFF) is
// ErrUnsupported. Every count, offset and size is checked against the
// file and the bounds before use, and the context is checked between
// rows.
package tiff
