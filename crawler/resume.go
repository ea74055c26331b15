package crawler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxResumes bounds how often one download is resumed after a dropped
// connection.
const maxResumes = 5

// resumingBody reads a response body and, when the connection drops
// mid-transfer, re-requests the rest with an HTTP Range request. It only
// resumes when the server answers 206 with a Content-Range that starts
// exactly where we stopped and the validator (ETag or Last-Modified) is
// unchanged, so a file that changed in between is never spliced.
type resumingBody struct {
	ctx      context.Context
	client   *http.Client
	url      string
	ua       string
	body     io.ReadCloser
	read     int64
	total    int64
	etag     string
	lastMod  string
	resumes  int
	progress func(read, total int64)
	lastNote time.Time
	// tick, if set, is told the bytes read after every read.
	tick func(read int64, done bool)
}

func newResumingBody(ctx context.Context, c *http.Client, url, ua string, resp *http.Response, progress func(read, total int64)) *resumingBody {
	return &resumingBody{ctx: ctx, client: c, url: url, ua: ua, body: resp.Body, total: resp.ContentLength,
		etag: resp.Header.Get("ETag"), lastMod: resp.Header.Get("Last-Modified"), progress: progress, lastNote: time.Now()}
}

func (b *resumingBody) Read(p []byte) (int, error) {
	for {
		n, err := b.body.Read(p)
		b.read += int64(n)
		if b.tick != nil && n > 0 {
			b.tick(b.read, false)
		}
		if b.progress != nil && time.Since(b.lastNote) > 10*time.Second {
			b.lastNote = time.Now()
			b.progress(b.read, b.total)
		}
		if err == nil || errors.Is(err, io.EOF) && (b.total < 0 || b.read >= b.total) {
			return n, err
		}
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF // short body: the connection dropped
		}
		if b.ctx.Err() != nil || b.resumes >= maxResumes || errors.Is(err, ErrTooLarge) {
			return n, err
		}
		if rerr := b.resume(); rerr != nil {
			return n, fmt.Errorf("%w (resume failed: %v)", err, rerr)
		}
		if n > 0 {
			return n, nil
		}
	}
}

func (b *resumingBody) resume() error {
	b.resumes++
	b.body.Close()
	req, err := http.NewRequestWithContext(b.ctx, http.MethodGet, b.url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", b.ua)
	req.Header.Set("Range", "bytes="+strconv.FormatInt(b.read, 10)+"-")
	switch {
	case b.etag != "" && !strings.HasPrefix(b.etag, "W/"):
		req.Header.Set("If-Range", b.etag)
	case b.lastMod != "":
		req.Header.Set("If-Range", b.lastMod)
	default:
		return errors.New("no validator to resume safely")
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusPartialContent || !strings.HasPrefix(resp.Header.Get("Content-Range"), "bytes "+strconv.FormatInt(b.read, 10)+"-") {
		resp.Body.Close()
		return fmt.Errorf("server answered %d %q to a range request", resp.StatusCode, resp.Header.Get("Content-Range"))
	}
	b.body = resp.Body
	return nil
}

func (b *resumingBody) Close() error { return b.body.Close() }
