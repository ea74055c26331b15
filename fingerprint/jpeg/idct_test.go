package jpeg

import (
	"math/rand/v2"
	"testing"
)

// reducedTransform is the reduced transform in its general separable form,
// the reference the specialised ones are checked against.
func reducedTransform(blk *[64]int32, dst []byte, stride int, r *reduced) {
	n, m := r.n, len(r.freqs)
	if flat(blk, m*m, dst, stride, n) {
		return
	}
	var ws [32]int32
	const mid = reducedBits - 3
	for i := range m {
		for y := range n {
			var s int32
			for j := range m {
				s += r.t[y*m+j] * blk[j*m+i]
			}
			ws[y*m+i] = (s + 1<<(reducedBits-mid-1)) >> (reducedBits - mid)
		}
	}
	for y := range n {
		out := dst[y*stride : y*stride+n]
		w := ws[y*m : y*m+m]
		for x := range n {
			var s int32
			for i, v := range w {
				s += r.t[x*m+i] * v
			}
			out[x] = clamp8((s+1<<(reducedBits+mid-1))>>(reducedBits+mid) + 128)
		}
	}
}

// halfReference is idctHalf in its plain form, every column transformed.
func halfReference(blk *[64]int32, dst []byte, stride int) {
	const m = 7
	if flat(blk, m*m, dst, stride, 4) {
		return
	}
	axis := func(in []int64, st int) (o0, o1, o2, o3 int64) {
		return half(in[0], in[st], in[2*st], in[3*st], in[4*st], in[5*st], in[6*st])
	}
	var in [m * m]int64
	for i, v := range blk[:m*m] {
		in[i] = int64(v)
	}
	var ws [4 * m]int64
	const r1 = 1 << (reducedBits - 1)
	for i := range m {
		o0, o1, o2, o3 := axis(in[i:], m)
		ws[i], ws[m+i], ws[2*m+i], ws[3*m+i] = (o0+r1)>>reducedBits, (o1+r1)>>reducedBits, (o2+r1)>>reducedBits, (o3+r1)>>reducedBits
	}
	const shift = 3 * reducedBits
	const r2 = 1 << (shift - 1)
	for y := range 4 {
		o0, o1, o2, o3 := axis(ws[y*m:], 1)
		out := dst[y*stride : y*stride+4]
		out[0] = clamp8(int32((o0+r2)>>shift) + 128)
		out[1] = clamp8(int32((o1+r2)>>shift) + 128)
		out[2] = clamp8(int32((o2+r2)>>shift) + 128)
		out[3] = clamp8(int32((o3+r2)>>shift) + 128)
	}
}

// TestReducedTransformsMatchReference checks the specialised transforms
// bit for bit against their plain forms on random blocks, overflowing
// (hostile) coefficients included.
func TestReducedTransformsMatchReference(t *testing.T) {
	transforms := []struct {
		name     string
		n, m     int
		got, ref func(*[64]int32, []byte, int)
	}{
		{"quarter", 2, 5, idctQuarter, func(b *[64]int32, d []byte, s int) { reducedTransform(b, d, s, reduced2) }},
		{"half", 4, 7, idctHalf, halfReference},
	}
	coefs := []struct {
		name  string
		scale int32 // largest coefficient magnitude
		dense bool  // every kept coefficient drawn, else about one in five
	}{
		{"small dense", 64, true},
		{"photo range", 1024, true},
		{"sparse", 2048, false},
		{"extremes", 1 << 14, true},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tr := range transforms {
		for _, tc := range coefs {
			t.Run(tr.name+"/"+tc.name, func(t *testing.T) {
				const stride = 9 // wider than a block, so stray writes show
				for i := range 20000 {
					var blk [64]int32
					for j := range tr.m * tr.m {
						if tc.dense || rng.IntN(5) == 0 {
							blk[j] = rng.Int32N(2*tc.scale+1) - tc.scale
						}
					}
					switch i % 7 {
					case 0:
						clear(blk[1:]) // a flat block
					case 1:
						clear(blk[tr.m:]) // only the first row: every column's AC is zero
					}
					want := make([]byte, tr.n*stride)
					got := make([]byte, tr.n*stride)
					b1, b2 := blk, blk
					tr.ref(&b1, want, stride)
					tr.got(&b2, got, stride)
					if string(got) != string(want) {
						t.Fatalf("block %v: got %v, want %v", blk[:tr.m*tr.m], got, want)
					}
				}
			})
		}
	}
}
