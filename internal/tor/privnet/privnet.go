package privnet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofrs/flock"
)

// DefaultStartTimeout bounds Start, key generation included. A cold start
// takes 15–25 s on an idle 2-core machine; the margin is for loaded CI.
const DefaultStartTimeout = 3 * time.Minute

// votingLead is how far ahead the first voting boundary is put, so that
// every authority has uploaded its descriptor before the first vote (the
// doc measured 5 s as too short, 6 and 7 s as reliable).
const votingLead = 7

// Network is a running private Tor network. Stop it when done.
type Network struct {
	// Dir holds keys, torrcs, data directories and logs; it can be passed
	// to Start again for a warm restart.
	Dir string
	// SOCKSAddr is the client tor's SocksPort (127.0.0.1:N), with
	// ExtendedErrors and the default IsolateSOCKSAuth.
	SOCKSAddr string
	// ControlAddr and ControlCookie reach the client tor's ControlPort
	// (SAFECOOKIE authentication with that cookie file).
	ControlAddr   string
	ControlCookie string
	// DirAuthorities are the DirAuthority lines of this network.
	DirAuthorities []string
	// Warm reports whether Start reused existing keys.
	Warm bool

	opts  options
	torrc torrcParams
	lock  *flock.Flock

	mu        sync.Mutex
	procs     []*proc // authorities and client, in start order
	ctls      []*ctl
	onions    map[int]*onion
	nextOnion int
	stopped   bool
}

type options struct {
	logger      *slog.Logger
	timeout     time.Duration
	torPath     string
	gencertPath string
}

// Option configures Start.
type Option func(*options)

// WithLogger sets the logger for progress and diagnostics.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithStartTimeout overrides [DefaultStartTimeout].
func WithStartTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithBinaries sets the tor and tor-gencert executables (default: from PATH).
func WithBinaries(tor, gencert string) Option {
	return func(o *options) { o.torPath, o.gencertPath = tor, gencert }
}

// Available reports whether tor and tor-gencert are installed, so tests can
// skip when they are not.
func Available() error {
	var errs []error
	for _, bin := range []string{"tor", "tor-gencert"} {
		if _, err := exec.LookPath(bin); err != nil {
			errs = append(errs, fmt.Errorf("privnet: %s not found (apt-get install tor): %w", bin, err))
		}
	}
	return errors.Join(errs...)
}

