// Package fingerprint turns untrusted image bytes into perceptual hashes and
// matches them against a bank of the organisation's own captures.
//
// It decodes images with hard limits (bytes, pixels) checked before any pixel
// buffer is allocated, applies EXIF orientation, computes the hashes matching
// needs (PDQ of the whole image in its eight dihedral variants, from package
// pdq, and goimagehash's 64-bit pHash), stores them in a versioned,
// checksummed bank file that never holds pixels, and decides what counts as
// a match, searching the bank through package hamming's exact index.
// Copies that are cropped, captioned, turned or shown inside a larger
// picture are found through hashes of parts of the capture and of the query:
// central regions and windows, detected sub-images, straightened versions,
// and patches framed by keypoints for uneven crops (MatchOptions).
//
// The package imports nothing else from leakwatch but its subpackages.
package fingerprint
