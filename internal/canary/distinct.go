package canary

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"io/fs"
	"strconv"

	"github.com/leakwatch/leakwatch/fingerprint"
	"github.com/leakwatch/leakwatch/fingerprint/pdq"
	"github.com/leakwatch/leakwatch/internal/synth"
)

// A canary names its recipient only if the matcher tells it apart from
// every other capture: generated faces and plates share one drawing, and
// two of them can be as close as a copy. So each draw is matched, as the
// file it will be, against the bank as it stands, and the issue's
// canaries against one another both ways; a draw that matches anything is
// replaced by a new one.

// maxDraws bounds the draws for one canary; maxRounds the passes that
// compare the canaries with one another.
const (
	maxDraws  = 32
	maxRounds = 4
)

// errNotDistinct reports that no draw could be told apart.
var errNotDistinct = errors.New("canary: no draw both hashes well and is told apart from the bank's captures")

// picture is one drawn canary: its JPEG file and its enrollment.
type picture struct {
	jpg []byte
	e   fingerprint.Enrollment
}

// drawDistinct draws o.Count canaries that match nothing in o.Bank and
// none of one another.
func drawDistinct(ctx context.Context, o Options) ([][]byte, error) {
	var enrolled fingerprint.Matcher
	switch b, err := fingerprint.LoadBank(o.Bank); {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("canary: %w", err)
	case b.Len() > 0:
		enrolled = fingerprint.NewMatcher(b, fingerprint.DefaultMatchOptions())
	}
	pics := make([]picture, o.Count)
	redraw := make([]int, o.Count)
	for i := range redraw {
		redraw[i] = i
	}
	for round := 0; len(redraw) > 0; round++ {
		if round == maxRounds {
			return nil, fmt.Errorf("%w: %d of the issue's canaries still match one another", errNotDistinct, len(redraw))
		}
		for _, i := range redraw {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			p, err := drawOne(ctx, o, enrolled)
			if err != nil {
				return nil, err
			}
			pics[i] = p
		}
		var err error
		if redraw, err = clashes(ctx, pics); err != nil {
			return nil, err
		}
	}
	out := make([][]byte, len(pics))
	for i, p := range pics {
		out[i] = p.jpg
	}
	return out, nil
}

// drawOne draws canaries from fresh secret seeds until one hashes well
// enough to be found again and matches nothing enrolled.
func drawOne(ctx context.Context, o Options, enrolled fingerprint.Matcher) (picture, error) {
	for range maxDraws {
		var b [8]byte
		if _, err := io.ReadFull(o.Rand, b[:]); err != nil {
			return picture{}, fmt.Errorf("canary: random seed: %w", err)
		}
		seed := binary.LittleEndian.Uint64(b[:])
		var img image.Image
		if o.Kind == "plate" {
			img, _ = synth.Plate(seed)
		} else {
			img = synth.Face(seed)
		}
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: jpegQuality}); err != nil {
			return picture{}, fmt.Errorf("canary: %w", err)
		}
		if enrolled != nil {
			fp, err := queryOf(ctx, buf.Bytes())
			if err != nil {
				return picture{}, err
			}
			if ms, err := enrolled.Match(fp); err != nil || len(ms) > 0 {
				continue
			}
		}
		d, err := fingerprint.DecodeContext(ctx, bytes.NewReader(buf.Bytes()), fingerprint.DefaultLimits(), fingerprint.ForEnroll())
		if err != nil {
			return picture{}, fmt.Errorf("canary: %w", err)
		}
		e, err := fingerprint.EnrollImage(d.Image)
		if err != nil {
			return picture{}, fmt.Errorf("canary: %w", err)
		}
		if e.PDQ[0].Quality < pdq.MinQuality {
			// Too flat for PDQ to hash reliably as the file it is:
			// its copies might not be found.
			continue
		}
		return picture{jpg: buf.Bytes(), e: e}, nil
	}
	return picture{}, errNotDistinct
}

// queryOf fingerprints a canary file as a query, as match would.
func queryOf(ctx context.Context, jpg []byte) (fingerprint.Fingerprint, error) {
	d, err := fingerprint.DecodeContext(ctx, bytes.NewReader(jpg), fingerprint.DefaultLimits(), fingerprint.ForQuery())
	if err != nil {
		return fingerprint.Fingerprint{}, fmt.Errorf("canary: %w", err)
	}
	fp, err := fingerprint.Compute(d.Image, fingerprint.SourceSize(d.Width, d.Height))
	if err != nil {
		return fp, fmt.Errorf("canary: %w", err)
	}
	return fp, nil
}

// clashes matches every picture against all of them and returns, for each
// pair that matches either way, the later one.
func clashes(ctx context.Context, pics []picture) ([]int, error) {
	if len(pics) < 2 {
		return nil, nil
	}
	b := fingerprint.NewBank()
	for i, p := range pics {
		e := p.e
		e.Capture = fingerprint.Capture{ID: strconv.Itoa(i)}
		if err := b.Add(e); err != nil {
			return nil, fmt.Errorf("canary: %w", err)
		}
	}
	b.BuildIndex()
	m := fingerprint.NewMatcher(b, fingerprint.DefaultMatchOptions())
	bad := map[int]bool{}
	for i, p := range pics {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		fp, err := queryOf(ctx, p.jpg)
		if err != nil {
			return nil, err
		}
		ms, err := m.Match(fp)
		if err != nil {
			bad[i] = true
			continue
		}
		for _, mt := range ms {
			if j, _ := strconv.Atoi(mt.CaptureID); j != i {
				bad[max(i, j)] = true
			}
		}
	}
	var out []int
	for i := range pics {
		if bad[i] {
			out = append(out, i)
		}
	}
	return out, nil
}
