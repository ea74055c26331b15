package tor

import (
	"strings"
	"testing"
)

func TestParseMode(t *testing.T) {
	tests := []struct {
		in       string
		wantMode Mode
		wantAddr string
		wantErr  string // substring; empty means success
	}{
		{in: "off", wantMode: ModeOff},
		{in: "OFF", wantMode: ModeOff},
		{in: " managed ", wantMode: ModeManaged},
		{in: "socks5://127.0.0.1:9050", wantMode: ModeSOCKS, wantAddr: "127.0.0.1:9050"},
		{in: "socks5h://127.0.0.1:9150", wantMode: ModeSOCKS, wantAddr: "127.0.0.1:9150"},
		{in: "SOCKS5://localhost:9050/", wantMode: ModeSOCKS, wantAddr: "localhost:9050"},
		{in: "socks5://[::1]:9050", wantMode: ModeSOCKS, wantAddr: "[::1]:9050"},
		{in: "socks5://tor-proxy:9050", wantMode: ModeSOCKS, wantAddr: "tor-proxy:9050"},
		{in: "", wantErr: "empty mode"},
		{in: "on", wantErr: "unsupported scheme"},
		{in: "socks4://127.0.0.1:9050", wantErr: "unsupported scheme"},
		{in: "http://127.0.0.1:8118", wantErr: "unsupported scheme"},
		{in: "socks5://127.0.0.1", wantErr: "HOST:PORT"},
		{in: "socks5://:9050", wantErr: "HOST:PORT"},
		{in: "socks5://127.0.0.1:0", wantErr: "invalid port"},
		{in: "socks5://127.0.0.1:70000", wantErr: "invalid port"},
		{in: "socks5://127.0.0.1:9050/path", wantErr: "no path"},
		{in: "socks5://127.0.0.1:9050?x=1", wantErr: "no path"},
		{in: "socks5://user:secret@127.0.0.1:9050", wantErr: "remove the user:password"},
		{in: "socks5:127.0.0.1:9050", wantErr: "want"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			cfg, err := ParseMode(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseMode(%q) error = %v, want containing %q", tt.in, err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Errorf("error leaks the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseMode(%q): %v", tt.in, err)
			}
			if cfg.Mode != tt.wantMode || cfg.SOCKSAddr != tt.wantAddr {
				t.Errorf("ParseMode(%q) = {%q, %q}, want {%q, %q}", tt.in, cfg.Mode, cfg.SOCKSAddr, tt.wantMode, tt.wantAddr)
			}
		})
	}
}

func TestDefaultDataDir(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", "/state")
	if got, _ := defaultDataDir(); got != "/state/leakwatch/tor" {
		t.Errorf("with XDG_STATE_HOME: %q", got)
	}
	t.Setenv("XDG_STATE_HOME", "relative") // the XDG spec says ignore it
	t.Setenv("HOME", "/home/u")
	if got, _ := defaultDataDir(); got != "/home/u/.local/state/leakwatch/tor" {
		t.Errorf("without XDG_STATE_HOME: %q", got)
	}
}
