package evidence

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"filippo.io/age"
)

// Kinds of item.
const (
	KindFile = "file" // a matched leaked file (an image or an archive entry)
	KindPage = "page" // the page that linked it
)

// ManifestName is the chain-of-custody manifest in a locker folder.
const ManifestName = "manifest.jsonl"

// Suffix ends the name of every encrypted item.
const Suffix = ".warc.age"

// DefaultMaxBytes bounds a locker's ciphertext when the caller sets no bound.
const DefaultMaxBytes = 10 << 30

// Errors.
var (
	// ErrFull reports an item that would take the locker past its bound.
	ErrFull = errors.New("evidence locker full")
	// ErrRecipient reports a recipient that is not an age X25519 public key.
	ErrRecipient = errors.New("evidence recipient must be an age public key (age1...)")
	// ErrEntryTooLarge means an item's record would not fit on one
	// manifest line; it is not kept.
	ErrEntryTooLarge = errors.New("evidence entry too large for the manifest")
)

// Item is one thing to keep, with where and when it was fetched.
type Item struct {
	Kind string
	// URL is where the bytes came from: the leaked file, the archive that
	// held it (then ArchivePath names the entry), or the page.
	URL         string
	ArchivePath string
	// Page is the page that linked a file, PageID its locker entry.
	Page   string
	PageID string
	// FetchedAt, Status and Header describe the HTTP response, as received.
	FetchedAt time.Time
	Status    int
	Header    http.Header
	// RunID, IncidentID and Captures say why it was kept.
	RunID      int64
	IncidentID string
	Captures   []string
}

// Entry is one manifest line: an item kept and how to check it.
type Entry struct {
	ID          string              `json:"id"`
	File        string              `json:"file"`
	Kind        string              `json:"kind"`
	URL         string              `json:"url"`
	ArchivePath string              `json:"archive_path,omitempty"`
	Page        string              `json:"page,omitempty"`
	PageID      string              `json:"page_id,omitempty"`
	FetchedAt   time.Time           `json:"fetched_at"`
	StoredAt    time.Time           `json:"stored_at"`
	Status      int                 `json:"status,omitempty"`
	Headers     map[string][]string `json:"headers,omitempty"`
	// HeadersTruncated says the response's headers were longer than the
	// manifest keeps (maxManifestHeaders); the WARC record holds them all.
	HeadersTruncated bool   `json:"headers_truncated,omitempty"`
	SHA256           string `json:"sha256"`
	Size             int64  `json:"size"`
	// CiphertextSHA256 lets anyone check the stored file without the key.
	CiphertextSHA256 string   `json:"ciphertext_sha256"`
	CiphertextSize   int64    `json:"ciphertext_size"`
	WARCRecordID     string   `json:"warc_record_id"`
	RunID            int64    `json:"run_id"`
	IncidentID       string   `json:"incident_id,omitempty"`
	Captures         []string `json:"captures,omitempty"`
	Recipient        string   `json:"recipient"`
}

// ItemID names an item by what it is and where it was: the same bytes at
// the same place are kept once, whichever run sees them.
func ItemID(kind, url, archivePath, sha string) string {
	h := sha256.Sum256([]byte(kind + "\x00" + url + "\x00" + archivePath + "\x00" + sha))
	return "ev_" + hex.EncodeToString(h[:10])
}

// Locker writes encrypted items into a folder. It is safe for concurrent
// use; one process at a time may write a folder (scan and watch already
// hold the store's run lock).
type Locker struct {
	dir       string
	recipient *age.X25519Recipient
	max       int64
	now       func() time.Time

	mu   sync.Mutex
	have map[string]bool
	used int64
}

// Option configures NewLocker.
type Option func(*Locker)

// WithMaxBytes bounds the ciphertext kept in the folder (default
// DefaultMaxBytes); items past it are refused with ErrFull.
func WithMaxBytes(n int64) Option { return func(l *Locker) { l.max = n } }

// WithClock replaces time.Now (tests).
func WithClock(now func() time.Time) Option { return func(l *Locker) { l.now = now } }

