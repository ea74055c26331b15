package tor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"time"
)

const (
	// proxyDialTimeout bounds the TCP connect to the SOCKS port itself, which
	// is normally local: a slow answer means tor is wedged, not the network.
	proxyDialTimeout = 10 * time.Second
	// probeTimeout bounds the SOCKS greeting used by Start and Check.
	probeTimeout = 5 * time.Second
)

// socksDialer is the only way the Tor transports open connections: it dials
// the SOCKS proxy and asks it to CONNECT, naming the destination as a domain
// name so tor, not us, resolves it.
type socksDialer struct {
	proxyAddr string
	timeout   time.Duration // whole dial: TCP to proxy + SOCKS handshake
	iso       *isolation
	dial      func(ctx context.Context, network, addr string) (net.Conn, error)
}

func newSOCKSDialer(proxyAddr string, iso *isolation, timeout time.Duration) *socksDialer {
	d := &net.Dialer{Timeout: proxyDialTimeout, KeepAlive: 30 * time.Second}
	return &socksDialer{proxyAddr: proxyAddr, timeout: timeout, iso: iso, dial: d.DialContext}
}

// DialContext connects to addr (host:port) through the SOCKS proxy.
func (d *socksDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return nil, fmt.Errorf("%w: network %q cannot be carried by Tor", ErrLeaveTor, network)
	}
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("tor: dial %q: %w", addr, err)
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil || port == 0 {
		return nil, fmt.Errorf("tor: dial %q: invalid port", addr)
	}
	if d.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.timeout)
		defer cancel()
	}

	conn, err := d.dial(ctx, "tcp", d.proxyAddr)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
			return nil, fmt.Errorf("tor: dial SOCKS proxy %s: %w", d.proxyAddr, err)
		}
		return nil, fmt.Errorf("%w: cannot reach tor's SOCKS port %s: %w", ErrTorUnavailable, d.proxyAddr, err)
	}
	user, pass := d.iso.credentials(host)
	if err := withDeadline(ctx, conn, func() error {
		return socksConnect(conn, user, pass, host, uint16(port))
	}); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// withDeadline runs fn with conn's deadline tied to ctx, so a stalled proxy
// or a cancelled request cannot block the handshake forever.
func withDeadline(ctx context.Context, conn net.Conn, fn func() error) error {
	// Only through AfterFunc, not conn.SetDeadline(ctx's deadline): the
	// I/O error must come after ctx.Err() is set, so it is reported as such.
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		conn.SetDeadline(time.Unix(1, 0))
		close(fired)
	})
	err := fn()
	if !stop() {
		<-fired // so the reset below cannot be overtaken
	}
	if _, isReply := errors.AsType[*SOCKSError](err); err != nil && !isReply && ctx.Err() != nil {
		// ctx ended during fn: report that, with the I/O error it caused as
		// text only, so a slow handshake reads as a timeout, not a dead tor.
		err = fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	conn.SetDeadline(time.Time{})
	return err
}

// socksConnect performs an RFC 1928 CONNECT with RFC 1929 username/password
// authentication on rw. Only the username/password method is offered: a
// proxy that would not take our isolation credentials is refused.
func socksConnect(rw io.ReadWriter, user, pass, host string, port uint16) error {
	req, err := connectRequest(host, port)
	if err != nil {
		return err
	}
	if len(user) == 0 || len(user) > 255 || len(pass) == 0 || len(pass) > 255 {
		return errors.New("tor: SOCKS credentials must be 1-255 bytes")
	}
	if _, err := rw.Write([]byte{5, 1, 2}); err != nil {
		return notSOCKS(err)
	}
	var buf [2]byte
	if _, err := io.ReadFull(rw, buf[:]); err != nil {
		return notSOCKS(err)
	}
	switch {
	case buf[0] != 5:
		return notSOCKS(fmt.Errorf("reply version %d", buf[0]))
	case buf[1] == 0xFF:
		return fmt.Errorf("%w: SOCKS proxy refused username/password authentication, needed for circuit isolation", ErrTorUnavailable)
	case buf[1] != 2:
		return notSOCKS(fmt.Errorf("proxy chose method %d, which was not offered", buf[1]))
	}

	auth := make([]byte, 0, 3+len(user)+len(pass))
	auth = append(auth, 1, byte(len(user)))
	auth = append(auth, user...)
	auth = append(auth, byte(len(pass)))
	auth = append(auth, pass...)
	if _, err := rw.Write(auth); err != nil {
		return notSOCKS(err)
	}
	if _, err := io.ReadFull(rw, buf[:]); err != nil {
		return notSOCKS(err)
	}
	if buf[0] != 1 || buf[1] != 0 {
		return fmt.Errorf("%w: SOCKS proxy rejected credentials (status %d)", ErrTorUnavailable, buf[1])
	}

	if _, err := rw.Write(req); err != nil {
		return fmt.Errorf("tor: SOCKS connect to %s: %w", host, err)
	}
	return readConnectReply(rw, host)
}

