package privnet

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// stopTimeout is how long a tor gets to exit after SIGTERM before SIGKILL.
// With ShutdownWaitLength 0 they usually exit in well under a second; an
// authority caught mid-vote sometimes does not, and a throw-away test
// network is not worth waiting for.
const stopTimeout = 5 * time.Second

// proc is one tor process we started and therefore may signal, by PID.
type proc struct {
	nick    string
	dir     string // its DataDirectory, for notice.log
	cmd     *exec.Cmd
	out     *capBuffer
	done    chan struct{}
	waitErr error
}

func (n *Network) spawn(nick, torrc string, extra ...string) (*proc, error) {
	out := &capBuffer{max: 16 << 10}
	// A stale file from a previous run would point at a dead port.
	os.Remove(filepath.Join(n.Dir, nick, "control-port"))
	cmd := exec.Command(n.opts.torPath, append([]string{"-f", torrc}, extra...)...)
	cmd.Env = torEnv()
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Dir = n.Dir
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("privnet: starting %s: %w", nick, err)
	}
	p := &proc{nick: nick, dir: filepath.Join(n.Dir, nick), cmd: cmd, out: out, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	n.opts.logger.Debug("started tor", "nick", nick, "pid", cmd.Process.Pid)
	return p, nil
}

// exited returns a description if the process has exited, or "".
func (p *proc) exited() error {
	select {
	case <-p.done:
		return fmt.Errorf("privnet: %s (pid %d) exited: %v%s", p.nick, p.cmd.Process.Pid, p.waitErr, p.diagnostics())
	default:
		return nil
	}
}

// diagnostics returns what tor printed plus the end of its notice log.
func (p *proc) diagnostics() string {
	var b strings.Builder
	if s := strings.TrimSpace(p.out.String()); s != "" {
		fmt.Fprintf(&b, "\n%s output:\n%s", p.nick, s)
	}
	if log, err := os.ReadFile(filepath.Join(p.dir, "notice.log")); err == nil {
		lines := strings.Split(strings.TrimSpace(string(log)), "\n")
		if len(lines) > 15 {
			lines = lines[len(lines)-15:]
		}
		fmt.Fprintf(&b, "\n%s notice.log (end):\n%s", p.nick, strings.Join(lines, "\n"))
	}
	return b.String()
}

// stop sends SIGTERM and waits. A tor that is still there after
// stopTimeout gets SIGKILL (same PID): a test network has no state worth a
// hung Stop. That is logged with tor's last words, not returned, because it
// is a tor quirk (seen twice in a few dozen stops under heavy load), not a
// failure of the caller's test.
func (p *proc) stop(logger *slog.Logger) {
	select {
	case <-p.done:
		return
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		<-p.done // already exiting
		return
	}
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		logger.Info("privnet: tor ignored SIGTERM; killing it", "nick", p.nick, "pid", p.cmd.Process.Pid, "after", stopTimeout)
		logger.Debug("privnet: tor's last words", "nick", p.nick, "diagnostics", p.diagnostics())
		p.cmd.Process.Kill()
		<-p.done
	}
}

// capBuffer keeps the first max bytes written to it.
type capBuffer struct {
	mu  sync.Mutex
	max int
	buf bytes.Buffer
}

func (c *capBuffer) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if room := c.max - c.buf.Len(); room > 0 {
		c.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (c *capBuffer) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}
