package tor

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// FuzzParseBootstrapPhase: whatever a control port sends, the parser must not
// panic, and an accepted phase has a progress in 0..100.
func FuzzParseBootstrapPhase(f *testing.F) {
	f.Add(`NOTICE BOOTSTRAP PROGRESS=100 TAG=done SUMMARY="Done"`)
	f.Add(`WARN BOOTSTRAP PROGRESS=5 TAG=conn SUMMARY="Connecting to a relay" WARNING="Connection refused" REASON=CONNECTREFUSED COUNT=3 RECOMMENDATION=warn`)
	f.Add(`NOTICE BOOTSTRAP PROGRESS=10 SUMMARY="a \"b\" \\"`)
	f.Add(`NOTICE BOOTSTRAP PROGRESS=`)
	f.Add(`"`)
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parseBootstrapPhase(s)
		if err != nil {
			return
		}
		if p.Progress < 0 || p.Progress > 100 {
			t.Fatalf("accepted progress %d from %q", p.Progress, s)
		}
		if p.describe() == "" {
			t.Fatal("empty description")
		}
	})
}

// scripted is a proxy connection whose answers are fixed bytes.
type scripted struct {
	io.Reader
	io.Writer
}

// FuzzSOCKSConnect feeds arbitrary proxy answers to the client handshake. It
// must never panic or read past what a valid exchange needs, and it may only
// succeed on a well-formed exchange.
func FuzzSOCKSConnect(f *testing.F) {
	ok := []byte{5, 2, 1, 0, 5, 0, 0, 1, 127, 0, 0, 1, 0, 80}
	f.Add(ok)
	f.Add([]byte{5, 2, 1, 0, 5, 0, 0, 3, 4, 'h', 'o', 's', 't', 0, 80})
	f.Add([]byte{5, 2, 1, 0, 5, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 80})
	f.Add([]byte{5, 2, 1, 0, 5, 0xF0, 0, 1, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{5, 0xFF})
	f.Add([]byte{5, 2, 1, 1})
	f.Add([]byte("HTTP/1.0 400 Bad Request\r\n\r\n"))
	f.Add([]byte{5, 2, 1, 0, 5, 0, 0, 3, 255})
	f.Fuzz(func(t *testing.T, answer []byte) {
		r := bytes.NewReader(answer)
		err := socksConnect(scripted{r, io.Discard}, "user", "pass", "example.onion", 80)
		if err == nil {
			if len(answer) < 10 || !bytes.Equal(answer[:6], []byte{5, 2, 1, 0, 5, 0}) {
				t.Fatalf("accepted a malformed exchange % x", answer)
			}
			consumed := len(answer) - r.Len()
			if consumed > 6+4+255+2 {
				t.Fatalf("read %d bytes, more than any valid reply", consumed)
			}
			return
		}
		if len(answer) >= 8 && bytes.Equal(answer[:5], []byte{5, 2, 1, 0, 5}) && answer[5] != 0 {
			if se, ok := errors.AsType[*SOCKSError](err); !ok || se.Code != answer[5] {
				t.Fatalf("reply code 0x%02X gave %v, want SOCKSError", answer[5], err)
			}
		}
	})
}
