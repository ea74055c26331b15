package robustness

import (
	"testing"

	"github.com/leakwatch/leakwatch/fingerprint"
)

func BenchmarkZZPDQ(b *testing.B) {
	img := gen(3, 1)
	l, w, h := fingerprint.Luma(img)
	b.Run("PDQ", func(b *testing.B) {
		for b.Loop() {
			fingerprint.PDQ(img)
		}
	})
	b.Run("PDQAll", func(b *testing.B) {
		for b.Loop() {
			fingerprint.PDQAll(img)
		}
	})
	b.Run("Luma", func(b *testing.B) {
		for b.Loop() {
			fingerprint.Luma(img)
		}
	})
	b.Run("PDQFromLuma", func(b *testing.B) {
		for b.Loop() {
			fingerprint.PDQFromLuma(l, w, h)
		}
	})
	l2, w2, h2 := areaLuma(img)
	_ = l2
	b.Run("PDQFromLuma512", func(b *testing.B) {
		for b.Loop() {
			fingerprint.PDQFromLuma(l2[:256*256], 256, 256)
		}
	})
	_, _ = w2, h2
	b.Run("PHash", func(b *testing.B) {
		for b.Loop() {
			fingerprint.PHash(img)
		}
	})
}
