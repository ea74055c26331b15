package evidence

import (
	"bytes"
	"net/http"
	"testing"
	"time"
)

// FuzzReadRecords feeds arbitrary bytes to the WARC reader: it must
// return records or an error, within its bounds, never panic.
func FuzzReadRecords(f *testing.F) {
	var b bytes.Buffer
	info := infoRecord(time.Unix(0, 0), "x.warc.age", 1)
	rec, _ := itemRecord(Item{Kind: KindFile, URL: "http://dump.test/a.png", Status: 200, Header: http.Header{"A": {"b"}}}, []byte("body"), "<urn:uuid:x>")
	_ = info.write(&b)
	_ = rec.write(&b)
	f.Add(b.Bytes())
	f.Add([]byte("WARC/1.1\r\nContent-Length: 99999999999\r\n\r\n"))
	f.Add([]byte("WARC/1.1\r\nWARC-Type: response\r\nContent-Length: 3\r\n\r\nabc\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, _ := readRecords(bytes.NewReader(data), 1<<16)
		for _, r := range recs {
			if len(r.Block) > 1<<16 || len(r.Payload) > len(r.Block) {
				t.Fatalf("record past its bounds: %d", len(r.Block))
			}
		}
	})
}

// FuzzManifest feeds arbitrary manifest text to the parser: entries it
// accepts never name a file outside the folder.
func FuzzManifest(f *testing.F) {
	f.Add([]byte(`{"id":"ev_0011","file":"ev_0011.warc.age","kind":"file","url":"http://x/"}` + "\n"))
	f.Add([]byte(`{"id":"..","file":"...warc.age"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, _ := parseManifest(bytes.NewReader(data))
		for _, e := range entries {
			if bytes.ContainsAny([]byte(e.File), `/\`) || e.File == ".."+Suffix {
				t.Fatalf("entry names a path: %q", e.File)
			}
		}
	})
}
