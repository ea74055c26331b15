// Package archive streams the entries out of untrusted archives: zip, tar,
// tar.gz/tgz, tar.bz2, tar.xz, single gzip/bzip2/xz files, 7z and RAR (4
// and 5), and archives nested inside them, without ever writing an entry
// to disk.
//
// It exists because dump sites ship leaked photos in archives, and an
// archive from an attacker is a weapon: a 42 KB zip can expand to petabytes
// (nested bombs), thousands of zip entries can share one compressed kernel
// (overlapping-entry bombs), entry names can try to escape a directory
// ("../../etc/passwd") or rewrite a terminal, and a header can claim sizes
// or counts that exhaust memory. Walk defends with Limits that it enforces
// while streaming, at every layer:
//
//   - bytes read from the source, bytes decompressed in total and per entry,
//     members examined, and the decompression ratio, checked as bytes flow
//     so a bomb is stopped after a bounded amount of work;
//   - nesting depth, with nested archives recognised by magic bytes rather
//     than by name;
//   - zip directories are counted before they are parsed, and zips whose
//     entries overlap are refused;
//   - zip and 7z need random access: an io.ReaderAt source is used as is,
//     anything else is spooled to memory (up to 1 MiB) or to a temporary
//     file that is unlinked as soon as it is created and closed when the
//     walk ends, capped at Limits.MaxSpoolBytes;
//   - entry names are data: they are sanitized for display and never used
//     as paths;
//   - context cancellation is checked on every read, so a walk over an
//     endless or slow source stops promptly.
//
// Every member is either passed to the callback, descended into, or
// reported and counted in Stats; a problem with one entry does not end the
// walk where the format allows going on.
//
// 7z gets extra care because its reader library sizes tables and
// dictionaries from header fields before validating them (a 41-byte file
// can make it ask for 500 GB and kill the process): Walk parses the 7z
// header itself first, bounded, and refuses counts beyond the entry budget
// and LZMA/LZMA2/PPMd memory beyond 128 MiB, as it does for xz. The
// entries of encrypted folders are reported from the header, not opened:
// an open would run the folder's key derivation only to fail. A
// directory or link entry that holds data is drained through the meters
// too: in a solid folder the library decodes it anyway to reach the next
// entry.
//
// RAR is read as a stream with github.com/nwaples/rardecode/v2, whose
// decoders allocate the declared dictionary up front: dictionaries beyond
// 128 MiB are refused (RAR 7 allows 64 GiB), and like 7z every entry is
// read to its end through the meters, since a solid archive decodes the
// entries it skips. The library cannot go on past an entry it refuses to
// open (too large a dictionary, an unknown version), so such an entry ends
// the walk with that reason.
//
// Every xz block's LZMA2 dictionary is checked before the decoder reads
// that block's header (xzGuard follows the framing as the bytes pass).
//
// Known limits: 7z's zstd coder (7-Zip forks only) is refused, its
// window being declared inside the stream; the windows of brotli and lz4
// are left to those decoders' own caps; a RAR 3 PPMd model sizes its
// memory (up to 256 MiB) from inside the compressed stream, past any
// header check. Callers should still run with
// a memory limit (GOMEMLIMIT) and a deadline on ctx.
//
// This package imports nothing else from leakwatch.
package archive
