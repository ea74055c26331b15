package feature

import "testing"

func TestOverlapping(t *testing.T) {
	rect := func(x0, y0, x1, y1 float64) Verdict { return Verdict{Rect: [4]float64{x0, y0, x1, y1}} }
	for _, tc := range []struct {
		name string
		a, b Verdict
		want bool
	}{
		{"same outline", rect(0, 0, 100, 100), rect(0, 0, 100, 100), true},
		{"a look-alike ten percent smaller", rect(10, 10, 110, 110), rect(15, 15, 105, 105), true},
		{"a thumbnail inside a copy", rect(0, 0, 200, 200), rect(20, 20, 60, 60), true},
		{"two cells of a collage", rect(0, 0, 100, 100), rect(100, 0, 200, 100), false},
		{"a third overlapping", rect(0, 0, 90, 100), rect(60, 0, 150, 100), false},
		{"more than half of the smaller", rect(0, 0, 100, 100), rect(40, 0, 120, 100), true},
		// Outside the query counts for nothing: the visible parts are
		// compared.
		{"outlines meeting only outside the query", rect(-100, 0, 10, 100), rect(-100, 0, -10, 100), false},
		{"an empty outline", rect(0, 0, 0, 100), rect(0, 0, 100, 100), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := overlapping(tc.a, tc.b, 300, 300); got != tc.want {
				t.Errorf("overlapping(%v, %v) = %v, want %v", tc.a.Rect, tc.b.Rect, got, tc.want)
			}
			if got := overlapping(tc.b, tc.a, 300, 300); got != tc.want {
				t.Errorf("not symmetric for %v, %v", tc.a.Rect, tc.b.Rect)
			}
		})
	}
}
