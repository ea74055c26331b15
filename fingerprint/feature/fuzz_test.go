package feature_test

import (
	"testing"

	"github.com/leakwatch/leakwatch/fingerprint/feature"
)

// FuzzExtract feeds arbitrary grey images (two size bytes, then pixels)
// through query and enrollment extraction and a search: no panic, and the
// keypoint budget holds whatever the picture.
func FuzzExtract(f *testing.F) {
	f.Add([]byte{40, 40})
	f.Add(append([]byte{64, 48}, make([]byte, 64*48)...))
	noise := make([]byte, 2+90*70)
	noise[0], noise[1] = 90, 70
	s := uint32(7)
	for i := 2; i < len(noise); i++ {
		s = s*1664525 + 1013904223
		noise[i] = byte(s >> 24)
	}
	f.Add(noise)
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 2 {
			return
		}
		w, h := int(data[0])+1, int(data[1])+1
		g := feature.NewGray(w*2, h*2)
		for i := range g.Pix {
			if j := 2 + i%max(len(data)-2, 1); j < len(data) {
				g.Pix[i] = data[j]
			}
		}
		qo := feature.QueryOptions()
		q := feature.ExtractQuery(g, qo)
		if len(q.Keypoints) > qo.MaxFeatures+qo.Levels {
			t.Fatalf("%d keypoints, budget %d", len(q.Keypoints), qo.MaxFeatures)
		}
		kps := feature.Select(feature.Extract(g, feature.EnrollOptions()), 64, g.W, g.H)
		ix := feature.NewIndex([]feature.CaptureSet{feature.Encode(kps, g.W, g.H)})
		ix.Search(q, feature.DefaultSearchOptions())
	})
}
