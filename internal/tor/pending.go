package tor

import (
	"errors"
	"net/http"
	"sync/atomic"
)

// ErrNotStarted is returned by a [Pending] transport used before its
// Client was bound: the request is refused rather than sent another way.
var ErrNotStarted = errors.New("tor: not started yet; request refused")

// Pending carries requests for a part of the program that is set up
// before Tor starts, such as the alert endpoints, which are checked before
// a run starts its tor. Until Bind, every request fails with
// [ErrNotStarted]; after it, every request goes through the bound
// Client's transport. The zero value is ready to use.
type Pending struct{ c atomic.Pointer[Client] }

// Bind makes p send through c from now on.
func (p *Pending) Bind(c *Client) { p.c.Store(c) }

// RoundTrip implements http.RoundTripper.
func (p *Pending) RoundTrip(req *http.Request) (*http.Response, error) {
	c := p.c.Load()
	if c == nil {
		if req.Body != nil {
			req.Body.Close() // RoundTrip must close the body, even on error
		}
		return nil, ErrNotStarted
	}
	return c.Transport().RoundTrip(req)
}
