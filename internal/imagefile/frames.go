package imagefile

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"

	"golang.org/x/image/webp"
)

// Kind says whether and how a file is animated.
type Kind int

// Kinds.
const (
	None Kind = iota // not animated (or not a GIF or WebP)
	GIF              // a GIF with more than one frame
	WebP             // a WebP with the animation flag
)

// Errors; test with errors.Is.
var (
	// ErrTooManyPixels means the canvas is larger than Options.MaxPixels.
	ErrTooManyPixels = errors.New("animation: canvas over the pixel limit")
	// ErrDecodeLimit means a WebP animation's canvas alone needs more
	// memory than Options.MaxDecodeBytes.
	ErrDecodeLimit = errors.New("animation: canvas over the decode memory limit")
	// ErrCorrupt means the container is malformed where a frame was
	// expected.
	ErrCorrupt = errors.New("animation: corrupt animated image")
)

// Options bound the work Frames does.
type Options struct {
	// MaxFrames is how many frames are tried, rendered or skipped as
	// undecodable (default 16): a frame that fails costs its decode too.
	MaxFrames int
	// MaxPixels caps the canvas, width times height (default 50
	// megapixels).
	MaxPixels int64
	// MaxRedraw caps the pixels a GIF draws again to undo large
	// "restore to previous" frames, in canvases' worth (default 16);
	// past it the animation ends there, as at MaxFrames, with
	// Result.Limit naming the bound.
	MaxRedraw int
	// MaxDecodeBytes caps what a WebP animation holds at once, estimated
	// before each frame is decoded (x/image decodes a frame at full size):
	// its canvas, two bytes a pixel (luma and alpha), and the frame, two
	// bytes a pixel if lossy without alpha, else four (default 64 MB). A
	// canvas over it is refused; a frame over it ends the animation
	// there, with Result.Limit naming the bound.
	MaxDecodeBytes int64
}

// DefaultMaxDecodeBytes is Options.MaxDecodeBytes's default.
const DefaultMaxDecodeBytes = 64_000_000

// Result says what Frames did.
type Result struct {
	// Rendered is the number of frames passed to fn; Skipped the frames
	// that did not decode.
	Rendered, Skipped int
	// More reports frames beyond MaxFrames that were not tried.
	More bool
	// Limit names the bound other than MaxFrames that ended the
	// animation early, if one did.
	Limit *LimitError
}

// LimitError names a bound that ended an animation early: what the file
// needed (or reached) and the bound.
type LimitError struct {
	Limit      string
	Value, Max int64
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("animation: %d %s, limit %d", e.Value, e.Limit, e.Max)
}

// Animated reports whether data is an animated GIF or WebP. It reads the
// container's structure only, never pixels.
func Animated(data []byte) Kind {
	switch {
	case isGIF(data):
		n := 0
		_ = walkGIF(data, func(gifFrame) bool { n++; return n < 2 })
		if n >= 2 {
			return GIF
		}
	case isWebP(data):
		if vp8x, ok := webpChunk(data, "VP8X"); ok && len(vp8x) >= 10 && vp8x[0]&0x02 != 0 {
			return WebP
		}
	}
	return None
}

// Frames renders the frames of an animated GIF or WebP in order and calls
// fn with each (index from 0). The image passed to fn is the shared canvas,
// an *image.Gray of the frame's luma (a transparent pixel is black): it is
// valid only during the call and must not be kept. An error from fn
// stops the walk and is returned, as is ctx's error: it is checked before
// each frame (a frame's decoder cannot be stopped midway).
func Frames(ctx context.Context, data []byte, opts Options, fn func(i int, img image.Image) error) (Result, error) {
	if opts.MaxFrames <= 0 {
		opts.MaxFrames = 16
	}
	if opts.MaxPixels <= 0 {
		opts.MaxPixels = 50_000_000
	}
	if opts.MaxDecodeBytes <= 0 {
		opts.MaxDecodeBytes = DefaultMaxDecodeBytes
	}
	if opts.MaxRedraw <= 0 {
		opts.MaxRedraw = DefaultMaxRedraw
	}
	switch {
	case isGIF(data):
		return gifFrames(ctx, data, opts, fn)
	case isWebP(data):
		return webpFrames(ctx, data, opts, fn)
	}
	return Result{}, fmt.Errorf("%w: not a GIF or WebP", ErrCorrupt)
}

// GIF: header, logical screen descriptor, optional global color table,
// then blocks (extensions 0x21, images 0x2C) up to the trailer 0x3B.
// Layout from the GIF89a specification.

