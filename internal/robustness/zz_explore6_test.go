package robustness

import (
	"fmt"
	"testing"

	"github.com/leakwatch/leakwatch/fingerprint"
)

func TestZZShift(t *testing.T) {
	imgs := captures()
	for _, ub := range []bool{false, true} {
		useBlur = ub
		for _, mode := range []string{"shift", "scale"} {
			for _, d := range []float64{0.005, 0.01, 0.02, 0.03, 0.05} {
				var ds []int
				for _, img := range imgs {
					l, w, h := fingerprint.Luma(img)
					base := cut{0.2, 0.2, 0.2, 0.2}
					var c2 cut
					if mode == "shift" {
						c2 = cut{0.2 + 0.6*d, 0.2, 0.2 - 0.6*d, 0.2}
					} else {
						c2 = cut{0.2 - 0.3*d, 0.2 - 0.3*d, 0.2 - 0.3*d, 0.2 - 0.3*d}
					}
					a := h64(subLuma(l, w, h, base))
					b := h64(subLuma(l, w, h, c2))
					ds = append(ds, a.Hashes[0].Distance(b.Hashes[0]))
				}
				hist(fmt.Sprintf("blur=%v %s %.3f", ub, mode, d), ds)
			}
		}
	}
}
