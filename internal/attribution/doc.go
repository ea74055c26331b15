// Package attribution says whose copy of the data a leak came from: given
// the captures found in a leak, who received each of them (the disclosure
// ledger) and which of them are canaries, it ranks the recipients by how
// well their received sets explain the leak and states a verdict.
//
// The evidence per recipient is how many leaked captures they received,
// how many only they received, and the chance probability of that overlap:
// the upper tail of the hypergeometric distribution, the probability that
// a random set of as many captures as leaked, drawn from every capture
// known to the ledger, shares at least that many with the recipient's set.
// It is computed exactly in log space, so a probability of 10^-400 is
// still ranked correctly. A canary (a synthetic capture given to one
// recipient only) in the leak names its recipient whatever the rest says.
//
// The package does no I/O and imports nothing of ours: the store gathers
// the ledger facts ([Input]) and the result ([Result]) travels with the
// incident.
package attribution
