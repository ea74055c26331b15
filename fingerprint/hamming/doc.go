// Package hamming holds the binary hash types (Hash64 for pHash, Hash256
// for PDQ) and exact Hamming-radius search over large sets of them: a
// multi-index hashing index that returns the same ids as a brute-force scan,
// for every radius, and grows by Add. It knows nothing of images.
package hamming
