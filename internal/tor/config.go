package tor

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Mode selects how the crawler reaches the network.
type Mode string

const (
	// ModeOff uses a direct transport and refuses .onion hosts.
	ModeOff Mode = "off"
	// ModeManaged starts and owns a tor process (via bine).
	ModeManaged Mode = "managed"
	// ModeSOCKS uses an already running tor through its SOCKS5 port.
	ModeSOCKS Mode = "socks5"
)

// IsTor reports whether requests in this mode go through Tor.
func (m Mode) IsTor() bool { return m == ModeManaged || m == ModeSOCKS }

// DefaultBootstrapTimeout bounds how long Start waits for tor to reach 100 %.
const DefaultBootstrapTimeout = 3 * time.Minute

// Config describes how to reach Tor. Build it with [ParseMode] from the
// --tor flag, then fill the optional fields.
type Config struct {
	Mode Mode

	// SOCKSAddr is the tor SocksPort in socks5 mode, as HOST:PORT.
	SOCKSAddr string
	// ControlAddr is an optional tor ControlPort (socks5 mode) used for
	// bootstrap checks and NEWNYM.
	ControlAddr string
	// ControlPassword authenticates to ControlAddr (HashedControlPassword).
	ControlPassword string
	// ControlCookie is the path of tor's control_auth_cookie; by default the
	// path tor advertises in PROTOCOLINFO is used.
	ControlCookie string

	// TorPath is the tor executable for managed mode; default "tor" from PATH.
	TorPath string
	// TorrcFile is the torrc for managed mode. It is required: leakwatch
	// never starts tor with a default configuration, so the user decides
	// which Tor network (public in production, private in tests) is joined.
	TorrcFile string
	// DataDir is tor's data directory in managed mode, created with mode
	// 0700; default $XDG_STATE_HOME/leakwatch/tor.
	DataDir string

	// BootstrapTimeout bounds the wait for bootstrap; default 3m.
	BootstrapTimeout time.Duration
	// Progress, if set, receives bootstrap progress lines such as
	// "tor: bootstrapped 45% (loading relay descriptors)".
	Progress io.Writer
	// Logger receives structured events; default discards.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.BootstrapTimeout <= 0 {
		c.BootstrapTimeout = DefaultBootstrapTimeout
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.TorPath == "" {
		c.TorPath = "tor"
	}
	return c
}

// ParseMode parses the --tor flag: "off", "managed" or
// "socks5://HOST:PORT" ("socks5h://" is accepted as a synonym, since names
// are always resolved by tor).
func ParseMode(s string) (Config, error) {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case string(ModeOff):
		return Config{Mode: ModeOff}, nil
	case string(ModeManaged):
		return Config{Mode: ModeManaged}, nil
	case "":
		return Config{}, errors.New(`tor: empty mode; want "off", "managed" or "socks5://HOST:PORT"`)
	}
	u, err := url.Parse(s)
	if err != nil || u.Opaque != "" {
		return Config{}, fmt.Errorf(`tor: mode %q: want "off", "managed" or "socks5://HOST:PORT"`, s)
	}
	if sc := strings.ToLower(u.Scheme); sc != "socks5" && sc != "socks5h" {
		return Config{}, fmt.Errorf(`tor: mode %q: unsupported scheme %q; want "off", "managed" or "socks5://HOST:PORT"`, s, u.Scheme)
	}
	if u.User != nil {
		return Config{}, fmt.Errorf("tor: mode %q: remove the user:password; leakwatch derives SOCKS credentials per site for circuit isolation", redact(u))
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return Config{}, fmt.Errorf("tor: mode %q: want socks5://HOST:PORT with no path or query", s)
	}
	host, port := u.Hostname(), u.Port()
	if host == "" || port == "" {
		return Config{}, fmt.Errorf("tor: mode %q: want socks5://HOST:PORT, e.g. socks5://127.0.0.1:9050", s)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return Config{}, fmt.Errorf("tor: mode %q: invalid port %q", s, port)
	}
	return Config{Mode: ModeSOCKS, SOCKSAddr: net.JoinHostPort(host, port)}, nil
}

func redact(u *url.URL) string {
	v := *u
	v.User = nil
	return "socks5://***@" + v.Host
}

// defaultDataDir is where managed tor keeps its state between runs, so it
// does not re-download the consensus or pick new guards every time.
func defaultDataDir() (string, error) {
	base := os.Getenv("XDG_STATE_HOME")
	if base == "" || !filepath.IsAbs(base) {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("tor: no data directory configured and no home directory: %w", err)
		}
		base = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(base, "leakwatch", "tor"), nil
}
