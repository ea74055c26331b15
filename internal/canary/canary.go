package canary

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/leakwatch/leakwatch/fingerprint"
	"github.com/leakwatch/leakwatch/internal/ledger"
	"github.com/leakwatch/leakwatch/internal/local"
	"github.com/leakwatch/leakwatch/internal/store"
)

// Source is the bank source of every canary capture.
const Source = "canary"

// MaxCount bounds one issue.
const MaxCount = 1000

// jpegQuality is that of the captures the canaries hide among.
const jpegQuality = 92

// Store is the part of the store that records canaries.
type Store interface {
	AddTransfers(ctx context.Context, ts []store.Transfer) ([]bool, error)
}

// Options describe one issue of canaries.
type Options struct {
	Recipient string
	Count     int
	// Kind is "face" or "plate".
	Kind string
	// Out is the directory the images are written to (created if
	// needed; an existing file is never overwritten).
	Out string
	// Bank is the bank file the canaries are enrolled into.
	Bank string
	// Transfer is the ledger transfer ID (default canary-DATE-RANDOM);
	// Date its day (default today).
	Transfer, Date string
	// IDPrefix starts every capture ID; make it look like your own IDs so
	// the recipient cannot tell canaries from captures by name.
	IDPrefix string
	Now      func() time.Time
	// Rand supplies the secret seeds and IDs (default crypto/rand).
	Rand io.Reader
}

// Issued is one canary written, recorded and enrolled.
type Issued struct {
	CaptureID string `json:"capture_id"`
	Kind      string `json:"kind"`
	Path      string `json:"path"`
	PDQ       string `json:"pdq,omitempty"`
	Quality   int    `json:"quality"`
}

// Issue draws the canaries, writes them to o.Out, records them in the
// ledger for o.Recipient only and enrolls them into the bank. The ledger
// is written before the bank: a canary enrolled but not recorded would
// look like a real person's capture when found.
func Issue(ctx context.Context, st Store, o Options) ([]Issued, store.Transfer, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	t := store.Transfer{ID: o.Transfer, Recipient: o.Recipient, Canary: true, Note: fmt.Sprintf("%d %s canaries", o.Count, o.Kind)}
	switch {
	case o.Recipient == "":
		return nil, t, errors.New("canary: a recipient is required")
	case o.Count < 1 || o.Count > MaxCount:
		return nil, t, fmt.Errorf("canary: count must be 1 to %d", MaxCount)
	case o.Kind != "face" && o.Kind != "plate":
		return nil, t, fmt.Errorf("canary: kind must be face or plate, not %q", o.Kind)
	case o.Out == "" || o.Bank == "":
		return nil, t, errors.New("canary: an output directory and a bank are required")
	}
	var err error
	if t.Date, err = ledger.CheckDate(o.Date, o.Now()); err != nil {
		return nil, t, err
	}
	if t.ID == "" {
		suffix, err := randomHex(o.Rand, 4)
		if err != nil {
			return nil, t, err
		}
		t.ID = "canary-" + t.Date + "-" + suffix
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, t, fmt.Errorf("canary: %w", err)
	}
	pics, err := drawDistinct(ctx, o)
	if err != nil {
		return nil, t, err
	}
	issued := make([]Issued, 0, o.Count)
	var rows []local.ManifestRow
	for _, pic := range pics {
		c, err := write(o, pic)
		if err != nil {
			return nil, t, err
		}
		issued = append(issued, c)
		t.Captures = append(t.Captures, c.CaptureID)
		rows = append(rows, local.ManifestRow{File: c.Path, CaptureID: c.CaptureID, Kind: o.Kind, Source: Source,
			Meta: map[string]string{"canary": "true"}})
	}
	if _, err := st.AddTransfers(ctx, []store.Transfer{t}); err != nil {
		return nil, t, err
	}
	byID := map[string]*Issued{}
	for i := range issued {
		byID[issued[i].CaptureID] = &issued[i]
	}
	var enrollErr error
	_, err = local.Enroll(ctx, o.Bank, nil, local.EnrollOptions{Manifest: rows, Limits: fingerprint.DefaultLimits(), Now: o.Now}, func(r local.EnrollResult) {
		if c := byID[r.CaptureID]; c != nil {
			c.PDQ, c.Quality = r.PDQ, r.Quality
		}
		if r.Status == local.StatusError || r.Status == local.StatusDuplicate {
			enrollErr = errors.Join(enrollErr, fmt.Errorf("%s: %s %s", r.CaptureID, r.Status, r.Error))
		}
	})
	if err = errors.Join(err, enrollErr); err != nil {
		return issued, t, fmt.Errorf("canary: recorded in the ledger as transfer %s but not enrolled: %w", t.ID, err)
	}
	return issued, t, nil
}

// write names one canary and writes its JPEG file (never over an
// existing file).
func write(o Options, jpg []byte) (Issued, error) {
	suffix, err := randomHex(o.Rand, 6)
	if err != nil {
		return Issued{}, err
	}
	c := Issued{CaptureID: o.IDPrefix + suffix, Kind: o.Kind}
	c.Path = filepath.Join(o.Out, c.CaptureID+".jpg")
	f, err := os.OpenFile(c.Path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return Issued{}, fmt.Errorf("canary: %w", err)
	}
	if _, err := f.Write(jpg); err != nil {
		f.Close()
		return Issued{}, fmt.Errorf("canary: %w", err)
	}
	if err := f.Close(); err != nil {
		return Issued{}, fmt.Errorf("canary: %w", err)
	}
	return c, nil
}

func randomHex(r io.Reader, n int) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("canary: random ID: %w", err)
	}
	return hex.EncodeToString(b), nil
}
