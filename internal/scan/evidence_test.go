package scan

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/leakwatch/leakwatch/fixtures/corpus"
	"github.com/leakwatch/leakwatch/internal/evidence"
)

// TestScanKeepsEncryptedEvidence scans the fixture site (on loopback)
// with the evidence locker on, then decrypts everything back: each copy
// the store recorded is in the locker with the bytes whose SHA-256 the
// store has, each with the page that linked it; the folder holds only
// ciphertext and the manifest; a second run keeps nothing again.
func TestScanKeepsEncryptedEvidence(t *testing.T) {
	if testing.Short() {
		t.Skip("a full scan of the fixture site")
	}
	c := corpus.New(1)
	srv := httptest.NewServer(c.Handler())
	defer srv.Close()
	bank, st := setup(t, c.WriteCaptures)
	key, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "evidence")
	run := func() {
		l, err := evidence.NewLocker(dir, key.Recipient().String())
		if err != nil {
			t.Fatal(err)
		}
		sum, err := Run(context.Background(), Config{Seeds: []string{srv.URL + "/"}, Bank: bank, Store: st, Evidence: l})
		if err != nil {
			t.Fatal(err)
		}
		if sum.ErrorsBy["evidence"] != 0 {
			t.Errorf("evidence errors: %v", sum.ErrorsBy)
		}
	}
	run()
	incs, err := st.Incidents(context.Background(), "")
	if err != nil || len(incs) == 0 {
		t.Fatalf("no incident: %v", err)
	}
	entries, err := evidence.List(dir)
	if err != nil {
		t.Fatal(err)
	}
	byPlace := map[string]evidence.Entry{}
	pages := map[string]evidence.Entry{}
	for _, e := range entries {
		if e.Kind == evidence.KindPage {
			pages[e.ID] = e
			continue
		}
		byPlace[e.URL+"#"+e.ArchivePath] = e
	}
	var plain [][]byte
	copies, inArchive := 0, 0
	for _, inc := range incs {
		for _, m := range inc.Matches {
			copies++
			e, ok := byPlace[m.URL+"#"+m.ArchivePath]
			if !ok {
				t.Errorf("copy %s#%s not in the locker", m.URL, m.ArchivePath)
				continue
			}
			if m.ArchivePath != "" {
				inArchive++
			}
			got, err := evidence.Decrypt(dir, e, []age.Identity{key}, 64<<20)
			if err != nil {
				t.Fatalf("decrypt %s: %v", e.ID, err)
			}
			sum := sha256.Sum256(got.Item.Payload)
			if hex.EncodeToString(sum[:]) != m.SHA256 || e.SHA256 != m.SHA256 || e.IncidentID != inc.ID || e.FetchedAt.IsZero() {
				t.Errorf("%s: decrypted bytes or manifest do not match the store's evidence (%s)", e.ID, m.SHA256)
			}
			if m.Page != "" {
				p, ok := pages[e.PageID]
				if !ok || p.URL != m.Page || !strings.Contains(p.Headers["Content-Type"][0], "html") {
					t.Errorf("%s: page %s not kept (%q)", e.ID, m.Page, e.PageID)
				} else if pg, err := evidence.Decrypt(dir, p, []age.Identity{key}, 64<<20); err != nil || !bytes.Contains(pg.Item.Payload, []byte("<")) {
					t.Errorf("page %s does not decrypt to HTML: %v", p.URL, err)
				}
			}
			plain = append(plain, got.Item.Payload)
		}
	}
	if copies == 0 || inArchive == 0 {
		t.Fatalf("the fixture site should leak copies on pages and in archives: %d copies, %d in archives", copies, inArchive)
	}
	files, _ := os.ReadDir(dir)
	for _, f := range files {
		b, _ := os.ReadFile(filepath.Join(dir, f.Name()))
		if f.Name() != evidence.ManifestName && !strings.HasSuffix(f.Name(), evidence.Suffix) {
			t.Errorf("unexpected file %s in the locker", f.Name())
		}
		for _, p := range plain {
			if bytes.Contains(b, p[len(p)/2:len(p)/2+64]) {
				t.Errorf("%s holds leaked bytes in the clear", f.Name())
			}
		}
	}
	run()
	again, _ := evidence.List(dir)
	if len(again) != len(entries) {
		t.Errorf("second run kept %d more items", len(again)-len(entries))
	}
}
