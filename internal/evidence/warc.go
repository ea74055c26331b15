package evidence

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// WARC record types used here.
const (
	warcinfo = "warcinfo"
	response = "response"
	resource = "resource"
)

// Bounds on what the reader accepts: a locker file is ours, but anyone
// holding the public recipient can write one, so it is parsed as hostile.
const (
	maxHeaderBytes = 64 << 10
	maxHeaderLines = 256
)

// ErrFormat reports bytes that are not a WARC record this package wrote.
var ErrFormat = errors.New("not a valid WARC record")

// field is one WARC header field, in the order written.
type field struct{ name, value string }

// record is one WARC record to write; its block is head followed by body.
type record struct {
	fields []field
	head   []byte
	body   []byte
}

// newUUID returns a random RFC 4122 version 4 URN for WARC-Record-ID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("urn:uuid:%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// digest is a WARC digest value: the algorithm and the base32 digest.
func digest(parts ...[]byte) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write(p)
	}
	return "sha256:" + base32.StdEncoding.EncodeToString(h.Sum(nil))
}

// clean makes untrusted text safe as a header value: no line breaks or
// other control characters, which would end the field or forge another.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// write writes the record in WARC 1.1 syntax: version line, fields,
// Content-Length, a blank line, the block and two CRLFs.
func (r record) write(w io.Writer) error {
	var h bytes.Buffer
	h.WriteString("WARC/1.1\r\n")
	for _, f := range r.fields {
		h.WriteString(f.name + ": " + clean(f.value) + "\r\n")
	}
	h.WriteString("Content-Length: " + strconv.Itoa(len(r.head)+len(r.body)) + "\r\n\r\n")
	for _, b := range [][]byte{h.Bytes(), r.head, r.body, []byte("\r\n\r\n")} {
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// infoRecord describes the WARC file: who wrote it, for which run.
func infoRecord(at time.Time, filename string, runID int64) record {
	body := []byte("software: leakwatch\r\nformat: WARC File Format 1.1\r\nconformsTo: http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/\r\n" +
		"description: leakwatch evidence locker\r\nrun-id: " + strconv.FormatInt(runID, 10) + "\r\n")
	return record{fields: []field{
		{"WARC-Type", warcinfo},
		{"WARC-Record-ID", "<" + newUUID() + ">"},
		{"WARC-Date", at.UTC().Format(time.RFC3339Nano)},
		{"WARC-Filename", filename},
		{"Content-Type", "application/warc-fields"},
		{"WARC-Block-Digest", digest(body)},
	}, body: body}
}

// httpHead rebuilds the status line and headers of a response. The body
// kept is the one Go's client delivered (decoded, unchunked), so the
// framing headers that described the wire form are replaced by the body's
// own Content-Length; the manifest keeps the headers exactly as received.
func httpHead(status int, h http.Header, bodyLen int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\n", status, clean(http.StatusText(status)))
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range h {
			if !yield(k) {
				return
			}
		}
	}) {
		switch http.CanonicalHeaderKey(k) {
		case "Content-Length", "Transfer-Encoding", "Content-Encoding":
			continue
		}
		for _, v := range h[k] {
			b.WriteString(clean(k) + ": " + clean(v) + "\r\n")
		}
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n", bodyLen)
	return b.Bytes()
}

// itemRecord is the record holding an item: a response record with the
// HTTP head for something fetched directly, a resource record for an
// archive entry (which had no response of its own).
func itemRecord(it Item, body []byte, infoID string) (record, string) {
	id := "<" + newUUID() + ">"
	r := record{fields: []field{
		{"WARC-Type", response},
		{"WARC-Record-ID", id},
		{"WARC-Date", it.FetchedAt.UTC().Format(time.RFC3339Nano)},
		{"WARC-Target-URI", it.URL},
		{"WARC-Warcinfo-ID", infoID},
	}, body: body}
	if it.ArchivePath != "" {
		r.fields[0].value = resource
		r.fields = append(r.fields, field{"Leakwatch-Archive-Entry", it.ArchivePath}, field{"Content-Type", "application/octet-stream"})
	} else {
		r.head = httpHead(it.Status, it.Header, len(body))
		r.fields = append(r.fields, field{"Content-Type", "application/http;msgtype=response"})
	}
	if it.Page != "" {
		r.fields = append(r.fields, field{"Leakwatch-Linked-From", it.Page})
	}
	r.fields = append(r.fields, field{"WARC-Payload-Digest", digest(body)}, field{"WARC-Block-Digest", digest(r.head, body)})
	return r, id
}

// Record is one WARC record read back.
type Record struct {
	Type   string
	Fields map[string]string
	// Block is the whole content block; Payload is the block without its
	// HTTP head for a response record.
	Block, Payload []byte
}

// readRecords parses WARC records until EOF, refusing any block larger
// than maxBlock.
func readRecords(r io.Reader, maxBlock int64) ([]Record, error) {
	br := bufio.NewReader(r)
	var out []Record
	for {
		rec, err := readRecord(br, maxBlock)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, rec)
	}
}

