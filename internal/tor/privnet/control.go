package privnet

import (
	"context"
	"fmt"
	"net"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cretz/bine/control"
)

// ctl is a cookie-authenticated control connection to one of our tors.
type ctl struct {
	nc net.Conn
	c  *control.Conn
}

// controlAddr waits for the ControlPortWriteToFile file ("PORT=127.0.0.1:N")
// that p's tor writes once its control listener is open.
func controlAddr(ctx context.Context, p *proc) (string, error) {
	path := filepath.Join(p.dir, "control-port")
	for {
		if b, err := os.ReadFile(path); err == nil {
			if v, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "PORT="); ok {
				return v, nil
			}
		}
		if err := p.exited(); err != nil {
			return "", err
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return "", fmt.Errorf("privnet: %s control port: %w", p.nick, err)
		}
	}
}

func dialCtl(ctx context.Context, p *proc) (*ctl, error) {
	addr, err := controlAddr(ctx, p)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("privnet: %s control port: %w", p.nick, err)
	}
	c := &ctl{nc: nc, c: control.NewConn(textproto.NewConn(nc))}
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	if err := c.c.Authenticate(""); err != nil {
		nc.Close()
		return nil, fmt.Errorf("privnet: %s control auth: %w", p.nick, err)
	}
	nc.SetDeadline(time.Time{})
	return c, nil
}

func (c *ctl) getInfo(key string) (string, error) {
	c.nc.SetDeadline(time.Now().Add(10 * time.Second))
	defer c.nc.SetDeadline(time.Time{})
	kvs, err := c.c.GetInfo(key)
	if err != nil {
		return "", err
	}
	for _, kv := range kvs {
		if kv.Key == key {
			return kv.Val, nil
		}
	}
	return "", fmt.Errorf("GETINFO %s: no value", key)
}

// bootstrapped reports whether tor says PROGRESS=100.
func (c *ctl) bootstrapped() (bool, string, error) {
	v, err := c.getInfo("status/bootstrap-phase")
	if err != nil {
		return false, "", err
	}
	return strings.Contains(v, " PROGRESS=100 "), v, nil
}

func (c *ctl) close() {
	c.nc.SetDeadline(time.Now().Add(time.Second))
	c.c.Close()
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