// ParseRecipient reads an age X25519 public key.
func ParseRecipient(s string) (*age.X25519Recipient, error) {
	r, err := age.ParseX25519Recipient(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRecipient, err)
	}
	return r, nil
}

// NewLocker opens (creating, mode 0700) the locker folder and reads its
// manifest, so items already kept are not kept again.
func NewLocker(dir string, recipient string, opts ...Option) (*Locker, error) {
	r, err := ParseRecipient(recipient)
	if err != nil {
		return nil, err
	}
	l := &Locker{dir: dir, recipient: r, max: DefaultMaxBytes, now: time.Now, have: map[string]bool{}}
	for _, o := range opts {
		o(l)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("evidence locker: %w", err)
	}
	// A folder that already existed keeps its mode: the locker's is
	// private whoever made it (what is in it is encrypted, its names and
	// sizes are not).
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("evidence locker: %w", err)
	}
	entries, err := List(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		l.have[e.ID] = true
		l.used += e.CiphertextSize
	}
	return l, nil
}

// Dir is the locker's folder.
func (l *Locker) Dir() string { return l.dir }

// Has reports whether the item with this ID is kept already.
func (l *Locker) Has(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.have[id]
}

// Keep encrypts body into the locker as a WARC file and appends its
// manifest entry. An item kept before (same ItemID) is not kept again:
// Keep returns its entry ID and false.
func (l *Locker) Keep(it Item, body []byte) (id string, kept bool, err error) {
	sum := sha256.Sum256(body)
	sha := hex.EncodeToString(sum[:])
	id = ItemID(it.Kind, it.URL, it.ArchivePath, sha)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.have[id] {
		return id, false, nil
	}
	// A WARC file adds about 2 KiB of headers; age adds 16 bytes per 64 KiB.
	if need := int64(len(body)) + int64(len(body))/4096 + 4096; l.used+need > l.max {
		return id, false, fmt.Errorf("%w: %d of %d bytes used, %s needs %d", ErrFull, l.used, l.max, it.URL, need)
	}
	name := id + Suffix
	stored := l.now().UTC()
	headers, cut := manifestHeaders(it.Header)
	e := Entry{ID: id, File: name, Kind: it.Kind, URL: it.URL, ArchivePath: it.ArchivePath, Page: it.Page, PageID: it.PageID,
		FetchedAt: it.FetchedAt.UTC(), StoredAt: stored, Status: it.Status, Headers: headers, HeadersTruncated: cut, SHA256: sha, Size: int64(len(body)),
		RunID: it.RunID, IncidentID: it.IncidentID, Captures: it.Captures, Recipient: l.recipient.String()}
	if e.FetchedAt.IsZero() {
		e.FetchedAt = stored
	}
	it.FetchedAt = e.FetchedAt
	e.WARCRecordID, e.CiphertextSHA256, e.CiphertextSize, err = l.writeItem(name, it, body, stored)
	if err != nil {
		return id, false, err
	}
	if err := l.appendManifest(e); err != nil {
		os.Remove(filepath.Join(l.dir, name))
		return id, false, err
	}
	l.have[id] = true
	l.used += e.CiphertextSize
	return id, true, nil
}

