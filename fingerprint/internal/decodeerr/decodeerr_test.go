package decodeerr

import (
	"errors"
	"testing"
)

// TestErrorsNameTheirFormat checks that each format's errors say which
// format they come from and that errors.Is tells the formats apart.
func TestErrorsNameTheirFormat(t *testing.T) {
	jpeg, png := New("jpeg"), New("png")
	cases := []struct {
		name  string
		err   error
		is    error
		isNot error
		msg   string
	}{
		{"format", jpeg.Formatf("bad marker %#x", 0xd9), jpeg.ErrFormat, png.ErrFormat, "jpeg: invalid data: bad marker 0xd9"},
		{"unsupported", png.Unsupportedf("%d-bit", 12), png.ErrUnsupported, jpeg.ErrUnsupported, "png: unsupported: 12-bit"},
		{"limit", jpeg.Limit("scans", 5000, 100), jpeg.ErrLimit, png.ErrLimit, "jpeg: 5000 scans, limit 100"},
		{"limit is not format", png.Limit("chunks", 3, 2), png.ErrLimit, png.ErrFormat, "png: 3 chunks, limit 2"},
	}
	for _, c := range cases {
		if got := c.err.Error(); got != c.msg {
			t.Errorf("%s: message %q, want %q", c.name, got, c.msg)
		}
		if !errors.Is(c.err, c.is) {
			t.Errorf("%s: errors.Is(%v, %v) is false", c.name, c.err, c.is)
		}
		if errors.Is(c.err, c.isNot) {
			t.Errorf("%s: errors.Is(%v, %v) is true", c.name, c.err, c.isNot)
		}
	}
}

// TestLimitErrorAs checks that a wrapped LimitError gives back the bound
// and the values.
func TestLimitErrorAs(t *testing.T) {
	err := error(New("tiff").Limit("blocks", 9, 8))
	var le *LimitError
	if !errors.As(errors.Join(errors.New("reading"), err), &le) {
		t.Fatalf("errors.As found no LimitError in %v", err)
	}
	if le.Limit != "blocks" || le.Value != 9 || le.Max != 8 {
		t.Errorf("got %+v, want blocks 9 of 8", *le)
	}
	if zero := (&LimitError{Limit: "pixels", Value: 2, Max: 1}); errors.Is(zero, New("bmp").ErrLimit) {
		t.Error("a LimitError made without New matches a format's ErrLimit")
	}
}

func TestDefault(t *testing.T) {
	cases := []struct{ v, def, want int64 }{
		{0, 100, 100},
		{-1, 100, 100},
		{1, 100, 1},
		{500, 100, 500},
	}
	for _, c := range cases {
		if got := Default(c.v, c.def); got != c.want {
			t.Errorf("Default(%d, %d) = %d, want %d", c.v, c.def, got, c.want)
		}
	}
	if got := Default(0, 7); got != 7 {
		t.Errorf("Default(0, 7) as int = %d, want 7", got)
	}
}
