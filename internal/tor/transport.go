package tor

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Timeouts. Tor adds several round trips through relays on every new
// connection, and onion services add descriptor fetches and a rendezvous, so
// the Tor transports wait longer than the direct one.
const (
	torDialTimeout      = 60 * time.Second
	torTLSTimeout       = 60 * time.Second
	torHeaderTimeout    = 90 * time.Second
	directDialTimeout   = 30 * time.Second
	directTLSTimeout    = 15 * time.Second
	directHeaderTimeout = 30 * time.Second
	maxHeaderBytes      = 1 << 20
)

// newTorTransport returns a transport whose only dialer is d. Proxy is nil
// on purpose: the environment must not be able to route around Tor. TLS
// connections are dialed through the same DialContext (DialTLSContext stays
// nil, so http.Transport layers TLS on top of the SOCKS connection).
func newTorTransport(d *socksDialer) *http.Transport {
	return &http.Transport{
		Proxy:                  nil,
		DialContext:            d.DialContext,
		ForceAttemptHTTP2:      true,
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:    torTLSTimeout,
		ResponseHeaderTimeout:  torHeaderTimeout,
		ExpectContinueTimeout:  time.Second,
		IdleConnTimeout:        90 * time.Second,
		MaxIdleConns:           64,
		MaxIdleConnsPerHost:    4,
		MaxResponseHeaderBytes: maxHeaderBytes,
	}
}

// newDirectTransport is the off-mode transport: no proxy from the
// environment either (a stray HTTPS_PROXY should not silently see every
// fetch), bounded timeouts, and a dialer that refuses .onion before any DNS
// lookup could leak it.
func newDirectTransport() *http.Transport {
	d := &net.Dialer{Timeout: directDialTimeout, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if host, _, err := net.SplitHostPort(addr); err == nil && isOnion(host) {
				return nil, fmt.Errorf("%w: %s", ErrOnionWithoutTor, host)
			}
			return d.DialContext(ctx, network, addr)
		},
		ForceAttemptHTTP2:      true,
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:    directTLSTimeout,
		ResponseHeaderTimeout:  directHeaderTimeout,
		ExpectContinueTimeout:  time.Second,
		IdleConnTimeout:        90 * time.Second,
		MaxIdleConns:           64,
		MaxIdleConnsPerHost:    4,
		MaxResponseHeaderBytes: maxHeaderBytes,
	}
}

// guard checks each request before it reaches the underlying transport.
type guard struct {
	mode Mode
	next *http.Transport
}

func (g *guard) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := checkRequest(g.mode, req); err != nil {
		if req.Body != nil {
			req.Body.Close() // RoundTrip must close the body, even on error
		}
		return nil, err
	}
	return g.next.RoundTrip(req)
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the pool.
func (g *guard) CloseIdleConnections() { g.next.CloseIdleConnections() }

func checkRequest(mode Mode, req *http.Request) error {
	if req.URL == nil {
		return fmt.Errorf("%w: request without URL", ErrLeaveTor)
	}
	switch req.URL.Scheme {
	case "http", "https":
	default:
		if mode.IsTor() {
			return fmt.Errorf("%w: scheme %q", ErrLeaveTor, req.URL.Scheme)
		}
		return fmt.Errorf("tor: unsupported scheme %q", req.URL.Scheme)
	}
	if !mode.IsTor() && isOnion(req.URL.Hostname()) {
		return fmt.Errorf("%w: %s", ErrOnionWithoutTor, req.URL.Hostname())
	}
	return nil
}
