// Package evidence is the evidence locker: an opt-in folder where each
// matched leaked file, and the page that linked it, is kept for legal and
// notification work without ever lying on disk in the clear.
//
// Each item becomes one file, <id>.warc.age: a WARC 1.1 file (ISO 28500; a
// warcinfo record and the item's response or resource record) encrypted
// to an age recipient as it is written. The bytes go from memory (where
// the scan already holds them, bounded by its size limits) through the
// encryptor into a temporary file of ciphertext that is renamed into
// place; no plaintext is written, even temporarily. manifest.jsonl, the
// only file in the clear, is the chain of custody: per item its URL,
// archive entry, the page that linked it, fetch time, response headers,
// SHA-256 of the content and of the ciphertext, size, run, incident and
// captures. Nothing in it is from the leaked file's content but its hash.
//
// Reading back (Decrypt) needs the age identity; List and Verify need none.
// The records are written by this package rather than by a WARC library:
// the ones available buffer a record's block before writing it, spilling
// large blocks to a temporary file in the clear. Tests check the records
// with github.com/nlnwa/gowarc, an independent reader.
package evidence
