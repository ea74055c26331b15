package evidence

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"filippo.io/age"
)

// ErrNotFound reports a reference that names no manifest entry.
var ErrNotFound = errors.New("no such evidence")

// ErrTampered reports a stored file whose bytes differ from its manifest.
var ErrTampered = errors.New("evidence does not match its manifest")

// Find returns the entry whose ID, or content SHA-256, starts with ref
// (a unique prefix is enough). The same bytes kept at several places are
// one content: the first of them is returned.
func Find(entries []Entry, ref string) (Entry, error) {
	var hits []Entry
	for _, e := range entries {
		if ref != "" && (strings.HasPrefix(e.ID, ref) || strings.HasPrefix(e.SHA256, ref)) {
			hits = append(hits, e)
		}
	}
	if len(hits) == 0 {
		return Entry{}, fmt.Errorf("%w: %q", ErrNotFound, ref)
	}
	same := true
	for _, e := range hits {
		same = same && e.SHA256 == hits[0].SHA256
	}
	if same {
		return hits[0], nil
	}
	return Entry{}, fmt.Errorf("evidence %q is ambiguous (%d entries)", ref, len(hits))
}

// Verify checks a stored file against its manifest entry without
// decrypting it: present, and the SHA-256 of its ciphertext unchanged.
func Verify(dir string, e Entry) error {
	f, err := os.Open(filepath.Join(dir, e.File))
	if err != nil {
		return fmt.Errorf("evidence %s: %w", e.ID, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("evidence %s: %w", e.ID, err)
	}
	if hex.EncodeToString(h.Sum(nil)) != e.CiphertextSHA256 {
		return fmt.Errorf("evidence %s: %w (ciphertext hash)", e.ID, ErrTampered)
	}
	return nil
}

// ReadIdentities reads an age identity file (as written by age-keygen).
func ReadIdentities(path string) ([]age.Identity, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	defer f.Close()
	ids, err := age.ParseIdentities(io.LimitReader(f, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("identity %s: %w", path, err)
	}
	return ids, nil
}

// Opened is a decrypted item: the WARC file and its item record.
type Opened struct {
	WARC []byte
	Item Record
}

// Decrypt decrypts an entry's file and checks it: the item record's payload
// must have the manifest's SHA-256. The plaintext stays in memory (an
// item is bounded by the scan's size limits; maxBytes bounds it here).
func Decrypt(dir string, e Entry, ids []age.Identity, maxBytes int64) (Opened, error) {
	if err := Verify(dir, e); err != nil {
		return Opened{}, err
	}
	f, err := os.Open(filepath.Join(dir, e.File))
	if err != nil {
		return Opened{}, fmt.Errorf("evidence %s: %w", e.ID, err)
	}
	defer f.Close()
	dec, err := age.Decrypt(f, ids...)
	if err != nil {
		return Opened{}, fmt.Errorf("evidence %s: %w", e.ID, err)
	}
	plain, err := io.ReadAll(io.LimitReader(dec, maxBytes+1))
	if err != nil {
		return Opened{}, fmt.Errorf("evidence %s: %w", e.ID, err)
	}
	if int64(len(plain)) > maxBytes {
		return Opened{}, fmt.Errorf("evidence %s: more than %d bytes", e.ID, maxBytes)
	}
	recs, err := readRecords(bytes.NewReader(plain), maxBytes)
	if err != nil {
		return Opened{}, fmt.Errorf("evidence %s: %w", e.ID, err)
	}
	for _, r := range recs {
		if r.Type != response && r.Type != resource {
			continue
		}
		sum := sha256.Sum256(r.Payload)
		if hex.EncodeToString(sum[:]) != e.SHA256 {
			return Opened{}, fmt.Errorf("evidence %s: %w (content hash)", e.ID, ErrTampered)
		}
		return Opened{WARC: plain, Item: r}, nil
	}
	return Opened{}, fmt.Errorf("evidence %s: %w: no response or resource record", e.ID, ErrFormat)
}
