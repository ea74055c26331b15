package robustness

import (
	"fmt"
	"testing"
)

func TestZZKPUnrel(t *testing.T) {
	imgs := captures()
	var enr [][]patchHash
	for _, img := range imgs {
		enr = append(enr, pairHashes(img))
	}
	for i := range enr {
		for j := range enr {
			if i < j {
				d, n := minDist(enr[i], enr[j])
				if d <= 40 {
					fmt.Printf("pair %d(kind %d) %d(kind %d): min %d n31 %d  (np %d %d)\n", i, i/6, j, j/6, d, n, len(enr[i]), len(enr[j]))
				}
			}
		}
	}
}
