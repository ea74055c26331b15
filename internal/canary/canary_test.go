package canary

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/leakwatch/leakwatch/fingerprint"
	"github.com/leakwatch/leakwatch/fingerprint/pdq"
	"github.com/leakwatch/leakwatch/internal/local"
	"github.com/leakwatch/leakwatch/internal/report"
	"github.com/leakwatch/leakwatch/internal/store"
)

// TestCanariesAreDistinct issues faces and plates to two recipients and
// matches every canary against the bank with the real matcher: each
// finds itself and nothing else, so a canary names one recipient only.
func TestCanariesAreDistinct(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, filepath.Join(dir, "lw.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	bank := filepath.Join(dir, "bank.lwb")
	owner := map[string]string{}
	var files []string
	n := 4
	if testing.Short() {
		n = 2
	}
	for _, rec := range []string{"Acme", "Bolt"} {
		for _, kind := range []string{"face", "plate"} {
			issued, tr, err := Issue(ctx, st, Options{Recipient: rec, Count: n, Kind: kind, Out: filepath.Join(dir, rec), Bank: bank, IDPrefix: "cap-"})
			if err != nil {
				t.Fatal(err)
			}
			if len(issued) != n || !tr.Canary || tr.Recipient != rec {
				t.Fatalf("issued %v, transfer %+v", issued, tr)
			}
			for _, c := range issued {
				if c.Quality < pdq.MinQuality {
					t.Errorf("canary %s hashes at quality %d", c.CaptureID, c.Quality)
				}
				if owner[c.CaptureID] != "" {
					t.Fatalf("capture ID %s issued twice", c.CaptureID)
				}
				owner[c.CaptureID] = rec
				files = append(files, c.Path)
			}
		}
	}
	b, err := fingerprint.LoadBank(bank)
	if err != nil {
		t.Fatal(err)
	}
	for id := range owner {
		c, ok := b.Lookup(id)
		if !ok || c.Source != Source || c.Meta["canary"] != "true" {
			t.Errorf("bank capture %s: %+v, %v", id, c, ok)
		}
	}
	m := fingerprint.NewMatcher(b, fingerprint.DefaultMatchOptions())
	err = local.MatchFiles(ctx, files, m, fingerprint.DefaultLimits(), func(r report.FileMatch) {
		want := local.CaptureID(r.Path)
		var got []string
		for _, x := range r.Matches {
			got = append(got, x.CaptureID)
		}
		if !slices.Equal(got, []string{want}) {
			t.Errorf("%s matched %v, want only itself (%s)", r.Path, got, r.Error)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	// The ledger names the one recipient of each canary.
	for id, rec := range owner {
		res, err := st.Attribute(ctx, []string{id})
		if err != nil {
			t.Fatal(err)
		}
		if res.Verdict != "canary" || !slices.Equal(res.Named, []string{rec}) {
			t.Errorf("canary %s: %s", id, res.Summary)
		}
	}
}

func TestIssueRefuses(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, filepath.Join(dir, "lw.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ok := Options{Recipient: "Acme", Count: 1, Kind: "face", Out: dir, Bank: filepath.Join(dir, "b.lwb")}
	for name, mod := range map[string]func(*Options){
		"no recipient": func(o *Options) { o.Recipient = "" },
		"zero":         func(o *Options) { o.Count = 0 },
		"too many":     func(o *Options) { o.Count = MaxCount + 1 },
		"kind":         func(o *Options) { o.Kind = "other" },
		"no bank":      func(o *Options) { o.Bank = "" },
		"bad date":     func(o *Options) { o.Date = "tomorrow" },
	} {
		o := ok
		mod(&o)
		if _, _, err := Issue(ctx, st, o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if ts, _ := st.Transfers(ctx, ""); len(ts) != 0 {
		t.Errorf("refused issues recorded %+v", ts)
	}
}
