// Package jpegtest builds JPEG files that attack a decoder, in memory, for
// tests: a progressive file declaring tens of megapixels in a few hundred
// kilobytes, a file of thousands of scans, one whose scans each cost a pass over
// every block, and EXIF orientation added to
// any JPEG. Only tests import it.
package jpegtest