func isGIF(b []byte) bool {
	return len(b) >= 13 && (string(b[:6]) == "GIF87a" || string(b[:6]) == "GIF89a")
}

// gifFrame is one image of a GIF: its graphic control extension (if any)
// and its image descriptor through its last data sub-block.
type gifFrame struct {
	gce       []byte // the whole extension block, or nil
	image     []byte // from 0x2C to the block terminator
	disposal  byte
	rect      image.Rectangle
	hasLocalT bool
}

// gifScreen is the size of a GIF's header, screen descriptor and global
// color table.
func gifScreen(b []byte) int {
	n := 13
	if b[10]&0x80 != 0 {
		n += 3 << (b[10]&7 + 1)
	}
	return n
}

// skipSubBlocks returns the offset just past a chain of data sub-blocks
// starting at i, or -1 if the chain runs off the end.
func skipSubBlocks(b []byte, i int) int {
	for i < len(b) {
		n := int(b[i])
		i++
		if n == 0 {
			return i
		}
		i += n
	}
	return -1
}

// walkGIF calls fn for each image in b until fn returns false. It returns
// ErrCorrupt if the block structure breaks before the trailer (a truncated
// file simply ends).
func walkGIF(b []byte, fn func(gifFrame) bool) error {
	i := gifScreen(b)
	var gce []byte
	var disposal byte
	for i < len(b) {
		switch b[i] {
		case 0x3b:
			return nil
		case 0x21:
			if i+2 > len(b) {
				return nil
			}
			end := skipSubBlocks(b, i+2)
			if end < 0 {
				return nil
			}
			if b[i+1] == 0xf9 && end-i >= 8 && b[i+2] == 4 {
				gce, disposal = b[i:end], b[i+3]>>2&7
			}
			i = end
		case 0x2c:
			if i+10 > len(b) {
				return nil
			}
			d := b[i+1 : i+10]
			x, y := int(binary.LittleEndian.Uint16(d[0:])), int(binary.LittleEndian.Uint16(d[2:]))
			w, h := int(binary.LittleEndian.Uint16(d[4:])), int(binary.LittleEndian.Uint16(d[6:]))
			j := i + 10
			if d[8]&0x80 != 0 {
				j += 3 << (d[8]&7 + 1)
			}
			j++ // LZW minimum code size
			if j > len(b) {
				return nil
			}
			end := skipSubBlocks(b, j)
			if end < 0 {
				return nil
			}
			f := gifFrame{gce: gce, image: b[i:end], disposal: disposal, rect: image.Rect(x, y, x+w, y+h), hasLocalT: d[8]&0x80 != 0}
			gce, disposal = nil, 0
			if !fn(f) {
				return nil
			}
			i = end
		default:
			return fmt.Errorf("%w: GIF block 0x%02x at offset %d", ErrCorrupt, b[i], i)
		}
	}
	return nil
}

// maxSaved is the largest frame (in pixels) whose area of the canvas is
// saved before it is drawn, to be restored when it is disposed of with
// "restore to previous"; a larger one is undone by drawing the frames
// before it again, which costs time instead of memory, up to
// Options.MaxRedraw canvases' worth of pixels in all.
const maxSaved = 1 << 20

// DefaultMaxRedraw is Options.MaxRedraw's default: an animation may cost
// 16 canvases' worth of drawing beyond its frames.
const DefaultMaxRedraw = 16

func gifFrames(ctx context.Context, data []byte, opts Options, fn func(int, image.Image) error) (Result, error) {
	return composeGIF(ctx, data, opts, maxSaved, fn)
}

// nextFrame reports whether another frame may be tried, and ends the walk
// at MaxFrames (More) or when ctx is done (the error in *stop).
func nextFrame(ctx context.Context, res *Result, opts Options, stop *error) bool {
	if err := ctx.Err(); err != nil {
		*stop = err
		return false
	}
	if res.Rendered+res.Skipped >= opts.MaxFrames {
		res.More = true
		return false
	}
	return true
}