// Start brings up the network in dir (created if needed; it should be
// dedicated to the network). If dir already holds keys from an earlier Start
// whose ports are free, they are reused (a warm restart, about 4 s);
// otherwise keys are generated afresh. Start returns once the client tor has
// bootstrapped on a complete consensus, so onion services and clients
// started afterwards come up quickly.
//
// The processes are not bound to ctx: ctx only bounds the start-up.
func Start(ctx context.Context, dir string, opts ...Option) (*Network, error) {
	o := options{timeout: DefaultStartTimeout, torPath: "tor", gencertPath: "tor-gencert"}
	for _, opt := range opts {
		opt(&o)
	}
	if o.logger == nil {
		o.logger = slog.New(slog.DiscardHandler)
	}
	var err error
	if o.torPath, err = exec.LookPath(o.torPath); err != nil {
		return nil, fmt.Errorf("privnet: tor: %w", err)
	}
	if o.gencertPath, err = exec.LookPath(o.gencertPath); err != nil {
		return nil, fmt.Errorf("privnet: tor-gencert: %w", err)
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return nil, fmt.Errorf("privnet: %w", err)
	}
	// torrc values are unquoted, so the path must not need quoting.
	if strings.ContainsAny(dir, " \t\n\"'#\\") {
		return nil, fmt.Errorf("privnet: directory %q must not contain spaces, quotes, '#' or '\\'", dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("privnet: %w", err)
	}
	lock := flock.New(filepath.Join(dir, ".lock"))
	if ok, err := lock.TryLock(); err != nil || !ok {
		return nil, fmt.Errorf("privnet: %s is in use by another network (lock: %v)", dir, err)
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	for attempt := 1; ; attempt++ {
		n := &Network{Dir: dir, opts: o, lock: lock, onions: map[int]*onion{}}
		err := n.start(ctx)
		if err == nil {
			return n, nil
		}
		n.halt()
		// The ports are picked free, then released for tor to bind: another
		// process (a parallel test, another network) can take one in
		// between. Tor then exits at once; new ports (new keys) fix it.
		if attempt == startAttempts || ctx.Err() != nil || !portTaken(err) {
			return nil, errors.Join(err, lock.Unlock())
		}
		o.logger.Warn("privnet: a port was taken before tor bound it; retrying with new ports", "attempt", attempt, "err", err)
		if err := wipe(dir); err != nil {
			return nil, errors.Join(fmt.Errorf("privnet: clearing %s: %w", dir, err), lock.Unlock())
		}
	}
}

// startAttempts bounds the retries after a port was taken.
const startAttempts = 3

// portTaken reports whether a start failed because tor could not bind a
// port it was given. Tor is a separate process; its log line is all there
// is to go on.
func portTaken(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "Failed to bind one of the listener ports") || strings.Contains(msg, "Address already in use")
}

func (n *Network) newParams(auths []authority) torrcParams {
	return torrcParams{dir: n.Dir, pid: os.Getpid(), auths: auths}
}

func (n *Network) start(ctx context.Context) error {
	t0 := time.Now()
	log := n.opts.logger
	st, why := loadWarmState(n.Dir)
	if st != nil {
		n.Warm = true
		log.Info("privnet: warm restart", "dir", n.Dir)
	} else {
		log.Info("privnet: generating keys", "dir", n.Dir, "reason", why)
		if err := wipe(n.Dir); err != nil {
			return fmt.Errorf("privnet: clearing %s: %w", n.Dir, err)
		}
		var err error
		if st, err = n.generate(ctx); err != nil {
			return err
		}
		log.Info("privnet: keys ready", "elapsed", time.Since(t0))
	}
	n.torrc = n.newParams(st.Authorities)
	for _, a := range st.Authorities {
		n.DirAuthorities = append(n.DirAuthorities, a.dirAuthorityLine())
	}
	if err := n.writeTorrcs(st); err != nil {
		return err
	}

	// 1. Authorities, with the first vote votingLead seconds away.
	t1 := time.Now()
	offset := strconv.FormatInt((time.Now().Unix()+1+votingLead)%10, 10)
	var auths []*proc
	for _, a := range st.Authorities {
		p, err := n.spawn(a.Nick, filepath.Join(n.Dir, a.Nick+".torrc"), "TestingV3AuthVotingStartOffset", offset)
		if err != nil {
			return err
		}
		n.addProc(p)
		auths = append(auths, p)
	}
	// 2. A consensus that lists every relay.
	if err := n.waitConsensus(ctx, st.Authorities, auths); err != nil {
		return err
	}
	log.Info("privnet: complete consensus", "elapsed", time.Since(t1))
	// 3. Every authority's own client side bootstrapped.
	for _, p := range auths {
		c, err := dialCtl(ctx, p)
		if err != nil {
			return err
		}
		n.addCtl(c)
		if err := waitBootstrapped(ctx, c, p); err != nil {
			return err
		}
	}
	log.Info("privnet: authorities bootstrapped", "elapsed", time.Since(t1))
	// 4. The client.
	client, err := n.spawn("client0", filepath.Join(n.Dir, "client0.torrc"))
	if err != nil {
		return err
	}
	n.addProc(client)
	c, err := dialCtl(ctx, client)
	if err != nil {
		return err
	}
	n.addCtl(c)
	if err := waitBootstrapped(ctx, c, client); err != nil {
		return err
	}
	socks, err := c.getInfo("net/listeners/socks")
	if err != nil {
		return fmt.Errorf("privnet: client0 SOCKS listener: %w", err)
	}
	n.SOCKSAddr = strings.Trim(strings.Fields(socks + " ")[0], `"`)
	n.ControlAddr = c.nc.RemoteAddr().String()
	n.ControlCookie = filepath.Join(client.dir, "control_auth_cookie")
	log.Info("privnet: client bootstrapped", "socks", n.SOCKSAddr, "elapsed", time.Since(t1), "total", time.Since(t0))
	return nil
}

// writeTorrcs writes the authorities' and the client's torrcs and the
// resolver file the authorities' exit side points at.
func (n *Network) writeTorrcs(st *state) error {
	if err := os.WriteFile(filepath.Join(n.Dir, "resolv.conf"), []byte("nameserver 127.0.0.1\n"), 0o600); err != nil {
		return fmt.Errorf("privnet: %w", err)
	}
	for _, a := range st.Authorities {
		if err := writeTorrc(filepath.Join(n.Dir, a.Nick+".torrc"), n.torrc.authority(a)); err != nil {
			return err
		}
	}
	return writeTorrc(filepath.Join(n.Dir, "client0.torrc"), n.torrc.client("client0"))
}

func (n *Network) addProc(p *proc) {
	n.mu.Lock()
	n.procs = append(n.procs, p)
	n.mu.Unlock()
}

func (n *Network) addCtl(c *ctl) {
	n.mu.Lock()
	n.ctls = append(n.ctls, c)
	n.mu.Unlock()
}

// waitConsensus polls the authorities' DirPorts until one serves a
// consensus with an "r " line for every relay. A client started on a partial
// consensus picks guards from too few relays and can stall for minutes.
func (n *Network) waitConsensus(ctx context.Context, auths []authority, procs []*proc) error {
	// DisableCompression: asked for gzip, tor answers with deflate, which
	// net/http does not decode.
	hc := &http.Client{Transport: &http.Transport{Proxy: nil, DisableCompression: true}, Timeout: 2 * time.Second}
	defer hc.CloseIdleConnections()
	best := 0
	for {
		// In parallel: an authority busy loading its cached state can take
		// seconds to answer, and must not hold up the others.
		counts := make([]int, len(auths))
		var wg sync.WaitGroup
		for i, a := range auths {
			wg.Go(func() {
				got, err := countRelays(ctx, hc, a.DirPort)
				if err != nil {
					n.opts.logger.Debug("privnet: consensus poll", "authority", a.Nick, "error", err)
				}
				counts[i] = got
			})
		}
		wg.Wait()
		best = max(best, slices.Max(counts))
		if best >= len(auths) {
			return nil
		}
		for _, p := range procs {
			if err := p.exited(); err != nil {
				return err
			}
		}
		if err := sleep(ctx, 250*time.Millisecond); err != nil {
			return fmt.Errorf("privnet: waiting for a complete consensus (best so far lists %d of %d relays): %w%s",
				best, len(auths), err, procs[0].diagnostics())
		}
	}
}

// countRelays returns the number of relays in the consensus served on
// 127.0.0.1:dirPort.
func countRelays(ctx context.Context, hc *http.Client, dirPort int) (int, error) {
	url := fmt.Sprintf("http://127.0.0.1:%d/tor/status-vote/current/consensus-microdesc", dirPort)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%s: %s", url, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, err
	}
	count := 0
	for line := range strings.Lines(string(b)) {
		if strings.HasPrefix(line, "r ") {
			count++
		}
	}
	return count, nil
}

