package report

import (
	"bytes"
	"image"
	"image/jpeg"

	"golang.org/x/image/draw"

	"github.com/leakwatch/leakwatch/fingerprint"
)

// ThumbnailSide is the longest side of a report thumbnail, in pixels.
const ThumbnailSide = 160

// Thumbnail decodes a leaked image with the scan's safe decoder (size and
// pixel limits, so a bomb is an error) and re-encodes it as a small JPEG:
// the report embeds these bytes of ours, never the dump's.
func Thumbnail(data []byte) ([]byte, error) {
	// A JPEG is decoded reduced (in the DCT domain) to what the
	// thumbnail shows.
	d, err := fingerprint.DecodeBytes(data, fingerprint.DefaultLimits(), fingerprint.MinSide(ThumbnailSide))
	if err != nil {
		return nil, err
	}
	b := d.Image.Bounds()
	w, h := b.Dx(), b.Dy()
	if w > ThumbnailSide || h > ThumbnailSide {
		if w >= h {
			w, h = ThumbnailSide, max(1, h*ThumbnailSide/b.Dx())
		} else {
			w, h = max(1, w*ThumbnailSide/b.Dy()), ThumbnailSide
		}
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.ApproxBiLinear.Scale(dst, dst.Bounds(), d.Image, b, draw.Src, nil)
	var out bytes.Buffer
	if err := jpeg.Encode(&out, dst, &jpeg.Options{Quality: 75}); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
