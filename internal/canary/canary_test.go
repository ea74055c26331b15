package canary

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"io"
	"os"
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
	dir, st := tempStore(t)
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
	dir, st := tempStore(t)
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

// TestIssueRedrawsLookalikes gives Issue the same secret seed twice: the
// second draw is the first canary again, so it must be replaced, within
// one issue and against a canary already in the bank.
func TestIssueRedrawsLookalikes(t *testing.T) {
	ctx := context.Background()
	dir, st := tempStore(t)
	seed := func(s uint64) []byte { return binary.LittleEndian.AppendUint64(nil, s) }
	// scripted feeds the transfer ID, then the given seeds; IDs (and any
	// further draws) come from crypto/rand.
	issues := byte(0)
	scripted := func(seeds ...uint64) io.Reader {
		issues++
		b := []byte{issues, 0, 0, 0}
		for _, s := range seeds {
			b = append(b, seed(s)...)
		}
		return io.MultiReader(bytes.NewReader(b), rand.Reader)
	}
	bank := filepath.Join(dir, "bank.lwb")
	issue := func(rec string, r io.Reader, n int) [][]byte {
		t.Helper()
		issued, _, err := Issue(ctx, st, Options{Recipient: rec, Count: n, Kind: "plate", Out: filepath.Join(dir, rec), Bank: bank, Rand: r})
		if err != nil {
			t.Fatal(err)
		}
		var out [][]byte
		for _, c := range issued {
			b, err := os.ReadFile(c.Path)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, b)
		}
		return out
	}
	// Every draw is scripted, replacements included, so the bank the last
	// issue is checked against is the same on every run.
	const s, u, v, w = 0x5eed, 0xbeef, 0x7a11, 0x0dd5
	within := issue("Acme", scripted(s, s, v), 2)
	if bytes.Equal(within[0], within[1]) {
		t.Error("one issue wrote the same canary twice")
	}
	again := issue("Bolt", scripted(s, w), 1)
	if bytes.Equal(again[0], within[0]) {
		t.Error("a canary already enrolled was issued again to another recipient")
	}
	drawn := func(s uint64) []byte {
		p, err := drawOne(ctx, Options{Kind: "plate", Rand: bytes.NewReader(seed(s))}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return p.jpg
	}
	if !bytes.Equal(within[1], drawn(v)) || !bytes.Equal(again[0], drawn(w)) {
		t.Error("the replacements are not the next scripted draws")
	}
	// The check passes a draw that matches nothing.
	fresh := issue("Cole", scripted(u), 1)
	if !bytes.Equal(fresh[0], drawn(u)) {
		t.Error("a distinct draw was replaced")
	}
}

// tempStore opens a store in a temporary directory, which it returns.
func tempStore(t *testing.T) (string, *store.Store) {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(context.Background(), filepath.Join(dir, "lw.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return dir, st
}
