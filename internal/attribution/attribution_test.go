package attribution

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"
)

// exactLog10Tail computes log10 P[X >= k] with exact rationals.
func exactLog10Tail(N, K, n, k int) float64 {
	sum := new(big.Int)
	for x := k; x <= min(K, n); x++ {
		if n-x > N-K || n-x < 0 {
			continue
		}
		t := new(big.Int).Binomial(int64(K), int64(x))
		sum.Add(sum, t.Mul(t, new(big.Int).Binomial(int64(N-K), int64(n-x))))
	}
	if sum.Sign() == 0 {
		return math.Inf(-1)
	}
	total := new(big.Int).Binomial(int64(N), int64(n))
	// log10(sum/total) from the big integers' bit lengths and leading bits.
	return log10Big(sum) - log10Big(total)
}

func log10Big(x *big.Int) float64 {
	shift := max(0, x.BitLen()-60)
	f, _ := new(big.Float).SetInt(new(big.Int).Rsh(x, uint(shift))).Float64()
	return math.Log10(f) + float64(shift)*math.Log10(2)
}

func TestLog10TailExact(t *testing.T) {
	cases := []struct{ N, K, n, k int }{
		{10, 3, 4, 0}, {10, 3, 4, 1}, {10, 3, 4, 3}, {10, 3, 4, 4},
		{50, 10, 10, 5}, {2000, 400, 30, 30}, {2000, 300, 30, 7},
		{100000, 1000, 1000, 1000}, // about 10^-3000: far below float64
		{100000, 50000, 1000, 480}, // below the mean: near 1
		{1000000, 200000, 1000, 260},
		{12, 12, 5, 5}, {12, 0, 5, 0},
	}
	for _, c := range cases {
		t.Run(fmt.Sprint(c), func(t *testing.T) {
			got := Log10Tail(c.N, c.K, c.n, c.k)
			want := exactLog10Tail(c.N, c.K, c.n, c.k)
			if math.IsInf(want, -1) != math.IsInf(got, -1) || (!math.IsInf(want, -1) && math.Abs(got-want) > 1e-6*max(1, math.Abs(want))) {
				t.Errorf("Log10Tail%v = %v, want %v", c, got, want)
			}
		})
	}
}

func TestLog10TailRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 300 {
		N := 1 + r.IntN(400)
		K, n := r.IntN(N+1), r.IntN(N+1)
		k := r.IntN(min(K, n) + 2)
		got, want := Log10Tail(N, K, n, k), exactLog10Tail(N, K, n, k)
		if k <= max(0, n-(N-K)) {
			want = 0
		}
		if math.IsInf(want, -1) != math.IsInf(got, -1) || (!math.IsInf(want, -1) && math.Abs(got-want) > 1e-6*max(1, math.Abs(want))) {
			t.Fatalf("Log10Tail(%d,%d,%d,%d) = %v, want %v", N, K, n, k, got, want)
		}
	}
}

// scenario is four recipients with overlapping transfers over 2,000
// captures, some captures given to two or three of them, and one canary
// each.
type scenario struct {
	holders  map[string][]string
	sets     map[string][]string
	canaries map[string]string
	universe int
}

func newScenario() *scenario {
	s := &scenario{holders: map[string][]string{}, sets: map[string][]string{}, canaries: map[string]string{}}
	give := func(rec string, lo, hi int) {
		for i := lo; i < hi; i++ {
			c := fmt.Sprintf("cap-%05d", i)
			s.holders[c] = append(s.holders[c], rec)
			s.sets[rec] = append(s.sets[rec], c)
		}
	}
	// A: 0-499, B: 300-799 (shares 300-499 with A), C: 450-1049 (450-499
	// with A and B: three holders), D: 1200-1999. 1050-1199 and 2000+ go
	// to nobody.
	give("A", 0, 500)
	give("B", 300, 800)
	give("C", 450, 1050)
	give("D", 1200, 2000)
	for _, rec := range []string{"A", "B", "C", "D"} {
		c := "canary-" + rec
		s.holders[c] = []string{rec}
		s.sets[rec] = append(s.sets[rec], c)
		s.canaries[c] = rec
	}
	s.universe = len(s.holders)
	return s
}

func (s *scenario) input(leaked []string) Input {
	in := Input{Leaked: leaked, Holders: map[string][]string{}, Sizes: map[string]int{}, Universe: s.universe, Canaries: map[string]string{}}
	for rec, set := range s.sets {
		in.Sizes[rec] = len(set)
	}
	for _, c := range leaked {
		if h, ok := s.holders[c]; ok {
			in.Holders[c] = h
		}
		if r, ok := s.canaries[c]; ok {
			in.Canaries[c] = r
		}
	}
	return in
}

func sample(r *rand.Rand, from []string, n int) []string {
	p := slices.Clone(from)
	r.Shuffle(len(p), func(i, j int) { p[i], p[j] = p[j], p[i] })
	return p[:n]
}

