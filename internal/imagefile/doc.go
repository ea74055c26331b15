// Package imagefile reads what image decoders skip in an image file: the
// frames after the first of an animated GIF or WebP, rendered as a viewer
// shows them, and where the image's data ends, so that whatever was
// appended after it (a zip behind a JPEG) can be looked at.
//
// Decoders for matching (and every thumbnailer) stop at the first frame,
// Go's WebP decoder refuses animated files outright, and a JPEG followed
// by a zip displays as the JPEG. The files are hostile: Frames walks the
// container itself (GIF blocks, RIFF chunks), bounded: it renders at most
// Options.MaxFrames frames, checks the canvas against Options.MaxPixels
// before allocating it, and composes the frames, one at a time, on one
// canvas of their luma (all that matching reads: a byte a pixel, and a
// byte of alpha for WebP's blending) with the format's disposal and
// blending rules. A GIF frame is decompressed a row at a time straight
// onto the canvas (compress/lzw; once first to check it, as image/gif
// would), so no frame image is held; a WebP frame is cut out of the file
// as a standalone one-frame WebP for x/image's decoder, whose declared
// size is checked first. A frame that does not decode is skipped and
// counted; a file whose structure is broken ends
// with the frames rendered so far. End follows the container's structure
// to its end marker and never decodes pixels.
//
// This package imports nothing else from leakwatch.
package imagefile
