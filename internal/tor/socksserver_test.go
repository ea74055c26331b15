package tor

import (
	"sync"
	"testing"

	"github.com/leakwatch/leakwatch/internal/tor/sockstest"
)

// newFakeSOCKS starts a SOCKS5 server on loopback that records every
// CONNECT, and splices it to backend (reply 0) or answers with reply.
func newFakeSOCKS(t *testing.T, backend string, reply byte) *sockstest.Server {
	return sockstest.New(t, backend, reply)
}

// countingServer is an HTTP canary: any request it sees is a leak.
type countingServer struct {
	mu sync.Mutex
	n  int
}

func (s *countingServer) hit() {
	s.mu.Lock()
	s.n++
	s.mu.Unlock()
}

func (s *countingServer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}