func ids(lo, hi int) []string {
	var out []string
	for i := lo; i < hi; i++ {
		out = append(out, fmt.Sprintf("cap-%05d", i))
	}
	return out
}

func TestFourRecipients(t *testing.T) {
	s := newScenario()
	r := rand.New(rand.NewPCG(7, 7))
	// 30 captures sampled from each recipient's transfer (canary left
	// out), 20 times each: the source comes first, the runner-up's chance
	// probability at least 1,000x larger.
	for _, src := range []string{"A", "B", "C", "D"} {
		for trial := range 20 {
			set := slices.DeleteFunc(slices.Clone(s.sets[src]), func(c string) bool { return s.canaries[c] != "" })
			leak := sample(r, set, 30)
			res := Compute(s.input(leak))
			if res.Verdict != VerdictAttributed || res.Named[0] != src || res.Recipients[0].Recipient != src {
				t.Fatalf("%s trial %d: %s", src, trial, res.Summary)
			}
			if len(res.Recipients) > 1 && res.Recipients[1].Log10P-res.Recipients[0].Log10P < 3 {
				t.Fatalf("%s trial %d: runner-up %+v within 1,000x of %+v", src, trial, res.Recipients[1], res.Recipients[0])
			}
		}
	}
	cases := []struct {
		name    string
		leak    []string
		verdict string
		named   []string
		undisc  int
	}{
		{"shared only by A and B", sample(r, ids(300, 450), 30), VerdictAmbiguous, []string{"A", "B"}, 0},
		{"shared by A, B and C", ids(450, 480), VerdictAmbiguous, []string{"A", "B", "C"}, 0},
		{"canary of D among A's captures", append(sample(r, ids(0, 300), 29), "canary-D"), VerdictCanary, []string{"D"}, 0},
		{"never disclosed", ids(1050, 1080), VerdictNeverDisclosed, nil, 30},
		{"partly never disclosed", append(sample(r, ids(0, 300), 25), ids(1050, 1055)...), VerdictAttributed, []string{"A"}, 5},
		{"too few to tell", ids(0, 1), VerdictInconclusive, nil, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := Compute(s.input(tc.leak))
			if res.Verdict != tc.verdict || !slices.Equal(sorted(res.Named), tc.named) || len(res.Undisclosed) != tc.undisc {
				t.Errorf("verdict %s, named %v, undisclosed %d (%s); want %s %v %d", res.Verdict, res.Named, len(res.Undisclosed), res.Summary, tc.verdict, tc.named, tc.undisc)
			}
		})
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func TestUnexplainedAndOnly(t *testing.T) {
	s := newScenario()
	// 20 of A's own captures and 5 of D's: A first, 5 unexplained.
	leak := append(ids(0, 20), ids(1200, 1205)...)
	res := Compute(s.input(leak))
	if res.Verdict != VerdictAttributed || res.Named[0] != "A" || res.Unexplained != 5 {
		t.Fatalf("%+v", res)
	}
	a := res.Recipients[0]
	if a.Received != 20 || a.Only != 20 || a.Holds != 501 {
		t.Errorf("A's score %+v", a)
	}
}

func TestFormatP(t *testing.T) {
	for _, c := range []struct {
		in   float64
		want string
	}{{0, "1"}, {-0.5, "0.32"}, {-4.2, "6.3e-05"}, {-412.34, "10^-412.3"}, {math.Inf(-1), "0"}} {
		if got := FormatP(c.in); got != c.want {
			t.Errorf("FormatP(%v) = %q, want %q", c.in, got, c.want)
		}
	}
}

func BenchmarkCompute1000(b *testing.B) {
	s := newScenario()
	r := rand.New(rand.NewPCG(1, 1))
	all := make([]string, 0, len(s.holders))
	for c := range s.holders {
		all = append(all, c)
	}
	slices.Sort(all)
	in := s.input(sample(r, all, 1000))
	b.ResetTimer()
	for b.Loop() {
		_ = Compute(in)
	}
}

func TestComputeInconsistentInput(t *testing.T) {
	// Sizes and universe smaller than what was received (a stale count):
	// the result stays finite and encodable.
	res := Compute(Input{Leaked: []string{"a", "b", "c"}, Holders: map[string][]string{"a": {"X"}, "b": {"X"}, "c": {"X", "Y"}},
		Sizes: map[string]int{"X": 1}, Universe: 0})
	for _, s := range res.Recipients {
		if math.IsNaN(s.Log10P) || math.IsInf(s.Log10P, 0) {
			t.Fatalf("%+v", s)
		}
	}
	if _, err := json.Marshal(res); err != nil {
		t.Fatal(err)
	}
	if finite(math.NaN()) != 0 || finite(math.Inf(-1)) != -math.MaxFloat64 {
		t.Error("finite")
	}
}