// writeItem streams the WARC records through the encryptor into a
// temporary file (ciphertext only) and renames it into place.
func (l *Locker) writeItem(name string, it Item, body []byte, at time.Time) (recordID, cipherSHA string, cipherSize int64, err error) {
	f, err := os.CreateTemp(l.dir, ".keep-*.tmp")
	if err != nil {
		return "", "", 0, fmt.Errorf("evidence locker: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(f, h)}
	enc, err := age.Encrypt(cw, l.recipient)
	if err != nil {
		return "", "", 0, fmt.Errorf("evidence locker: %w", err)
	}
	info := infoRecord(at, name, it.RunID)
	rec, recordID := itemRecord(it, body, info.fields[1].value)
	for _, r := range []record{info, rec} {
		if err := r.write(enc); err != nil {
			return "", "", 0, fmt.Errorf("evidence locker: %w", err)
		}
	}
	if err := enc.Close(); err != nil {
		return "", "", 0, fmt.Errorf("evidence locker: %w", err)
	}
	if err := f.Sync(); err != nil {
		return "", "", 0, fmt.Errorf("evidence locker: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", "", 0, fmt.Errorf("evidence locker: %w", err)
	}
	if err := os.Rename(f.Name(), filepath.Join(l.dir, name)); err != nil {
		return "", "", 0, fmt.Errorf("evidence locker: %w", err)
	}
	// The rename is made durable before the manifest names the item: after
	// a power cut a manifest line must not point at a missing file (Has
	// would then never keep that item again).
	if err := syncDir(l.dir); err != nil {
		return "", "", 0, fmt.Errorf("evidence locker: %w", err)
	}
	return recordID, hex.EncodeToString(h.Sum(nil)), cw.n, nil
}

// maxManifestHeaders bounds the response headers a manifest line keeps:
// a dump site chooses them, and a line over maxManifestLine would make
// the manifest unreadable.
const maxManifestHeaders = 64 << 10

// manifestHeaders keeps h's headers, in name order, while their JSON fits
// in maxManifestHeaders bytes, and reports whether any were left out.
func manifestHeaders(h map[string][]string) (map[string][]string, bool) {
	if len(h) == 0 {
		return nil, false
	}
	out := map[string][]string{}
	cut, n := false, 0
	for _, k := range slices.Sorted(maps.Keys(h)) {
		// What the header costs on the line, escapes included (measured
		// with HTML escaping, which the manifest leaves out: never less).
		kb, _ := json.Marshal(k)
		vb, _ := json.Marshal(h[k])
		size := len(kb) + len(vb) + 2
		if n+size > maxManifestHeaders {
			cut = true
			continue
		}
		n += size
		out[k] = h[k]
	}
	return out, cut
}

func (l *Locker) appendManifest(e Entry) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // a "<" costs one byte, not six
	if err := enc.Encode(e); err != nil {
		return err
	}
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if len(b) >= maxManifestLine {
		return fmt.Errorf("%w: manifest line of %d bytes, limit %d", ErrEntryTooLarge, len(b), maxManifestLine)
	}
	f, err := os.OpenFile(filepath.Join(l.dir, ManifestName), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("evidence manifest: %w", err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("evidence manifest: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("evidence manifest: %w", err)
	}
	return f.Close()
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// maxManifestLine bounds one manifest line (headers included).
const maxManifestLine = 1 << 20

// List reads the manifest of a locker folder (none yet: no entries).
func List(dir string) ([]Entry, error) {
	f, err := os.Open(filepath.Join(dir, ManifestName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("evidence manifest: %w", err)
	}
	defer f.Close()
	return parseManifest(f)
}

// parseManifest reads manifest lines. A last line without its newline is
// one being appended right now (a scan is running): it is left for later.
func parseManifest(r io.Reader) ([]Entry, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var out []Entry
	for n := 1; ; n++ {
		line, err := readLine(br)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("evidence manifest line %d: %w", n, err)
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var e Entry
		if err := json.Unmarshal(line, &e); err != nil {
			return out, fmt.Errorf("evidence manifest line %d: %w", n, err)
		}
		if e.ID == "" || e.File != e.ID+Suffix || strings.ContainsAny(e.ID, `/\.`) {
			return out, fmt.Errorf("evidence manifest line %d: bad id %q or file %q", n, e.ID, e.File)
		}
		out = append(out, e)
	}
}

// readLine returns the next complete line, at most maxManifestLine bytes;
// io.EOF at the end or before an incomplete last line.
func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > maxManifestLine {
			return nil, fmt.Errorf("longer than %d bytes", maxManifestLine)
		}
		switch {
		case err == nil:
			return line, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			return nil, io.EOF
		default:
			return nil, err
		}
	}
}

// syncDir flushes a directory's entries (a rename into it) to disk.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
