package attribution

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
)

// Verdicts.
const (
	// VerdictCanary: the leak holds a canary, which names its recipient.
	VerdictCanary = "canary"
	// VerdictAttributed: one recipient explains the leak far better than
	// any other, and better than chance.
	VerdictAttributed = "attributed"
	// VerdictAmbiguous: two or more recipients explain it equally well
	// (they received the same leaked captures, or their chance
	// probabilities are within a factor of Separation).
	VerdictAmbiguous = "ambiguous"
	// VerdictInconclusive: the overlap with every recipient could be
	// chance.
	VerdictInconclusive = "inconclusive"
	// VerdictNeverDisclosed: no leaked capture was ever given to anyone.
	VerdictNeverDisclosed = "never_disclosed"
)

// Thresholds, in decades of probability. Separation is the factor the
// issue of this feature asked for between the first recipient and the
// runner-up; Significance bounds the first recipient's chance probability
// (divided among the recipients, a Bonferroni correction: with 50
// recipients one of them overlaps a random leak at p = 0.02 by chance).
const (
	Separation   = 3.0 // 1,000x
	Significance = 3.0 // p <= 0.001 / recipients
)

// Input is what the ledger knows about a leak.
type Input struct {
	// Leaked are the distinct captures found in the leak.
	Leaked []string
	// Holders maps a leaked capture to the recipients it was given to
	// (transfers not revoked). Captures absent were never disclosed.
	Holders map[string][]string
	// Sizes is the number of distinct captures each recipient holds.
	Sizes map[string]int
	// Universe is the number of distinct captures given to anyone.
	Universe int
	// Canaries maps leaked captures that are canaries to the one
	// recipient they were issued to.
	Canaries map[string]string
	// Recipients is the number of recipients in the ledger: any of them
	// could be the source, so the significance is corrected for all of
	// them, not only for those that received a leaked capture.
	Recipients int
}

// Score is one recipient's evidence.
type Score struct {
	Recipient string `json:"recipient"`
	// Received is the number of leaked captures they were given.
	Received int `json:"received"`
	// Only is the number of leaked captures nobody else was given.
	Only int `json:"only_them"`
	// Holds is the number of captures they were given in all.
	Holds int `json:"holds"`
	// Log10P is log10 of the chance probability of an overlap at least
	// this large (0 means certain, -30 means 10^-30). JSON cannot hold
	// -Inf; an impossible overlap does not occur, since it was observed.
	Log10P float64 `json:"log10_p"`
	// Canaries counts the leaked canaries issued to them.
	Canaries int `json:"canaries,omitempty"`
}

// Result is the attribution of one leak.
type Result struct {
	Verdict string `json:"verdict"`
	// Named are the recipients the verdict names, most likely first.
	Named []string `json:"named,omitempty"`
	// Summary says the verdict in one sentence.
	Summary string `json:"summary"`
	// Leaked is the number of distinct leaked captures, Disclosed those
	// given to at least one recipient, Universe every capture given to
	// anyone (plus leaked captures never given), the population the chance
	// probabilities draw from.
	Leaked    int `json:"leaked"`
	Disclosed int `json:"disclosed"`
	Universe  int `json:"universe"`
	// Undisclosed lists leaked captures never given to anyone: the leak
	// (or that part of it) came from inside or from an unrecorded
	// transfer.
	Undisclosed []string `json:"undisclosed,omitempty"`
	// Canaries lists the leaked canaries.
	Canaries []CanaryHit `json:"canaries,omitempty"`
	// Unexplained is the number of disclosed leaked captures the first
	// named recipient was not given: another source contributed.
	Unexplained int `json:"unexplained,omitempty"`
	// Recipients are every recipient who received a leaked capture,
	// ranked: smallest chance probability first, then most captures only
	// they received, then most received, then by name.
	Recipients []Score `json:"recipients,omitempty"`
}

// CanaryHit is a leaked canary and its recipient.
type CanaryHit struct {
	CaptureID string `json:"capture_id"`
	Recipient string `json:"recipient"`
}

// Compute attributes a leak.
func Compute(in Input) Result {
	leaked := slices.Clone(in.Leaked)
	slices.Sort(leaked)
	leaked = slices.Compact(leaked)
	res := Result{Leaked: len(leaked)}
	scores := map[string]*Score{}
	coverage := map[string][]string{} // recipient -> leaked captures received, sorted
	for _, c := range leaked {
		hs := in.Holders[c]
		if len(hs) == 0 {
			res.Undisclosed = append(res.Undisclosed, c)
			continue
		}
		res.Disclosed++
		for _, h := range hs {
			sc := scores[h]
			if sc == nil {
				sc = &Score{Recipient: h, Holds: in.Sizes[h]}
				scores[h] = sc
			}
			sc.Received++
			if len(hs) == 1 {
				sc.Only++
			}
			coverage[h] = append(coverage[h], c)
		}
		if r, ok := in.Canaries[c]; ok {
			res.Canaries = append(res.Canaries, CanaryHit{CaptureID: c, Recipient: r})
		}
	}
	// The population: every capture given to anyone, and the leaked ones
	// that were not. A recipient's size can exceed a stale universe only
	// through a caller's error; clamp so the distribution stays defined.
	res.Universe = in.Universe + len(res.Undisclosed)
	for _, sc := range scores {
		res.Universe = max(res.Universe, sc.Holds, sc.Received)
	}
	res.Universe = max(res.Universe, res.Leaked)
	for _, sc := range scores {
		sc.Holds = max(sc.Holds, sc.Received)
		sc.Log10P = finite(Log10Tail(res.Universe, sc.Holds, res.Leaked, sc.Received))
		res.Recipients = append(res.Recipients, *sc)
	}
	for _, hit := range res.Canaries {
		if sc := scores[hit.Recipient]; sc != nil {
			sc.Canaries++
		}
	}
	for i := range res.Recipients {
		res.Recipients[i].Canaries = scores[res.Recipients[i].Recipient].Canaries
	}
	sort.Slice(res.Recipients, func(i, j int) bool {
		a, b := res.Recipients[i], res.Recipients[j]
		switch {
		case a.Log10P != b.Log10P:
			return a.Log10P < b.Log10P
		case a.Only != b.Only:
			return a.Only > b.Only
		case a.Received != b.Received:
			return a.Received > b.Received
		}
		return a.Recipient < b.Recipient
	})
	res.decide(coverage, in.Recipients)
	return res
}

