// Package decodeerr is how fingerprint's own decoders (jpeg, png, tiff,
// bmp) refuse a file: each format's sentinel errors, whose messages name
// the format, and the LimitError that names the bound a file exceeded,
// with the rule by which an unset bound takes its default.
package decodeerr