func readRecord(br *bufio.Reader, maxBlock int64) (Record, error) {
	var read int
	line := func() (string, error) {
		s, err := br.ReadString('\n')
		read += len(s)
		if read > maxHeaderBytes {
			return "", fmt.Errorf("%w: header longer than %d bytes", ErrFormat, maxHeaderBytes)
		}
		if err != nil {
			return s, err
		}
		return strings.TrimRight(s, "\r\n"), nil
	}
	v, err := line()
	if errors.Is(err, io.EOF) && v == "" {
		return Record{}, io.EOF
	}
	if err != nil || v != "WARC/1.1" {
		return Record{}, fmt.Errorf("%w: version line %q", ErrFormat, v)
	}
	rec := Record{Fields: map[string]string{}}
	for n := 0; ; n++ {
		if n > maxHeaderLines {
			return Record{}, fmt.Errorf("%w: more than %d header lines", ErrFormat, maxHeaderLines)
		}
		l, err := line()
		if err != nil {
			return Record{}, fmt.Errorf("%w: truncated header", ErrFormat)
		}
		if l == "" {
			break
		}
		name, value, ok := strings.Cut(l, ":")
		if !ok {
			return Record{}, fmt.Errorf("%w: header line without a colon", ErrFormat)
		}
		rec.Fields[http.CanonicalHeaderKey(strings.TrimSpace(name))] = strings.TrimSpace(value)
	}
	rec.Type = rec.Fields["Warc-Type"]
	n, err := strconv.ParseInt(rec.Fields["Content-Length"], 10, 64)
	if err != nil || n < 0 || n > maxBlock {
		return Record{}, fmt.Errorf("%w: Content-Length %q (at most %d)", ErrFormat, rec.Fields["Content-Length"], maxBlock)
	}
	// Read, not allocated up front: the length is the record's word, and
	// a forged one would cost maxBlock for a few bytes of input.
	rec.Block, err = io.ReadAll(io.LimitReader(br, n))
	if err != nil || int64(len(rec.Block)) != n {
		return Record{}, fmt.Errorf("%w: block shorter than its Content-Length", ErrFormat)
	}
	var end [4]byte
	if _, err := io.ReadFull(br, end[:]); err != nil || string(end[:]) != "\r\n\r\n" {
		return Record{}, fmt.Errorf("%w: no end-of-record marker", ErrFormat)
	}
	if d := rec.Fields["Warc-Block-Digest"]; d != "" && d != digest(rec.Block) {
		return Record{}, fmt.Errorf("%w: block digest does not match", ErrFormat)
	}
	rec.Payload = rec.Block
	if rec.Type == response {
		i := bytes.Index(rec.Block, []byte("\r\n\r\n"))
		if i < 0 {
			return Record{}, fmt.Errorf("%w: response record without an HTTP head", ErrFormat)
		}
		rec.Payload = rec.Block[i+4:]
	}
	return rec, nil
}
