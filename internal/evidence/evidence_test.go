package evidence

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/nlnwa/gowarc/v3"
)

// marker is plaintext that must never appear in the locker folder.
var marker = []byte("LEAKED-PIXELS-\x89PNG-do-not-store-in-the-clear")

func newKey(t *testing.T) *age.X25519Identity {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func items() []struct {
	it   Item
	body []byte
} {
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	hdr := http.Header{"Content-Type": {"image/png"}, "Etag": {`"abc"`}, "Content-Length": {"999"}, "Server": {"dump\r\nX-Forged: 1"}}
	return []struct {
		it   Item
		body []byte
	}{
		{Item{Kind: KindPage, URL: "http://dump.test/a/", FetchedAt: at, Status: 200, Header: http.Header{"Content-Type": {"text/html"}}, RunID: 3},
			[]byte(`<html><img src="leak.png"></html>`)},
		{Item{Kind: KindFile, URL: "http://dump.test/a/leak.png", Page: "http://dump.test/a/", FetchedAt: at, Status: 200, Header: hdr,
			RunID: 3, IncidentID: "inc_0123456789abcdef", Captures: []string{"traveller-0007"}}, append(slices.Clone(marker), 1, 2, 3)},
		{Item{Kind: KindFile, URL: "http://dump.test/pack.zip", ArchivePath: "inner.tar!/p 1.png\r\nWARC-Type: forged", FetchedAt: at, Status: 200,
			Header: http.Header{"Content-Type": {"application/zip"}}, RunID: 3, IncidentID: "inc_0123456789abcdef", Captures: []string{"plate-0002"}},
			append(slices.Clone(marker), 4, 5)},
	}
}

// TestKeepAndDecrypt keeps a page, a file and an archive entry, then
// checks the folder holds only ciphertext and the manifest, the manifest
// is complete, every item decrypts to its bytes, and the WARC inside is
// valid for an independent reader (gowarc, strict).
func TestKeepAndDecrypt(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "locker")
	key := newKey(t)
	l, err := NewLocker(dir, key.Recipient().String(), WithClock(func() time.Time { return time.Date(2026, 3, 4, 6, 0, 0, 0, time.UTC) }))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, x := range items() {
		id, kept, err := l.Keep(x.it, x.body)
		if err != nil || !kept {
			t.Fatalf("keep %s: %v %v", x.it.URL, kept, err)
		}
		ids = append(ids, id)
		if again, kept, err := l.Keep(x.it, x.body); err != nil || kept || again != id {
			t.Errorf("keeping %s twice: %s %v %v", x.it.URL, again, kept, err)
		}
	}
	files, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 4 {
		t.Errorf("%d files in the locker, want 3 items and the manifest", len(files))
	}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(dir, f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, marker) || bytes.Contains(b, []byte("<html>")) {
			t.Errorf("%s holds plaintext", f.Name())
		}
		if f.Name() != ManifestName && (!strings.HasSuffix(f.Name(), Suffix) || !bytes.HasPrefix(b, []byte("age-encryption.org/v1\n"))) {
			t.Errorf("%s is neither the manifest nor age ciphertext", f.Name())
		}
		if fi, _ := f.Info(); fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", f.Name(), fi.Mode().Perm())
		}
	}
	entries, err := List(dir)
	if err != nil || len(entries) != 3 {
		t.Fatalf("list: %d entries, %v", len(entries), err)
	}
	file := entries[1]
	if file.Kind != KindFile || file.URL != "http://dump.test/a/leak.png" || file.Page != "http://dump.test/a/" || file.RunID != 3 ||
		file.IncidentID != "inc_0123456789abcdef" || file.Headers["Etag"][0] != `"abc"` || file.Size != int64(len(marker)+3) ||
		!file.FetchedAt.Equal(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)) || file.Recipient != key.Recipient().String() {
		t.Errorf("manifest entry %+v", file)
	}
	for i, x := range items() {
		e := entries[i]
		if e.ID != ids[i] {
			t.Errorf("entry %d is %s, want %s", i, e.ID, ids[i])
		}
		got, err := Decrypt(dir, e, []age.Identity{key}, 1<<20)
		if err != nil {
			t.Fatalf("decrypt %s: %v", e.ID, err)
		}
		if !bytes.Equal(got.Item.Payload, x.body) {
			t.Errorf("%s decrypts to %q", e.ID, got.Item.Payload)
		}
		strictWARC(t, got.WARC, x.it.ArchivePath == "")
		if x.it.ArchivePath != "" && (got.Item.Type != resource || strings.ContainsAny(got.Item.Fields["Leakwatch-Archive-Entry"], "\r\n")) {
			t.Errorf("archive entry record %+v", got.Item.Fields)
		}
		if got.Item.Fields["Warc-Type"] != got.Item.Type || got.Item.Type == "forged" {
			t.Errorf("record type %q", got.Item.Type)
		}
	}
	// A new locker on the same folder knows what is kept.
	l2, err := NewLocker(dir, key.Recipient().String())
	if err != nil || !l2.Has(ids[1]) {
		t.Errorf("reopened locker lost its manifest: %v", err)
	}
}

