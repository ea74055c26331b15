package attribution

import "math"

// lnChoose returns ln C(n, k) for 0 <= k <= n.
func lnChoose(n, k int) float64 {
	a, _ := math.Lgamma(float64(n + 1))
	b, _ := math.Lgamma(float64(k + 1))
	c, _ := math.Lgamma(float64(n - k + 1))
	return a - b - c
}

// Log10Tail returns log10 P[X >= k] for X ~ Hypergeometric(N, K, n): the
// number of marked items in a uniform sample of n items without
// replacement from N items of which K are marked.
//
// The terms are summed in log space, starting from the largest, so the
// result stays exact (to floating-point rounding of the logarithms) far
// below the smallest float64: a 30-of-30 overlap with a tenth of a large
// ledger is about 10^-30, one of 1,000 about 10^-1000.
func Log10Tail(N, K, n, k int) float64 {
	lo, hi := max(0, n-(N-K)), min(K, n)
	if N <= 0 || K < 0 || n < 0 || K > N || n > N {
		return math.NaN()
	}
	if k <= lo {
		return 0
	}
	if k > hi {
		return math.Inf(-1)
	}
	// ln pmf(x) = lnC(K,x) + lnC(N-K,n-x) - lnC(N,n); successive terms
	// follow pmf(x+1)/pmf(x) = (K-x)(n-x) / ((x+1)(N-K-n+x+1)).
	lnTotal := lnChoose(N, n)
	first := lnChoose(K, k) + lnChoose(N-K, n-k) - lnTotal
	terms := make([]float64, 0, hi-k+1)
	t, peak := first, first
	for x := k; x <= hi; x++ {
		terms = append(terms, t)
		peak = max(peak, t)
		if t < peak-60 {
			break // past the mode the terms only fall
		}
		if x < hi {
			t += math.Log(float64((K-x)*(n-x))) - math.Log(float64((x+1)*(N-K-n+x+1)))
		}
	}
	var s float64
	for _, v := range terms {
		if v < peak-60 {
			continue // below 1e-26 of the largest term: no effect on the sum
		}
		s += math.Exp(v - peak)
	}
	return min(0, (peak+math.Log(s))/math.Ln10)
}
