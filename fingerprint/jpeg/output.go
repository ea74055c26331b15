package jpeg

import (
	"image"
	"image/color"
)

// output assembles the decoded planes into an image of the scaled size.
func (d *decoder) output() (image.Image, error) {
	sw, sh := ScaledSize(d.width, d.height, d.denom)
	r := image.Rect(0, 0, sw, sh)
	col := d.colour()
	c0 := &d.comps[0]
	switch {
	case col == colourGray || col == colourYCbCr && d.opt.Luma:
		return &image.Gray{Pix: c0.pix, Stride: c0.stride, Rect: r}, nil
	case col == colourYCbCr:
		ratio, _ := d.subsampleRatio()
		return &image.YCbCr{
			Y: c0.pix, Cb: d.comps[1].pix, Cr: d.comps[2].pix,
			YStride: c0.stride, CStride: d.comps[1].stride,
			SubsampleRatio: ratio, Rect: r,
		}, nil
	}
	// RGB, CMYK and YCCK: each pixel from the (possibly subsampled)
	// planes, upsampled by replication.
	n := len(d.comps)
	var (
		rows  [4][]byte
		xs    [4]int // horizontal subsampling factor
		gray  *image.Gray
		rgba  *image.RGBA
		cmyk  *image.CMYK
		samps [4]byte
	)
	switch {
	case d.opt.Luma:
		gray = image.NewGray(r)
	case col == colourRGB:
		rgba = image.NewRGBA(r)
	default:
		cmyk = image.NewCMYK(r)
	}
	for y := range sh {
		if y&63 == 0 {
			if err := d.ctx.Err(); err != nil {
				return nil, err
			}
		}
		for i := range n {
			c := &d.comps[i]
			ys := d.vmax / c.v
			xs[i] = d.hmax / c.h
			rows[i] = c.pix[(y/ys)*c.stride:]
		}
		for x := range sw {
			for i := range n {
				samps[i] = rows[i][x/xs[i]]
			}
			var cr, cg, cb, ck byte
			switch col {
			case colourRGB:
				cr, cg, cb = samps[0], samps[1], samps[2]
			case colourYCCK:
				// The YCbCr part gives inverted CMY; K is stored
				// inverted (Adobe).
				cr, cg, cb = color.YCbCrToRGB(samps[0], samps[1], samps[2])
				ck = 255 - samps[3]
			default:
				// Adobe CMYK is stored inverted.
				cr, cg, cb, ck = 255-samps[0], 255-samps[1], 255-samps[2], 255-samps[3]
			}
			switch {
			case rgba != nil:
				o := y*rgba.Stride + 4*x
				rgba.Pix[o], rgba.Pix[o+1], rgba.Pix[o+2], rgba.Pix[o+3] = cr, cg, cb, 255
			case cmyk != nil:
				o := y*cmyk.Stride + 4*x
				cmyk.Pix[o], cmyk.Pix[o+1], cmyk.Pix[o+2], cmyk.Pix[o+3] = cr, cg, cb, ck
			default:
				if col != colourRGB {
					cr, cg, cb = color.CMYKToRGB(cr, cg, cb, ck)
				}
				gray.Pix[y*gray.Stride+x] = luma(cr, cg, cb)
			}
		}
	}
	switch {
	case rgba != nil:
		return rgba, nil
	case cmyk != nil:
		return cmyk, nil
	}
	return gray, nil
}

// luma uses the weights of color.GrayModel (JFIF's Y).
func luma(r, g, b byte) byte {
	return byte((19595*uint32(r) + 38470*uint32(g) + 7471*uint32(b) + 1<<15) >> 16)
}