// strictWARC parses plain with gowarc in strict mode (in memory) and
// checks both records, their digests and, for a response, the HTTP head.
func strictWARC(t *testing.T, plain []byte, isResponse bool) {
	t.Helper()
	u := gowarc.NewUnmarshaler(gowarc.WithStrictValidation(), gowarc.WithBufferMaxMemBytes(int64(len(plain))+1<<20))
	br := bufio.NewReader(bytes.NewReader(plain))
	var types []string
	for {
		rec, _, validation, err := u.Unmarshal(br)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("gowarc: %v", err)
		}
		v, err := rec.ValidateDigest()
		if err != nil || len(validation)+len(v) > 0 {
			t.Errorf("gowarc validation of %s: %v %v %v", rec.Type(), validation, v, err)
		}
		if pb, ok := rec.Block().(gowarc.PayloadBlock); ok && isResponse {
			if pb.PayloadDigest() != rec.WarcHeader().Get(gowarc.WarcPayloadDigest) {
				t.Errorf("payload digest %s, header %s", pb.PayloadDigest(), rec.WarcHeader().Get(gowarc.WarcPayloadDigest))
			}
		}
		types = append(types, rec.Type().String())
		rec.Close()
	}
	want := []string{"warcinfo", "resource"}
	if isResponse {
		want[1] = "response"
	}
	if !slices.Equal(types, want) {
		t.Errorf("records %v, want %v", types, want)
	}
}

func TestLockerRefuses(t *testing.T) {
	key := newKey(t)
	body := slices.Repeat(marker, 100)
	it := Item{Kind: KindFile, URL: "http://dump.test/big.png", Status: 200}
	t.Run("bound", func(t *testing.T) {
		l, err := NewLocker(t.TempDir(), key.Recipient().String(), WithMaxBytes(int64(len(body))))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := l.Keep(it, body); !errors.Is(err, ErrFull) {
			t.Errorf("keep past the bound: %v", err)
		}
	})
	t.Run("recipient", func(t *testing.T) {
		for _, r := range []string{"", "age1notakey", "ssh-ed25519 AAAA", key.String()} {
			if _, err := NewLocker(t.TempDir(), r); !errors.Is(err, ErrRecipient) {
				t.Errorf("recipient %.20q: %v", r, err)
			}
		}
	})
	t.Run("tampered and wrong key", func(t *testing.T) {
		dir := t.TempDir()
		l, err := NewLocker(dir, key.Recipient().String())
		if err != nil {
			t.Fatal(err)
		}
		id, _, err := l.Keep(it, body)
		if err != nil {
			t.Fatal(err)
		}
		entries, _ := List(dir)
		e, err := Find(entries, id[:8])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Find(entries, e.SHA256[:12]); err != nil {
			t.Errorf("find by content hash: %v", err)
		}
		if _, err := Find(entries, "ev_nothing"); !errors.Is(err, ErrNotFound) {
			t.Errorf("find unknown: %v", err)
		}
		if _, err := Decrypt(dir, e, []age.Identity{newKey(t)}, 1<<20); err == nil {
			t.Error("decrypted with the wrong identity")
		}
		if _, err := Decrypt(dir, e, []age.Identity{key}, 100); err == nil {
			t.Error("decrypted past the size bound")
		}
		p := filepath.Join(dir, e.File)
		b, _ := os.ReadFile(p)
		b[len(b)-10] ^= 1
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := Verify(dir, e); !errors.Is(err, ErrTampered) {
			t.Errorf("verify tampered: %v", err)
		}
	})
}

