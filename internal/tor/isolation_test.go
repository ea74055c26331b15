package tor

import (
	"strconv"
	"testing"
)

func TestIsolationCredentials(t *testing.T) {
	iso := newIsolation()
	const onion = "2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion"
	u1, p1 := iso.credentials(onion)
	if u1 == "" || p1 == "" || len(u1) > 255 || len(p1) > 255 {
		t.Fatalf("credentials out of RFC 1929 bounds: %q %q", u1, p1)
	}
	same := []string{onion, "WWW." + onion, onion + ".", "a.b." + onion, onion + ":80", "www." + onion + ":443"}
	for _, h := range same {
		if u, _ := iso.credentials(h); u != u1 {
			t.Errorf("credentials(%q) = %q, want the site's %q", h, u, u1)
		}
	}
	distinct := []string{"example.com", "www.example.com", "other.onion", "127.0.0.1"}
	seen := map[string]string{u1: onion}
	for _, h := range distinct {
		u, _ := iso.credentials(h)
		if prev, dup := seen[u]; dup {
			t.Errorf("credentials(%q) == credentials(%q) = %q", h, prev, u)
		}
		seen[u] = h
	}

	other, _ := iso.credentials("example.com")
	iso.rotate("www." + onion)
	u2, _ := iso.credentials(onion)
	if u2 == u1 {
		t.Error("rotate did not change the site's credentials")
	}
	if u, _ := iso.credentials("example.com"); u != other {
		t.Error("rotating one site changed another site's credentials")
	}

	// A second Client must not reuse this one's credentials (or circuits).
	if u, _ := newIsolation().credentials(onion); u == u1 {
		t.Error("two isolations derive the same credentials")
	}
}

func TestIsolationBounded(t *testing.T) {
	iso := newIsolation()
	before, _ := iso.credentials("keep.example")
	for i := range maxEpochs + 1 {
		iso.rotate("h" + strconv.Itoa(i) + ".example")
	}
	if len(iso.epochs) > maxEpochs {
		t.Fatalf("epoch table grew to %d, cap %d", len(iso.epochs), maxEpochs)
	}
	if after, _ := iso.credentials("keep.example"); after == before {
		t.Error("clearing the table must move every site to new credentials")
	}
}
