package privnet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/proxy"
)

// DefaultOnionTimeout bounds ServeOnion when ctx has no deadline. The doc
// measured 4–5 s from starting the service to the first fetch.
const DefaultOnionTimeout = 2 * time.Minute

// ServeOnion publishes h as a v3 onion service on port 80: an http.Server
// on 127.0.0.1 behind a HiddenServiceDir tor. It returns once the service is
// reachable through the network's client (a SOCKS CONNECT to it succeeds,
// which needs the descriptor, an introduction and a rendezvous; no HTTP
// request is sent to h). The n-th call after Start reuses the n-th service's
// keys, so onion addresses survive warm restarts. closeFn stops the tor and
// the server; Stop does too.
func (n *Network) ServeOnion(ctx context.Context, h http.Handler) (onionHost string, closeFn func() error, err error) {
	n.mu.Lock()
	if n.stopped || n.SOCKSAddr == "" {
		n.mu.Unlock()
		return "", nil, errors.New("privnet: network not running")
	}
	idx := n.nextOnion
	n.nextOnion++
	n.mu.Unlock()
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultOnionTimeout)
		defer cancel()
	}
	t0 := time.Now()
	nick := fmt.Sprintf("hs%d", idx)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("privnet: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second}
	go srv.Serve(ln)

	var p *proc
	closeFn = sync.OnceValue(func() error {
		if p != nil {
			p.stop(n.opts.logger)
		}
		n.mu.Lock()
		delete(n.onions, idx)
		n.mu.Unlock()
		return srv.Close()
	})
	fail := func(err error) (string, func() error, error) {
		closeFn()
		return "", nil, err
	}

	if err := os.MkdirAll(filepath.Join(n.Dir, nick), 0o700); err != nil {
		return fail(fmt.Errorf("privnet: %w", err))
	}
	torrc := filepath.Join(n.Dir, nick+".torrc")
	if err := writeTorrc(torrc, n.torrc.onion(nick, ln.Addr().(*net.TCPAddr).Port)); err != nil {
		return fail(err)
	}
	if p, err = n.spawn(nick, torrc); err != nil {
		return fail(err)
	}
	n.mu.Lock()
	if n.stopped {
		n.mu.Unlock()
		return fail(errors.New("privnet: network stopped"))
	}
	n.onions[idx] = &onion{proc: p, close: closeFn}
	n.mu.Unlock()

	host, err := waitHostname(ctx, p)
	if err != nil {
		return fail(err)
	}
	if err := n.waitReachable(ctx, host, p); err != nil {
		return fail(err)
	}
	n.opts.logger.Info("privnet: onion reachable", "host", host, "elapsed", time.Since(t0))
	return host, closeFn, nil
}

// onion is a running onion service.
type onion struct {
	proc  *proc
	close func() error
}

func waitHostname(ctx context.Context, p *proc) (string, error) {
	path := filepath.Join(p.dir, "hs", "hostname")
	for {
		if b, err := os.ReadFile(path); err == nil {
			if h := strings.TrimSpace(string(b)); strings.HasSuffix(h, ".onion") {
				return h, nil
			}
		}
		if err := p.exited(); err != nil {
			return "", err
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return "", fmt.Errorf("privnet: %s hostname: %w%s", p.nick, err, p.diagnostics())
		}
	}
}

// waitReachable retries a SOCKS CONNECT to host:80 through the client tor
// once a second, as the doc's recipe does, until it succeeds.
func (n *Network) waitReachable(ctx context.Context, host string, p *proc) error {
	d, err := proxy.SOCKS5("tcp", n.SOCKSAddr, &proxy.Auth{User: "privnet-probe", Password: host}, proxy.Direct)
	if err != nil {
		return fmt.Errorf("privnet: %w", err)
	}
	cd := d.(proxy.ContextDialer)
	var last error
	for {
		actx, cancel := context.WithTimeout(ctx, 15*time.Second)
		conn, err := cd.DialContext(actx, "tcp", host+":80")
		cancel()
		if err == nil {
			conn.Close()
			return nil
		}
		last = err
		if err := p.exited(); err != nil {
			return err
		}
		if err := sleep(ctx, time.Second); err != nil {
			return fmt.Errorf("privnet: onion %s not reachable (last error: %v): %w%s", host, last, err, p.diagnostics())
		}
	}
}
