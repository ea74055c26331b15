// Package local works on image files on the local disk: it enrolls the
// organisation's captures into a bank (with an optional CSV manifest for
// IDs and metadata) and hashes or matches files for the hash and match
// commands. Per-file problems are reported per file; only a failure of the
// whole operation is returned as an error.
package local