// composeGIF renders the frames of a GIF on a luma canvas. Each frame is
// decoded a row at a time straight onto the canvas (once first to check
// it, so that a frame image/gif would refuse is skipped, not half drawn).
func composeGIF(ctx context.Context, data []byte, opts Options, saveLimit int, fn func(int, image.Image) error) (Result, error) {
	var res Result
	w, h := int(binary.LittleEndian.Uint16(data[6:])), int(binary.LittleEndian.Uint16(data[8:]))
	c, err := lumaCanvas(w, h, opts)
	if err != nil {
		return res, err
	}
	if gifScreen(data) > len(data) {
		return res, fmt.Errorf("%w: GIF color table runs off the end", ErrCorrupt)
	}
	screen := data[:gifScreen(data)]
	// drawn are the frames that shape the canvas from here on (disposal
	// 3 frames leave no trace), to draw again when one is undone.
	var drawn []gifImage
	var disposals []byte
	var saved []byte
	var redrawn int64 // pixels drawn again to undo frames
	var fnErr error
	werr := walkGIF(data, func(f gifFrame) bool {
		if !nextFrame(ctx, &res, opts, &fnErr) {
			return false
		}
		g, err := parseGIFImage(screen, f)
		if err == nil {
			err = g.rows(func(int, []byte) {})
		}
		if err != nil {
			res.Skipped++
			return true
		}
		r := g.rect
		save := f.disposal == 3 && r.Dx()*r.Dy() <= saveLimit
		if save {
			saved = saved[:0]
			for y := r.Min.Y; y < r.Max.Y; y++ {
				saved = append(saved, c.Pix[y*c.Stride+r.Min.X:y*c.Stride+r.Max.X]...)
			}
		}
		_ = g.draw(c) // checked above: the same bytes decode the same
		if fnErr = fn(res.Rendered, c); fnErr != nil {
			return false
		}
		res.Rendered++
		switch {
		case f.disposal == 2:
			clearGray(c, r)
		case save:
			for y := r.Min.Y; y < r.Max.Y; y++ {
				copy(c.Pix[y*c.Stride+r.Min.X:y*c.Stride+r.Max.X], saved[(y-r.Min.Y)*r.Dx():])
			}
		case f.disposal == 3:
			for _, p := range drawn {
				redrawn += int64(p.rect.Dx()) * int64(p.rect.Dy())
			}
			if limit := int64(opts.MaxRedraw) * int64(w) * int64(h); redrawn > limit {
				res.More, res.Limit = true, &LimitError{Limit: "redrawn pixels", Value: redrawn, Max: limit}
				return false
			}
			clearGray(c, c.Rect)
			for k, p := range drawn {
				// Each redraw can be a whole canvas of --max-pixels.
				if fnErr = ctx.Err(); fnErr != nil {
					return false
				}
				_ = p.draw(c) // drawn before
				if disposals[k] == 2 {
					clearGray(c, p.rect)
				}
			}
		}
		if f.disposal != 3 {
			drawn, disposals = append(drawn, g), append(disposals, f.disposal)
		}
		return true
	})
	if fnErr != nil {
		return res, fnErr
	}
	return res, werr
}

// WebP: a RIFF container ("RIFF", size, "WEBP") of chunks (FourCC, size,
// data padded to an even length). An animation has a VP8X chunk with the
// animation flag, an ANIM chunk and one ANMF chunk per frame, each holding
// its position, size and flags and then its own ALPH/VP8/VP8L chunks.
// Layout from Google's "WebP Container Specification".

func isWebP(b []byte) bool {
	return len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP"
}

// webpChunks calls fn for each chunk in b (a chunk payload area) until fn
// returns false; it stops quietly where a chunk runs off the end.
func webpChunks(b []byte, fn func(id string, data []byte) bool) {
	for len(b) >= 8 {
		n := int64(binary.LittleEndian.Uint32(b[4:]))
		if n > int64(len(b)-8) {
			return
		}
		if !fn(string(b[:4]), b[8:8+n]) {
			return
		}
		b = b[min(int64(len(b)), 8+n+n&1):]
	}
}

// webpChunk returns the first top-level chunk with the given FourCC.
func webpChunk(data []byte, id string) ([]byte, bool) {
	var out []byte
	found := false
	webpChunks(data[12:], func(cid string, d []byte) bool {
		if cid == id {
			out, found = d, true
			return false
		}
		return true
	})
	return out, found
}

func u24(b []byte) int { return int(b[0]) | int(b[1])<<8 | int(b[2])<<16 }

// riffChunk appends one chunk, padded.
func riffChunk(b []byte, id string, data []byte) []byte {
	b = append(b, id...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(data)))
	b = append(b, data...)
	if len(data)%2 == 1 {
		b = append(b, 0)
	}
	return b
}

