package imagefile

import (
	"bytes"
	"image"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

func TestEnd(t *testing.T) {
	src := frame(1)
	var j, jp, p bytes.Buffer
	if err := jpeg.Encode(&j, src, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(&p, src); err != nil {
		t.Fatal(err)
	}
	// A grey JPEG: its entropy-coded data is full of 0xFF 0x00 stuffing.
	grey := image.NewGray(image.Rect(0, 0, 64, 64))
	for i := range grey.Pix {
		grey.Pix[i] = uint8(255 - i%3)
	}
	if err := jpeg.Encode(&jp, grey, &jpeg.Options{Quality: 100}); err != nil {
		t.Fatal(err)
	}
	webp, err := os.ReadFile(filepath.Join("testdata", "anim-lossy.webp"))
	if err != nil {
		t.Fatal(err)
	}
	tail := []byte("PK\x03\x04 appended")
	for _, tt := range []struct {
		name string
		img  []byte
	}{
		{"jpeg", j.Bytes()},
		{"jpeg with stuffing", jp.Bytes()},
		{"png", p.Bytes()},
		{"gif", animatedGIF(t, 3)},
		{"webp", webp},
	} {
		t.Run(tt.name, func(t *testing.T) {
			data := append(append([]byte{}, tt.img...), tail...)
			end, ok := End(data)
			if !ok || end != len(tt.img) {
				t.Errorf("End = %d, %v; want %d (the image's own length)", end, ok, len(tt.img))
			}
			if _, ok := End(tt.img[:len(tt.img)-1]); ok && tt.name != "webp" {
				t.Errorf("End found an end in an image cut short")
			}
		})
	}
	if _, ok := End([]byte("not an image")); ok {
		t.Error("End of text")
	}
}

func FuzzEnd(f *testing.F) {
	for _, b := range frameSeeds(f) {
		f.Add(b)
	}
	f.Add([]byte("\xff\xd8\xff\xe0\x00\x04ab\xff\xda\x00\x02\x12\xff\x00\xff\xd0\xff\xd9PK"))
	f.Add([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x00IEND\xae\x42\x60\x82tail"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if end, ok := End(data); ok && (end <= 0 || end > len(data)) {
			t.Fatalf("End = %d for %d bytes", end, len(data))
		}
	})
}
