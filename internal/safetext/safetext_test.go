package safetext

import "testing"

func TestDisplay(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"photo.jpg", 0, "photo.jpg"},
		{"\x1b]52;c;cm0gLXJmIH4K\a\x1b[2Jbackup.zip", 0, "]52;c;cm0gLXJmIH4K[2Jbackup.zip"},
		{"a\nb\rc\u0085d\u009b31m", 0, "abcd31m"},
		{"photo\u202egpj.exe", 0, "photogpj.exe"},
		{"x\u2028y\u200bz\ufeff", 0, "xyz"},
		{"bad\xffutf8", 0, "bad\uFFFDutf8"},
		{"naïve café", 0, "naïve café"},
		{"abcdef", 4, "abcd…"},
		{"ééé", 5, "éé…"},
	}
	for _, tt := range tests {
		if got := Display(tt.in, tt.max); got != tt.want {
			t.Errorf("Display(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}
