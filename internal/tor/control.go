package tor

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/cretz/bine/control"
)

// controlTimeout bounds one control-port exchange when ctx has no deadline.
const controlTimeout = 15 * time.Second

// controlConn is a mutex-guarded tor control connection whose every call is
// bounded by a context, which bine's control.Conn alone does not offer.
type controlConn struct {
	addr string
	mu   sync.Mutex
	nc   net.Conn
	c    *control.Conn
}

// controlAuth selects how to authenticate. With neither field set, the
// method tor advertises in PROTOCOLINFO is used (NULL or SAFECOOKIE with the
// advertised cookie file).
type controlAuth struct {
	password   string
	cookieFile string
}

func dialControl(ctx context.Context, addr string, auth controlAuth) (*controlConn, error) {
	var d net.Dialer
	dctx, cancel := context.WithTimeout(ctx, controlTimeout)
	defer cancel()
	nc, err := d.DialContext(dctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%w: cannot reach tor's control port %s: %w", ErrTorUnavailable, addr, err)
	}
	cc := &controlConn{addr: addr, nc: nc, c: control.NewConn(textproto.NewConn(nc))}
	if err := cc.do(ctx, func(c *control.Conn) error { return authenticate(c, auth) }); err != nil {
		nc.Close()
		return nil, fmt.Errorf("%w: control port %s: authentication failed: %w", ErrTorUnavailable, addr, err)
	}
	return cc, nil
}

func authenticate(c *control.Conn, auth controlAuth) error {
	switch {
	case auth.password != "":
		// AUTHENTICATE takes the password as hex bytes.
		_, err := c.SendRequest("AUTHENTICATE %s", hex.EncodeToString([]byte(auth.password)))
		if err == nil {
			c.Authenticated = true
		}
		return err
	case auth.cookieFile != "":
		return safeCookie(c, auth.cookieFile)
	default:
		return c.Authenticate("")
	}
}

// safeCookie runs tor's SAFECOOKIE exchange with a cookie file we were told
// about. Unlike plain COOKIE it also proves the server knows the cookie, so a
// process squatting on the port cannot harvest it.
func safeCookie(c *control.Conn, path string) error {
	cookie, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read control cookie: %w", err)
	}
	if len(cookie) != 32 {
		return fmt.Errorf("control cookie %s: %d bytes, want 32", path, len(cookie))
	}
	clientNonce := make([]byte, 32)
	_, _ = rand.Read(clientNonce)
	resp, err := c.SendRequest("AUTHCHALLENGE SAFECOOKIE %s", hex.EncodeToString(clientNonce))
	if err != nil {
		return err
	}
	var serverHash, serverNonce []byte
	for _, f := range strings.Fields(resp.Reply) {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "SERVERHASH":
			serverHash, _ = hex.DecodeString(v)
		case "SERVERNONCE":
			serverNonce, _ = hex.DecodeString(v)
		}
	}
	if len(serverHash) != 32 || len(serverNonce) != 32 {
		return errors.New("malformed AUTHCHALLENGE reply")
	}
	mac := func(key string) []byte {
		m := hmac.New(sha256.New, []byte(key))
		m.Write(cookie)
		m.Write(clientNonce)
		m.Write(serverNonce)
		return m.Sum(nil)
	}
	if !hmac.Equal(serverHash, mac("Tor safe cookie authentication server-to-controller hash")) {
		return errors.New("control port does not know our cookie (SERVERHASH mismatch)")
	}
	if _, err := c.SendRequest("AUTHENTICATE %s", hex.EncodeToString(mac("Tor safe cookie authentication controller-to-server hash"))); err != nil {
		return err
	}
	c.Authenticated = true
	return nil
}

// do runs fn with the connection's deadline tied to ctx.
func (cc *controlConn) do(ctx context.Context, fn func(*control.Conn) error) error {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.c == nil {
		return fmt.Errorf("%w: control connection closed", ErrTorUnavailable)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, controlTimeout)
		defer cancel()
	}
	return withDeadline(ctx, cc.nc, func() error { return fn(cc.c) })
}

func (cc *controlConn) getInfo(ctx context.Context, key string) (string, error) {
	var val string
	err := cc.do(ctx, func(c *control.Conn) error {
		kvs, err := c.GetInfo(key)
		if err != nil {
			return err
		}
		for _, kv := range kvs {
			if kv.Key == key {
				val = kv.Val
				return nil
			}
		}
		return fmt.Errorf("GETINFO %s: no value", key)
	})
	return val, err
}

// bootstrap returns tor's current bootstrap phase.
func (cc *controlConn) bootstrap(ctx context.Context) (bootstrapPhase, error) {
	v, err := cc.getInfo(ctx, "status/bootstrap-phase")
	if err != nil {
		return bootstrapPhase{}, err
	}
	return parseBootstrapPhase(v)
}

// socksAddr returns the first TCP SocksPort listener.
func (cc *controlConn) socksAddr(ctx context.Context) (string, error) {
	v, err := cc.getInfo(ctx, "net/listeners/socks")
	if err != nil {
		return "", err
	}
	for _, f := range strings.Fields(v) {
		f = strings.Trim(f, `"`)
		if _, _, err := net.SplitHostPort(f); err == nil && !strings.HasPrefix(f, "unix:") {
			return f, nil
		}
	}
	return "", fmt.Errorf("tor has no TCP SOCKS listener (net/listeners/socks=%q)", v)
}

// enableNetwork clears DisableNetwork, which bine sets at start so that
// nothing happens before we are ready to watch bootstrap.
func (cc *controlConn) enableNetwork(ctx context.Context) error {
	return cc.do(ctx, func(c *control.Conn) error {
		return c.SetConf(control.KeyVals("DisableNetwork", "0")...)
	})
}

func (cc *controlConn) newNym(ctx context.Context) error {
	return cc.do(ctx, func(c *control.Conn) error { return c.Signal("NEWNYM") })
}

func (cc *controlConn) close() error {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.c == nil {
		return nil
	}
	cc.nc.SetDeadline(time.Now().Add(time.Second))
	err := cc.c.Close()
	cc.c = nil
	return err
}
