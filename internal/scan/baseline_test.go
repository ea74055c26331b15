package scan

import (
	"strings"
	"testing"

	"github.com/leakwatch/leakwatch/internal/store"
)

const shaA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

func TestParseBaseline(t *testing.T) {
	tests := map[string]struct {
		in    string
		pairs int
		ok    bool
	}{
		"scan --json lines":     {in: `{"type":"finding","capture_id":"c1","sha256":"` + shaA + `"}` + "\n" + `{"type":"summary","pages":3}`, pairs: 1, ok: true},
		"incidents show --json": {in: `{"id":"inc_1","matches":[{"capture_id":"c1","sha256":"` + shaA + `"},{"capture_id":"c2","sha256":"` + shaA + `"}]}`, pairs: 2, ok: true},
		"short digest ignored":  {in: `{"capture_id":"c1","sha256":"abc"}`},
		"no pairs":              {in: `{"type":"summary"}`},
		"not JSON":              {in: "capture_id,sha256\nc1," + shaA},
		"empty":                 {in: ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			b, err := ParseBaseline(strings.NewReader(tc.in))
			if (err == nil) != tc.ok || len(b) != tc.pairs {
				t.Fatalf("ParseBaseline = %d pairs, %v; want %d, ok %v", len(b), err, tc.pairs, tc.ok)
			}
			if tc.ok && !b.Has(store.Evidence{CaptureID: "c1", SHA256: shaA}) {
				t.Fatal("pair c1 missing")
			}
		})
	}
}

// FuzzParseBaseline feeds arbitrary bytes to the baseline reader: it must
// return pairs or an error, never panic.
func FuzzParseBaseline(f *testing.F) {
	f.Add([]byte(`{"capture_id":"c1","sha256":"` + shaA + `"}`))
	f.Add([]byte(`[[[[{"matches":[{"capture_id":"c","sha256":"` + shaA + `"}]}]]]]`))
	f.Add([]byte(`{"a":1}{"b":`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ParseBaseline(strings.NewReader(string(data)))
		if err == nil && len(b) == 0 {
			t.Fatal("no error and no pairs")
		}
	})
}