// decide sets the verdict, the recipients it names and the summary.
func (res *Result) decide(coverage map[string][]string, recipients int) {
	switch {
	case len(res.Canaries) > 0:
		res.Verdict = VerdictCanary
		for _, h := range res.Canaries {
			if !slices.Contains(res.Named, h.Recipient) {
				res.Named = append(res.Named, h.Recipient)
			}
		}
		res.Summary = fmt.Sprintf("canary issued only to %s found in the leak", joinNames(res.Named))
		if len(res.Recipients) > 0 && !slices.Contains(res.Named, res.Recipients[0].Recipient) {
			res.Summary += fmt.Sprintf(" (the other captures point to %s, chance %s: a copy passed on?)", res.Recipients[0].Recipient, FormatP(res.Recipients[0].Log10P))
		}
	case res.Disclosed == 0:
		res.Verdict = VerdictNeverDisclosed
		res.Summary = fmt.Sprintf("none of the %d leaked captures was ever disclosed: the leak came from inside or from an unrecorded transfer", res.Leaked)
		return
	default:
		res.decideByOverlap(coverage, recipients)
	}
	if first := res.first(); first != nil {
		res.Unexplained = res.Disclosed - first.Received
	}
	if n := len(res.Undisclosed); n > 0 {
		res.Summary += fmt.Sprintf("; %d of the %d leaked captures never disclosed to anyone (inside, or an unrecorded transfer)", n, res.Leaked)
	}
}

func (res *Result) decideByOverlap(coverage map[string][]string, recipients int) {
	top := res.Recipients[0]
	res.Named = []string{top.Recipient}
	// Recipients that cannot be told from the first: the same leaked
	// captures, or a chance probability within Separation decades.
	for _, sc := range res.Recipients[1:] {
		same := slices.Equal(coverage[sc.Recipient], coverage[top.Recipient])
		if same || sc.Log10P-top.Log10P < Separation {
			res.Named = append(res.Named, sc.Recipient)
		}
	}
	significant := top.Log10P <= -Significance-math.Log10(float64(max(len(res.Recipients), recipients)))
	switch {
	case !significant:
		res.Verdict = VerdictInconclusive
		res.Named = nil
		res.Summary = fmt.Sprintf("inconclusive: the overlap with %s (%d of %d leaked captures, chance %s) could be chance",
			top.Recipient, top.Received, res.Leaked, FormatP(top.Log10P))
	case len(res.Named) > 1:
		res.Verdict = VerdictAmbiguous
		same := true
		for _, n := range res.Named[1:] {
			same = same && slices.Equal(coverage[n], coverage[top.Recipient])
		}
		if same {
			res.Summary = fmt.Sprintf("ambiguous: %s received the same %d leaked captures; the ledger cannot separate them", joinNames(res.Named), top.Received)
		} else {
			res.Summary = fmt.Sprintf("ambiguous: %s explain the leak about equally well (chance %s to %s, less than 1,000x apart)",
				joinNames(res.Named), FormatP(top.Log10P), FormatP(res.score(res.Named[len(res.Named)-1]).Log10P))
		}
	default:
		res.Verdict = VerdictAttributed
		runner := "no other recipient received any"
		if len(res.Recipients) > 1 {
			r := res.Recipients[1]
			runner = fmt.Sprintf("runner-up %s (%d, chance %s)", r.Recipient, r.Received, FormatP(r.Log10P))
		}
		res.Summary = fmt.Sprintf("attributed to %s: received %d of %d leaked captures, %d only they received, chance %s; %s",
			top.Recipient, top.Received, res.Leaked, top.Only, FormatP(top.Log10P), runner)
	}
}

func (res *Result) first() *Score {
	if len(res.Named) == 0 {
		return nil
	}
	return res.score(res.Named[0])
}

func (res *Result) score(name string) *Score {
	for i := range res.Recipients {
		if res.Recipients[i].Recipient == name {
			return &res.Recipients[i]
		}
	}
	return nil
}

// FormatP writes a probability given as log10: "0.31", "2e-05",
// "10^-412.3".
func FormatP(log10p float64) string {
	switch {
	case math.IsInf(log10p, -1):
		return "0"
	case log10p >= -3:
		return fmt.Sprintf("%.2g", math.Pow(10, log10p))
	case log10p >= -300:
		return fmt.Sprintf("%.1e", math.Pow(10, log10p))
	}
	return fmt.Sprintf("10^%.1f", log10p)
}

func joinNames(names []string) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// finite keeps a probability JSON can carry (the clamps above make the
// tail finite; this guards the payload of an alert against a future
// mistake, since a NaN would fail the whole event).
func finite(log10p float64) float64 {
	switch {
	case math.IsNaN(log10p):
		return 0
	case math.IsInf(log10p, -1):
		return -math.MaxFloat64
	}
	return log10p
}
