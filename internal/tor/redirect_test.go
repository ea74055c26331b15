package tor

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestCheckRedirect(t *testing.T) {
	const onion = "http://2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion/"
	tests := []struct {
		name    string
		mode    Mode
		from    string
		to      string
		hops    int // len(via)
		wantErr error
		errText string
		wantLog bool
	}{
		{name: "tor onion to onion", mode: ModeSOCKS, from: onion, to: onion + "next", hops: 1},
		{name: "tor onion to clearnet is followed and logged", mode: ModeSOCKS, from: onion, to: "https://example.com/", hops: 1, wantLog: true},
		{name: "managed clearnet to onion", mode: ModeManaged, from: "https://example.com/", to: onion, hops: 1},
		{name: "tor to ftp", mode: ModeSOCKS, from: onion, to: "ftp://example.com/f", hops: 1, wantErr: ErrLeaveTor},
		{name: "tor to file", mode: ModeManaged, from: onion, to: "file:///etc/passwd", hops: 1, wantErr: ErrLeaveTor},
		{name: "tor 9 hops ok", mode: ModeSOCKS, from: onion, to: onion, hops: 9},
		{name: "tor 10 hops stop", mode: ModeSOCKS, from: onion, to: onion, hops: 10, errText: "stopped after 10 redirects"},
		{name: "off clearnet to clearnet", mode: ModeOff, from: "https://a.example/", to: "https://b.example/", hops: 1},
		{name: "off clearnet to onion", mode: ModeOff, from: "https://a.example/", to: onion, hops: 1, wantErr: ErrOnionWithoutTor},
		{name: "off to gopher", mode: ModeOff, from: "https://a.example/", to: "gopher://a.example/", hops: 1, errText: "unsupported scheme"},
		{name: "off 10 hops stop", mode: ModeOff, from: "https://a.example/", to: "https://a.example/", hops: 10, errText: "stopped after 10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			check := CheckRedirect(tt.mode, slog.New(slog.NewTextHandler(&logs, nil)))
			req := &http.Request{URL: mustURL(t, tt.to)}
			via := make([]*http.Request, tt.hops)
			for i := range via {
				via[i] = &http.Request{URL: mustURL(t, tt.from)}
			}
			err := check(req, via)
			switch {
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
			case tt.errText != "":
				if err == nil || !strings.Contains(err.Error(), tt.errText) {
					t.Fatalf("err = %v, want containing %q", err, tt.errText)
				}
			case err != nil:
				t.Fatalf("err = %v, want nil", err)
			}
			if got := strings.Contains(logs.String(), "leaves the onion"); got != tt.wantLog {
				t.Errorf("logged = %v, want %v (%q)", got, tt.wantLog, logs.String())
			}
		})
	}
	if CheckRedirect(ModeOff, nil) == nil {
		t.Fatal("nil logger must be accepted")
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
