package tor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cretz/bine/control"
	"github.com/cretz/bine/process"
	bine "github.com/cretz/bine/tor"
)

// managedTor is a tor process started by bine that we own.
type managedTor struct {
	t *bine.Tor
}

// startManaged starts tor on the user's torrc with the network disabled,
// then enables the network and waits for bootstrap. The extra arguments pin
// the SocksPort to loopback with ExtendedErrors (so onion failures get
// precise SOCKS codes) and make tor exit if we die without closing it.
func startManaged(ctx context.Context, cfg Config) (*managedTor, *controlConn, string, error) {
	if cfg.TorrcFile == "" {
		return nil, nil, "", errors.New("tor: managed mode needs a torrc (Config.TorrcFile): leakwatch never starts tor with a default configuration, so say which network to join")
	}
	torrc, err := filepath.Abs(cfg.TorrcFile)
	if err != nil {
		return nil, nil, "", fmt.Errorf("tor: torrc: %w", err)
	}
	if fi, err := os.Stat(torrc); err != nil {
		return nil, nil, "", fmt.Errorf("tor: torrc: %w", err)
	} else if !fi.Mode().IsRegular() {
		return nil, nil, "", fmt.Errorf("tor: torrc %s is not a regular file", torrc)
	}
	exe, err := exec.LookPath(cfg.TorPath)
	if err != nil {
		return nil, nil, "", fmt.Errorf("%w: tor executable %q not found (install the tor package, or use --tor socks5://HOST:PORT): %w", ErrTorUnavailable, cfg.TorPath, err)
	}
	dataDir := cfg.DataDir
	if dataDir == "" {
		if dataDir, err = defaultDataDir(); err != nil {
			return nil, nil, "", err
		}
	}
	if dataDir, err = filepath.Abs(dataDir); err != nil {
		return nil, nil, "", fmt.Errorf("tor: data dir: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, nil, "", fmt.Errorf("tor: data dir: %w", err)
	}

	out := newTailWriter(cfg.Logger)
	creator := process.CmdCreatorFunc(func(pctx context.Context, args ...string) (*exec.Cmd, error) {
		cmd := exec.CommandContext(pctx, exe, args...)
		cmd.Env = append(os.Environ(), "MALLOC_ARENA_MAX=1")
		cmd.Stdout, cmd.Stderr = out, out // never our stdout: it carries data
		return cmd, nil
	})
	cfg.Logger.Info("starting managed tor", slog.String("tor", exe), slog.String("torrc", torrc), slog.String("data_dir", dataDir))
	// The process must outlive ctx (bine kills tor when its ctx ends); Close
	// stops it.
	t, err := bine.Start(context.WithoutCancel(ctx), &bine.StartConf{
		ProcessCreator:  creator,
		DataDir:         dataDir,
		TorrcFile:       torrc,
		NoAutoSocksPort: true,
		ExtraArgs: []string{
			"--SocksPort", "127.0.0.1:auto ExtendedErrors",
			"--__OwningControllerProcess", strconv.Itoa(os.Getpid()),
		},
	})
	if err != nil {
		return nil, nil, "", fmt.Errorf("%w: starting tor: %w%s", ErrTorUnavailable, err, out.context())
	}
	m := &managedTor{t: t}
	var cc *controlConn
	fail := func(err error) (*managedTor, *controlConn, string, error) {
		m.close(cc)
		if cc != nil {
			cc.close()
		}
		return nil, nil, "", fmt.Errorf("%w%s", err, out.context())
	}

	if cc, err = dialControl(ctx, "127.0.0.1:"+strconv.Itoa(t.ControlPort), controlAuth{}); err != nil {
		return fail(err)
	}
	if err := cc.enableNetwork(ctx); err != nil {
		return fail(fmt.Errorf("%w: enabling the network: %w", ErrTorUnavailable, err))
	}
	if err := waitBootstrap(ctx, cc, cfg.BootstrapTimeout, cfg.Progress, cfg.Logger); err != nil {
		return fail(err)
	}
	socks, err := cc.socksAddr(ctx)
	if err != nil {
		return fail(fmt.Errorf("%w: %w", ErrTorUnavailable, err))
	}
	return m, cc, socks, nil
}

// haltTimeout is how long tor gets to exit after SIGNAL HALT.
const haltTimeout = 5 * time.Second

// close stops tor: SIGNAL HALT through cc (our deadline-bound control
// connection), then Wait; without a working control connection, or if tor
// is still there after haltTimeout, its context is cancelled, which kills
// that process. bine's own Close is not used because it gives tor only
// 300 ms.
func (m *managedTor) close(cc *controlConn) error {
	halted := false
	if cc != nil {
		ctx, cancel := context.WithTimeout(context.Background(), haltTimeout)
		halted = cc.do(ctx, func(c *control.Conn) error { return c.Signal("HALT") }) == nil
		cancel()
	}
	if !halted {
		m.t.ProcessCancelFunc() // no control over it (or it is gone): kill our process
	}
	done := make(chan struct{})
	go func() {
		_ = m.t.Process.Wait() // exit status is irrelevant: we only need it gone
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-time.After(haltTimeout):
		m.t.ProcessCancelFunc()
		<-done
		err = fmt.Errorf("tor: managed tor did not exit within %s of HALT; killed", haltTimeout)
	}
	m.t.ProcessCancelFunc() // release the context
	m.t.Control.Close()     // bine's connection; tor is gone, so this returns at once
	return err
}

// tailWriter logs tor's console output (warnings only, since bine passes
// --hush) and keeps the last lines to explain a failed start.
type tailWriter struct {
	logger *slog.Logger
	mu     sync.Mutex
	buf    []byte
	tail   []string
}

const tailLines = 8

func newTailWriter(l *slog.Logger) *tailWriter { return &tailWriter{logger: l} }

func (w *tailWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		line := strings.TrimSpace(string(w.buf[:i]))
		w.buf = w.buf[i+1:]
		if line == "" {
			continue
		}
		w.logger.Warn("tor", slog.String("line", line))
		w.tail = append(w.tail, line)
		if len(w.tail) > tailLines {
			w.tail = w.tail[1:]
		}
	}
	if len(w.buf) > 64<<10 { // a line without end: keep memory bounded
		w.buf = w.buf[:0]
	}
	return len(p), nil
}

// context returns the last output lines formatted for an error message.
func (w *tailWriter) context() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.tail) == 0 {
		return ""
	}
	return "\ntor said:\n  " + strings.Join(w.tail, "\n  ")
}
