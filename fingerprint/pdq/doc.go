// Package pdq computes PDQ, Meta's 256-bit perceptual hash
// (facebook/ThreatExchange, folder pdq), with its quality score and the
// hashes of the image's eight rotations and reflections. It is an
// independent Go implementation of the algorithm that the reference C++
// hasher implements:
//
//  1. luma Y = 0.299R + 0.587G + 0.114B as float32 from straight RGB;
//  2. images with a side over 512 pixels are first resized to exactly
//     512x512 by nearest neighbour, as the reference front end does;
//  3. two passes of a Jarosz box filter along each axis (a tent filter),
//     then decimation to 64x64 at the sampling centres;
//  4. a quality score from the gradients of the 64x64 image;
//  5. a partial DCT keeping coefficients 1..16 along each axis (no DC);
//  6. bit i*16+j is set when coefficient (i, j) exceeds the median.
//
// The arithmetic follows the reference step for step in float32 (same
// operation order, explicit conversions so that no platform fuses a
// multiply-add), so a given luma buffer hashes the same on every machine.
// The tests compare it with the reference's own hashes of Meta's test
// images (fixtures/pdq).
package pdq