// connectRequest builds the CONNECT request. IP literals are sent as such;
// anything else goes as ATYP=DOMAINNAME so tor resolves it at the exit (or
// looks up the onion service), never our local resolver.
func connectRequest(host string, port uint16) ([]byte, error) {
	req := []byte{5, 1, 0}
	if ip, err := netip.ParseAddr(host); err == nil {
		if ip.Zone() != "" {
			return nil, fmt.Errorf("%w: zoned address %q", ErrLeaveTor, host)
		}
		if ip.Is4() || ip.Is4In6() {
			a := ip.Unmap().As4()
			req = append(req, 1)
			req = append(req, a[:]...)
		} else {
			a := ip.As16()
			req = append(req, 4)
			req = append(req, a[:]...)
		}
	} else {
		if len(host) == 0 || len(host) > 255 {
			return nil, fmt.Errorf("tor: SOCKS host name %q must be 1-255 bytes", host)
		}
		for i := 0; i < len(host); i++ {
			if c := host[i]; c <= ' ' || c >= 0x7F {
				return nil, fmt.Errorf("tor: SOCKS host name %q is not ASCII", host)
			}
		}
		req = append(req, 3, byte(len(host)))
		req = append(req, host...)
	}
	return append(req, byte(port>>8), byte(port)), nil
}

// readConnectReply reads the CONNECT reply, including the bound address,
// so the stream is positioned at the first byte from the destination.
func readConnectReply(r io.Reader, host string) error {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return fmt.Errorf("tor: SOCKS connect to %s: reading reply: %w", host, err)
	}
	if hdr[0] != 5 {
		return fmt.Errorf("tor: SOCKS connect to %s: reply version %d", host, hdr[0])
	}
	if hdr[1] != socksSucceeded {
		return &SOCKSError{Code: hdr[1], Host: host}
	}
	var n int
	switch hdr[3] {
	case 1:
		n = 4
	case 4:
		n = 16
	case 3:
		var l [1]byte
		if _, err := io.ReadFull(r, l[:]); err != nil {
			return fmt.Errorf("tor: SOCKS connect to %s: reading reply: %w", host, err)
		}
		n = int(l[0])
	default:
		return fmt.Errorf("tor: SOCKS connect to %s: reply address type %d", host, hdr[3])
	}
	var rest [255 + 2]byte
	if _, err := io.ReadFull(r, rest[:n+2]); err != nil {
		return fmt.Errorf("tor: SOCKS connect to %s: reading reply: %w", host, err)
	}
	return nil
}

func notSOCKS(err error) error {
	return fmt.Errorf("%w: no valid SOCKS5 answer (is this tor's SocksPort?): %w", ErrTorUnavailable, err)
}

// probeSOCKS checks that addr accepts TCP and answers a SOCKS5 greeting. It
// sends no CONNECT, so it contacts nothing beyond the proxy.
func probeSOCKS(ctx context.Context, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("%w: cannot reach tor's SOCKS port %s: %w", ErrTorUnavailable, addr, err)
	}
	defer conn.Close()
	return withDeadline(ctx, conn, func() error {
		if _, err := conn.Write([]byte{5, 2, 0, 2}); err != nil {
			return notSOCKS(err)
		}
		var buf [2]byte
		if _, err := io.ReadFull(conn, buf[:]); err != nil {
			return notSOCKS(err)
		}
		if buf[0] != 5 || (buf[1] != 0 && buf[1] != 2) {
			return notSOCKS(fmt.Errorf("unexpected greeting reply %x", buf))
		}
		return nil
	})
}
