package alerts

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"
)

func TestParseSecret(t *testing.T) {
	b64 := func(n int) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xA5}, n)) }
	tests := map[string]struct {
		in      string
		wantLen int // 0 means an error is expected
	}{
		"spec vector":          {in: vectorSecret, wantLen: 24},
		"surrounding space":    {in: "  " + vectorSecret + "\n", wantLen: 24},
		"minimum size":         {in: "whsec_" + b64(MinSecretBytes), wantLen: MinSecretBytes},
		"maximum size":         {in: "whsec_" + b64(MaxSecretBytes), wantLen: MaxSecretBytes},
		"unpadded base64":      {in: "whsec_" + strings.TrimRight(b64(32), "="), wantLen: 32},
		"empty":                {in: ""},
		"only prefix":          {in: "whsec_"},
		"no prefix":            {in: strings.TrimPrefix(vectorSecret, "whsec_")},
		"wrong prefix":         {in: "whsk_" + b64(32)},
		"too short":            {in: "whsec_" + b64(MinSecretBytes-1)},
		"too long":             {in: "whsec_" + b64(MaxSecretBytes+1)},
		"not base64":           {in: "whsec_not*base64*at*all*not*base64"},
		"url-safe alphabet":    {in: "whsec_" + strings.NewReplacer("+", "-", "/", "_").Replace(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xfb, 0xff}, 12)))},
		"padding in the midst": {in: "whsec_" + b64(16) + b64(16)},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			sec, err := ParseSecret(tc.in)
			if tc.wantLen == 0 {
				if !errors.Is(err, ErrInvalidSecret) {
					t.Fatalf("ParseSecret(%q) err = %v, want ErrInvalidSecret", tc.in, err)
				}
				if !sec.IsZero() {
					t.Fatal("failed parse returned a non-zero Secret")
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseSecret: %v", err)
			}
			if len(sec.key) != tc.wantLen {
				t.Fatalf("key length = %d, want %d", len(sec.key), tc.wantLen)
			}
		})
	}
}

func TestSecretRevealRoundTrip(t *testing.T) {
	sec := newSecret(t)
	again, err := ParseSecret(sec.Reveal())
	if err != nil {
		t.Fatalf("ParseSecret(Reveal()): %v", err)
	}
	if !bytes.Equal(sec.key, again.key) {
		t.Fatal("Reveal/ParseSecret changed the key")
	}
	if (Secret{}).Reveal() != "" {
		t.Fatal("zero Secret revealed something")
	}
}

func TestNewSecretReadError(t *testing.T) {
	if _, err := NewSecret(strings.NewReader("short")); err == nil {
		t.Fatal("NewSecret from a short reader succeeded")
	}
}

func TestSecretFromEnv(t *testing.T) {
	files := map[string][]byte{
		"/run/secret":     []byte(vectorSecret + "\n"),
		"/run/crlf":       []byte(vectorSecret + "\r\n"),
		"/run/bad":        []byte("hunter2\n"),
		"/run/huge":       bytes.Repeat([]byte("A"), 1<<20),
		"/run/no-newline": []byte(vectorSecret),
	}
	readFile := func(p string) ([]byte, error) {
		if b, ok := files[p]; ok {
			return b, nil
		}
		return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
	}
	tests := map[string]struct {
		env     map[string]string
		wantOK  bool
		wantErr error
	}{
		"unset":                {},
		"value":                {env: map[string]string{EnvSecret: vectorSecret}, wantOK: true},
		"file with newline":    {env: map[string]string{EnvSecretFile: "/run/secret"}, wantOK: true},
		"file with CRLF":       {env: map[string]string{EnvSecretFile: "/run/crlf"}, wantOK: true},
		"file without newline": {env: map[string]string{EnvSecretFile: "/run/no-newline"}, wantOK: true},
		"both set":             {env: map[string]string{EnvSecret: vectorSecret, EnvSecretFile: "/run/secret"}, wantErr: ErrInvalidSecret},
		"invalid value":        {env: map[string]string{EnvSecret: "hunter2"}, wantErr: ErrInvalidSecret},
		"invalid file":         {env: map[string]string{EnvSecretFile: "/run/bad"}, wantErr: ErrInvalidSecret},
		"huge file":            {env: map[string]string{EnvSecretFile: "/run/huge"}, wantErr: ErrInvalidSecret},
		"missing file":         {env: map[string]string{EnvSecretFile: "/run/missing"}, wantErr: fs.ErrNotExist},
	}
	want := mustSecret(t, vectorSecret)
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			sec, ok, err := SecretFromEnv(func(k string) string { return tc.env[k] }, readFile)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				if ok {
					t.Fatal("ok = true on error")
				}
				return
			}
			if err != nil {
				t.Fatalf("SecretFromEnv: %v", err)
			}
			if ok != tc.wantOK {
				t.Fatalf("ok = %v, want %v", ok, tc.wantOK)
			}
			if ok && !bytes.Equal(sec.key, want.key) {
				t.Fatal("wrong key")
			}
		})
	}
}

func TestSecretFormattingIsRedacted(t *testing.T) {
	sec := mustSecret(t, vectorSecret)
	b64 := strings.TrimPrefix(vectorSecret, "whsec_")
	hexKey := fmt.Sprintf("%x", sec.key)
	wrapped := struct{ S Secret }{sec}
	for _, out := range []string{
		sec.String(), sec.GoString(),
		fmt.Sprint(sec), fmt.Sprintf("%v|%+v|%#v|%s|%q|%x|%X|%d", sec, sec, sec, sec, sec, sec, sec, sec),
		fmt.Sprintf("%v|%+v|%#v", wrapped, wrapped, wrapped),
		fmt.Sprintf("%v", &sec),
	} {
		if strings.Contains(out, b64) || strings.Contains(out, hexKey) || strings.Contains(out, string(sec.key)) {
			t.Errorf("formatted secret leaks the key: %q", out)
		}
		if !strings.Contains(out, "whsec_****") {
			t.Errorf("formatted secret %q lacks the redacted marker", out)
		}
	}
}
