package fingerprint

import (
	"encoding/binary"
	"image"
	"image/draw"
)

// jpegOrientation returns the EXIF orientation (1..8) of a JPEG, or 1 when
// it has none or the metadata is malformed. It walks only the marker
// segments before the first scan and never trusts a length beyond the data.
func jpegOrientation(data []byte) int {
	if len(data) < 4 || data[0] != 0xFF || data[1] != 0xD8 {
		return 1
	}
	p := 2
	for p+4 <= len(data) {
		if data[p] != 0xFF {
			return 1
		}
		marker := data[p+1]
		if marker == 0xFF { // fill byte
			p++
			continue
		}
		if marker == 0xDA || marker == 0xD9 { // start of scan, end of image
			return 1
		}
		if marker >= 0xD0 && marker <= 0xD7 || marker == 0x01 {
			p += 2
			continue
		}
		n := int(binary.BigEndian.Uint16(data[p+2:]))
		if n < 2 || p+2+n > len(data) {
			return 1
		}
		seg := data[p+4 : p+2+n]
		if marker == 0xE1 && len(seg) >= 6 && string(seg[:6]) == "Exif\x00\x00" {
			if o := tiffOrientation(seg[6:]); o != 0 {
				return o
			}
		}
		p += 2 + n
	}
	return 1
}

// tiffOrientation reads tag 0x0112 from IFD0 of a TIFF structure, or 0.
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 0
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 0
	}
	if bo.Uint16(t[2:]) != 42 {
		return 0
	}
	off := int64(bo.Uint32(t[4:]))
	if off < 8 || off+2 > int64(len(t)) {
		return 0
	}
	n := int64(bo.Uint16(t[off:]))
	for i := int64(0); i < n; i++ {
		e := off + 2 + i*12
		if e+12 > int64(len(t)) {
			return 0
		}
		if bo.Uint16(t[e:]) != 0x0112 {
			continue
		}
		typ := bo.Uint16(t[e+2:])
		var v int
		switch typ {
		case 3: // SHORT
			v = int(bo.Uint16(t[e+8:]))
		case 4: // LONG
			v = int(bo.Uint32(t[e+8:]))
		default:
			return 0
		}
		if v < 1 || v > 8 {
			return 0
		}
		return v
	}
	return 0
}

// Orient returns img transformed so that EXIF orientation o displays
// upright. o outside 2..8 returns img unchanged.
func Orient(img image.Image, o int) image.Image {
	if o < 2 || o > 8 {
		return img
	}
	if g, ok := img.(*image.Gray); ok {
		return orientGray(g, o)
	}
	b := img.Bounds()
	src := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(src, src.Bounds(), img, b.Min, draw.Src)
	w, h := b.Dx(), b.Dy()
	dst := image.NewNRGBA(orientedRect(o, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			dx, dy := orientedAt(o, x, y, w, h)
			si := y*src.Stride + x*4
			di := dy*dst.Stride + dx*4
			copy(dst.Pix[di:di+4], src.Pix[si:si+4])
		}
	}
	return dst
}

// orientGray is Orient for a grey image (what fingerprint decodes give):
// one copy of the image, no colour conversion.
func orientGray(src *image.Gray, o int) image.Image {
	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	dst := image.NewGray(orientedRect(o, w, h))
	for y := 0; y < h; y++ {
		row := src.Pix[src.PixOffset(b.Min.X, b.Min.Y+y):]
		for x := 0; x < w; x++ {
			dx, dy := orientedAt(o, x, y, w, h)
			dst.Pix[dy*dst.Stride+dx] = row[x]
		}
	}
	return dst
}

// orientedRect is the bounds of a w x h image under EXIF orientation o.
func orientedRect(o, w, h int) image.Rectangle {
	if o >= 5 {
		return image.Rect(0, 0, h, w)
	}
	return image.Rect(0, 0, w, h)
}

// orientedAt is where pixel (x, y) of a w x h image goes under EXIF
// orientation o.
func orientedAt(o, x, y, w, h int) (dx, dy int) {
	switch o {
	case 2: // mirror horizontal
		dx, dy = w-1-x, y
	case 3: // rotate 180
		dx, dy = w-1-x, h-1-y
	case 4: // mirror vertical
		dx, dy = x, h-1-y
	case 5: // transpose
		dx, dy = y, x
	case 6: // rotate 90 clockwise
		dx, dy = h-1-y, x
	case 7: // transverse
		dx, dy = h-1-y, w-1-x
	case 8: // rotate 270 clockwise
		dx, dy = y, w-1-x
	}
	return dx, dy
}