func TestParseManifestLeavesALineBeingWritten(t *testing.T) {
	in := `{"id":"ev_1","file":"ev_1.warc.age"}` + "\n" + `{"id":"ev_2","fi`
	entries, err := parseManifest(strings.NewReader(in))
	if err != nil || len(entries) != 1 || entries[0].ID != "ev_1" {
		t.Errorf("entries %+v, %v", entries, err)
	}
	long := `{"id":"ev_1","file":"ev_1.warc.age","url":"` + strings.Repeat("x", maxManifestLine) + `"}` + "\n"
	if _, err := parseManifest(strings.NewReader(long)); err == nil {
		t.Error("a line over the bound was read")
	}
}

func TestParseManifestRefusesPaths(t *testing.T) {
	for _, line := range []string{
		`{"id":"../x","file":"../x.warc.age"}`,
		`{"id":"ev_1","file":"/etc/passwd"}`,
		`not json`,
	} {
		if _, err := parseManifest(strings.NewReader(line + "\n")); err == nil {
			t.Errorf("manifest line %s accepted", line)
		}
	}
}

// A dump site chooses its response headers: headers that would make a
// manifest line too long for the reader are cut in the manifest (the WARC
// record keeps them all), and the locker still opens afterwards.
func TestKeepBoundsManifestHeaders(t *testing.T) {
	dir := t.TempDir()
	key := newKey(t)
	l, err := NewLocker(dir, key.Recipient().String())
	if err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("<", 300_000) // 1.8 MB of JSON escaped as HTML
	hdr := http.Header{"Content-Type": {"image/png"}, "X-Padding": {big, big, big}}
	it := Item{Kind: KindFile, URL: "http://dump.test/h.png", Status: 200, Header: hdr, RunID: 1}
	if _, kept, err := l.Keep(it, marker); err != nil || !kept {
		t.Fatalf("keep: %v %v", kept, err)
	}
	if _, err := NewLocker(dir, key.Recipient().String()); err != nil {
		t.Fatalf("the locker no longer opens: %v", err)
	}
	entries, err := List(dir)
	if err != nil || len(entries) != 1 {
		t.Fatalf("list: %v, %v", entries, err)
	}
	e := entries[0]
	if !e.HeadersTruncated || e.Headers["Content-Type"][0] != "image/png" || e.Headers["X-Padding"] != nil {
		t.Errorf("manifest headers %v (truncated %v): want Content-Type kept, X-Padding cut", slices.Collect(maps.Keys(e.Headers)), e.HeadersTruncated)
	}
	got, err := Decrypt(dir, e, []age.Identity{key}, 8<<20)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(got.WARC, []byte(big)) {
		t.Error("the WARC record lost the long header")
	}
}

// A locker folder made by someone else, readable by all, is made private.
func TestLockerFolderIsPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "locker")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := NewLocker(dir, newKey(t).Recipient().String()); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("locker folder mode %v, %v; want 0700", fi.Mode().Perm(), err)
	}
}

// A record whose Content-Length claims far more than follows is refused
// without allocating what it claims.
func TestReadRecordForgedLength(t *testing.T) {
	rec := "WARC/1.1\r\nWARC-Type: resource\r\nContent-Length: 1000000000\r\n\r\nshort"
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	_, err := readRecords(strings.NewReader(rec), 1<<30)
	runtime.ReadMemStats(&b)
	if !errors.Is(err, ErrFormat) {
		t.Errorf("forged length: %v, want ErrFormat", err)
	}
	if d := b.TotalAlloc - a.TotalAlloc; d > 16<<20 {
		t.Errorf("refusing it allocated %d MB", d>>20)
	}
}