// webpFrame builds a standalone WebP of one frame from its ALPH and
// VP8/VP8L chunks.
func webpFrame(w, h int, alph, bitstream []byte, lossless bool) []byte {
	var body []byte
	if alph != nil && !lossless {
		x := make([]byte, 10)
		x[0] = 0x10 // alpha
		x[4], x[5], x[6] = byte(w-1), byte((w-1)>>8), byte((w-1)>>16)
		x[7], x[8], x[9] = byte(h-1), byte((h-1)>>8), byte((h-1)>>16)
		body = riffChunk(body, "VP8X", x)
		body = riffChunk(body, "ALPH", alph)
	}
	id := "VP8 "
	if lossless {
		id = "VP8L"
	}
	body = riffChunk(body, id, bitstream)
	out := []byte("RIFF")
	out = binary.LittleEndian.AppendUint32(out, uint32(4+len(body)))
	out = append(out, "WEBP"...)
	return append(out, body...)
}

// anmfBitstream returns the ALPH chunk (if any) and the VP8 or VP8L
// bitstream of an ANMF chunk's frame.
func anmfBitstream(d []byte) (alph, bits []byte, lossless bool) {
	webpChunks(d[16:], func(id string, sub []byte) bool {
		switch id {
		case "ALPH":
			alph = sub
		case "VP8 ", "VP8L":
			bits, lossless = sub, id == "VP8L"
			return false
		}
		return true
	})
	return alph, bits, lossless
}

func webpFrames(ctx context.Context, data []byte, opts Options, fn func(int, image.Image) error) (Result, error) {
	var res Result
	vp8x, ok := webpChunk(data, "VP8X")
	if !ok || len(vp8x) < 10 {
		return res, fmt.Errorf("%w: WebP without a VP8X header", ErrCorrupt)
	}
	cw, ch := u24(vp8x[4:])+1, u24(vp8x[7:])+1
	canvasBytes := 2 * int64(cw) * int64(ch)
	if canvasBytes > opts.MaxDecodeBytes {
		return res, fmt.Errorf("%w: %dx%d WebP canvas: %d decode bytes, limit %d", ErrDecodeLimit, cw, ch, canvasBytes, opts.MaxDecodeBytes)
	}
	g, err := lumaCanvas(cw, ch, opts)
	if err != nil {
		return res, err
	}
	c := alphaCanvas{g, make([]uint8, len(g.Pix))}
	var fnErr error
	webpChunks(data[12:], func(id string, d []byte) bool {
		if id != "ANMF" {
			return true
		}
		if !nextFrame(ctx, &res, opts, &fnErr) {
			return false
		}
		if len(d) < 16 {
			res.Skipped++
			return true
		}
		x, y := 2*u24(d[0:]), 2*u24(d[3:])
		w, h := u24(d[6:])+1, u24(d[9:])+1
		blend, dispose := d[15]&0x02 == 0, d[15]&0x01 != 0
		alph, bits, lossless := anmfBitstream(d)
		r := image.Rect(x, y, x+w, y+h)
		if bits == nil || !r.In(c.Rect) {
			res.Skipped++
			return true
		}
		frameBytes := 4 * int64(w) * int64(h)
		if !lossless && alph == nil {
			frameBytes /= 2
		}
		if need := canvasBytes + frameBytes; need > opts.MaxDecodeBytes {
			res.More = true
			res.Limit = &LimitError{Limit: "decode bytes", Value: need, Max: opts.MaxDecodeBytes}
			return false
		}
		one := webpFrame(w, h, alph, bits, lossless)
		// The bitstream declares its own size, which the decoder
		// allocates: it must be the frame's, which fits the canvas.
		if cfg, err := webp.DecodeConfig(bytes.NewReader(one)); err != nil || cfg.Width != w || cfg.Height != h {
			res.Skipped++
			return true
		}
		img, err := decodeWebP(one)
		if err != nil || img.Bounds() != image.Rect(0, 0, w, h) {
			res.Skipped++
			return true
		}
		c.put(r, img, blend)
		if fnErr = fn(res.Rendered, c.Gray); fnErr != nil {
			return false
		}
		res.Rendered++
		if dispose {
			c.clear(r)
		}
		return true
	})
	return res, fnErr
}

// decodeWebP decodes one frame's bitstream. x/image's decoder runs on
// hostile bytes: a panic in it is a frame that failed to decode, not the
// end of the scan.
func decodeWebP(b []byte) (img image.Image, err error) {
	defer func() {
		if p := recover(); p != nil {
			img, err = nil, fmt.Errorf("%w: webp decoder panicked: %v", ErrCorrupt, p)
		}
	}()
	return webp.Decode(bytes.NewReader(b))
}
