package tor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// newnymInterval is tor's own rate limit for SIGNAL NEWNYM; sending more
// often only queues work in tor.
const newnymInterval = 10 * time.Second

// Client owns the crawler's way to the network for one run. It is safe for
// concurrent use.
type Client struct {
	mode      Mode
	logger    *slog.Logger
	socksAddr string
	iso       *isolation
	base      *http.Transport
	rt        http.RoundTripper
	ctrl      *controlConn // nil without a control port
	managed   *managedTor  // nil unless managed mode

	mu         sync.Mutex
	lastNewnym time.Time

	closeOnce sync.Once
	closeErr  error
}

// Start prepares a Client for cfg.Mode.
//
// In managed mode it starts tor through bine with cfg.TorrcFile (required),
// enables the network and waits for bootstrap, printing progress. In socks5
// mode it checks that cfg.SOCKSAddr answers as a SOCKS5 proxy and, if
// cfg.ControlAddr is set, authenticates there and waits for bootstrap. Off
// mode only builds the direct transport.
func Start(ctx context.Context, cfg Config) (*Client, error) {
	cfg = cfg.withDefaults()
	c := &Client{mode: cfg.Mode, logger: cfg.Logger}
	switch cfg.Mode {
	case ModeOff:
		c.base = newDirectTransport()
		c.rt = &guard{mode: ModeOff, next: c.base}
		return c, nil
	case ModeSOCKS:
		if cfg.SOCKSAddr == "" {
			return nil, errors.New("tor: socks5 mode needs a SOCKS address (socks5://HOST:PORT)")
		}
		if err := probeSOCKS(ctx, cfg.SOCKSAddr); err != nil {
			return nil, withHint(err, cfg.Mode, cfg.SOCKSAddr)
		}
		c.socksAddr = cfg.SOCKSAddr
		if cfg.ControlAddr != "" {
			cc, err := dialControl(ctx, cfg.ControlAddr, controlAuth{password: cfg.ControlPassword, cookieFile: cfg.ControlCookie})
			if err != nil {
				return nil, err
			}
			if err := waitBootstrap(ctx, cc, cfg.BootstrapTimeout, cfg.Progress, cfg.Logger); err != nil {
				cc.close()
				return nil, err
			}
			c.ctrl = cc
		}
	case ModeManaged:
		m, cc, socks, err := startManaged(ctx, cfg)
		if err != nil {
			return nil, err
		}
		c.managed, c.ctrl, c.socksAddr = m, cc, socks
	case "":
		return nil, errors.New("tor: Config.Mode is empty; build the Config with ParseMode")
	default:
		return nil, fmt.Errorf("tor: unknown mode %q", cfg.Mode)
	}
	c.iso = newIsolation()
	c.base = newTorTransport(newSOCKSDialer(c.socksAddr, c.iso, torDialTimeout))
	c.rt = &guard{mode: cfg.Mode, next: c.base}
	c.logger.Info("tor ready", slog.String("mode", string(cfg.Mode)), slog.String("socks", c.socksAddr),
		slog.Bool("control", c.ctrl != nil))
	return c, nil
}

// Mode returns the mode the Client was started in.
func (c *Client) Mode() Mode { return c.mode }

// Transport returns the RoundTripper every crawler request must use. In Tor
// modes it can only reach the network through tor's SOCKS port, with one
// circuit per site; in off mode it refuses .onion hosts. The same value is
// returned on every call, so connections are pooled.
func (c *Client) Transport() http.RoundTripper { return c.rt }

// NewCircuit makes the next connections to host's site use a new circuit
// (new isolation credentials), for a retry after [RetryableError]. With a
// control port it also sends NEWNYM, at most once per 10 s (tor's own
// limit), so tor stops reusing circuits it already built. Idle pooled
// connections are closed so the retry really dials again. Errors from the
// control port are logged: a retry still gets its new credentials.
func (c *Client) NewCircuit(ctx context.Context, host string) {
	if !c.mode.IsTor() {
		return
	}
	c.iso.rotate(host)
	c.base.CloseIdleConnections()
	if c.ctrl == nil {
		return
	}
	c.mu.Lock()
	due := time.Since(c.lastNewnym) >= newnymInterval
	if due {
		c.lastNewnym = time.Now()
	}
	c.mu.Unlock()
	if !due {
		return
	}
	if err := c.ctrl.newNym(ctx); err != nil {
		c.logger.Warn("tor NEWNYM failed", slog.String("host", host), slog.Any("error", err))
		return
	}
	c.logger.Debug("tor NEWNYM sent", slog.String("host", host))
}

// Check verifies that the Client can be used, for `leakwatch doctor`: the
// SOCKS port answers as SOCKS5 and, with a control port, tor is fully
// bootstrapped. Errors wrap [ErrTorUnavailable] and say what to do.
func (c *Client) Check(ctx context.Context) error {
	if !c.mode.IsTor() {
		return nil
	}
	if err := probeSOCKS(ctx, c.socksAddr); err != nil {
		return withHint(err, c.mode, c.socksAddr)
	}
	if c.ctrl == nil {
		return nil
	}
	p, err := c.ctrl.bootstrap(ctx)
	if err != nil {
		return fmt.Errorf("%w: control port %s does not answer: %w", ErrTorUnavailable, c.ctrl.addr, err)
	}
	if p.Progress < 100 {
		return fmt.Errorf("%w: tor is not fully bootstrapped: %s; wait, or check tor's log and network access", ErrTorUnavailable, p.describe())
	}
	return nil
}

// withHint adds the operator's next step to a SOCKS failure.
func withHint(err error, mode Mode, addr string) error {
	if mode == ModeManaged {
		return fmt.Errorf("%w\nhint: the managed tor process may have exited; see the tor lines in the log, or restart leakwatch", err)
	}
	return fmt.Errorf("%w\nhint: is tor running with SocksPort %s? (e.g. `systemctl status tor`; tor's default is 127.0.0.1:9050, Tor Browser uses 9150, 9051 is a ControlPort) or use --tor managed with a torrc", err, addr)
}

// Close releases idle connections, the control connection and, in managed
// mode, stops tor.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.base.CloseIdleConnections()
		var errs []error
		if c.managed != nil {
			errs = append(errs, c.managed.close(c.ctrl))
		}
		if c.ctrl != nil {
			// After a HALT tor has hung up; only a live external tor's
			// QUIT answer is worth reporting.
			if err := c.ctrl.close(); err != nil && c.managed == nil {
				errs = append(errs, fmt.Errorf("tor: closing control connection: %w", err))
			}
		}
		c.closeErr = errors.Join(errs...)
	})
	return c.closeErr
}
