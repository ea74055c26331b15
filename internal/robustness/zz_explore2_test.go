package robustness

import (
	"fmt"
	"sort"
	"testing"

	"github.com/leakwatch/leakwatch/fingerprint"
	"github.com/leakwatch/leakwatch/fixtures/transform"
)

func TestZZBaseline(t *testing.T) {
	const N = 8
	suite := transform.Suite(7)
	res := map[string][]int{}
	for k := 0; k < 6; k++ {
		for s := 0; s < N; s++ {
			img := gen(k, uint64(2000+s))
			ref := fingerprint.PDQ(img).Hash
			for _, tr := range suite {
				q := fingerprint.PDQAll(tr.Fn(img))
				_, d := q.Nearest(ref)
				res[tr.Name] = append(res[tr.Name], d)
			}
		}
	}
	for _, tr := range suite {
		ds := res[tr.Name]
		sort.Ints(ds)
		fmt.Printf("%-14s %v\n", tr.Name, ds)
	}
}