func waitBootstrapped(ctx context.Context, c *ctl, p *proc) error {
	for {
		ok, phase, err := c.bootstrapped()
		if err != nil {
			return fmt.Errorf("privnet: %s bootstrap status: %w%s", p.nick, err, p.diagnostics())
		}
		if ok {
			return nil
		}
		if err := p.exited(); err != nil {
			return err
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return fmt.Errorf("privnet: %s did not bootstrap (%s): %w%s", p.nick, phase, err, p.diagnostics())
		}
	}
}

// ClientTorrc writes to path a torrc for a client tor that leakwatch (or
// bine) starts itself and that joins this network. Its notice log goes to
// path + ".log".
func (n *Network) ClientTorrc(path string) error {
	if len(n.torrc.auths) == 0 {
		return errors.New("privnet: network not started")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("privnet: %w", err)
	}
	if strings.ContainsAny(abs, " \t\n\"'#\\") {
		return fmt.Errorf("privnet: torrc path %q must not contain spaces, quotes, '#' or '\\'", abs)
	}
	return writeTorrc(abs, n.torrc.bineClient(abs+".log"))
}

// Stop stops the onion services, the client and the authorities (SIGTERM
// to each PID we started, then Wait) and releases the directory. The
// directory is kept for a warm restart; remove it to discard the network.
func (n *Network) Stop() error {
	n.mu.Lock()
	if n.stopped {
		n.mu.Unlock()
		return nil
	}
	n.stopped = true
	n.mu.Unlock()
	return errors.Join(n.halt(), n.lock.Unlock())
}

// halt closes the onion services and control connections and stops every
// tor process, keeping the directory lock.
func (n *Network) halt() error {
	n.mu.Lock()
	onions := n.onions
	n.onions = nil
	procs, ctls := n.procs, n.ctls
	n.mu.Unlock()

	var errs []error
	for _, o := range onions {
		errs = append(errs, o.close())
	}
	for _, c := range ctls {
		c.close()
	}
	// All at once: each tor exits within a second of SIGTERM.
	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Go(func() { p.stop(n.opts.logger) })
	}
	wg.Wait()
	return errors.Join(errs...)
}
