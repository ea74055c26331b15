package report

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/leakwatch/leakwatch/internal/attribution"
)

func sampleAttribution() *attribution.Result {
	return &attribution.Result{Verdict: attribution.VerdictAttributed, Named: []string{"Acme <Ltd>"},
		Summary: "attributed to Acme <Ltd>: received 2 of 3", Leaked: 3, Disclosed: 2, Universe: 40, Undisclosed: []string{"c3"},
		Recipients: []attribution.Score{{Recipient: "Acme <Ltd>", Received: 2, Only: 2, Holds: 5, Log10P: -4.2}, {Recipient: "Bolt", Received: 1, Holds: 30, Log10P: -0.1}}}
}

func TestWriteAttribution(t *testing.T) {
	var b bytes.Buffer
	if err := WriteAttribution(&b, nil); err != nil || b.Len() != 0 {
		t.Fatalf("nil attribution wrote %q, %v", b.String(), err)
	}
	if err := WriteAttribution(&b, sampleAttribution()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"attribution attributed to Acme <Ltd>: received 2 of 3\n", "Acme <Ltd>  2 of 3", "6.3e-05", "never disclosed: c3\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("missing %q in\n%s", want, b.String())
		}
	}
	if got := AttributionLabel(sampleAttribution()); got != "attributed: Acme <Ltd>" {
		t.Errorf("label %q", got)
	}
}

// The incident report shows the attribution and the canaries, escaped.
func TestReportShowsAttribution(t *testing.T) {
	src := sample()
	src.incs[0].Attribution = sampleAttribution()
	src.incs[0].Canaries = []string{"k-1"}
	doc, err := Build(context.Background(), src, BuildOptions{Now: time.Date(2026, 3, 7, 8, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteHTML(&b, doc); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<h3>Who leaked it</h3>", "attributed to Acme &lt;Ltd&gt;", "<td>Bolt</td>", "6.3e-05", "<code>c3</code>", "<code>k-1</code>"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q", want)
		}
	}
}
