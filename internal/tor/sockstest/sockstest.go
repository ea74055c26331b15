package sockstest

import (
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"sync"
	"testing"
)

// SOCKS5 reply codes the server sends (RFC 1928 section 6).
const (
	replyHostUnreachable = 0x04
	replyConnRefused     = 0x05
)

// Request is what a Server saw for one CONNECT.
type Request struct {
	ATYP       byte
	Host       string
	Port       uint16
	User, Pass string
}

// Server is a minimal SOCKS5 server on 127.0.0.1 that records every
// CONNECT. With reply == 0 it splices the stream to backend, whatever the
// requested destination, so a request for an onion can reach an httptest
// server; otherwise it answers with that reply code.
type Server struct {
	ln      net.Listener
	backend string
	reply   byte

	mu   sync.Mutex
	reqs []Request
}

// New starts a Server that splices every CONNECT to backend (reply 0), or
// answers each with reply; it stops when the test ends.
func New(t testing.TB, backend string, reply byte) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{ln: ln, backend: backend, reply: reply}
	t.Cleanup(func() { ln.Close() })
	go s.serve()
	return s
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the server (a tor that died).
func (s *Server) Close() error { return s.ln.Close() }

// Requests returns the CONNECTs seen so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

func (s *Server) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		go s.handle(c)
	}
}

func (s *Server) handle(c net.Conn) {
	defer c.Close()
	var hdr [2]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil || hdr[0] != 5 {
		return
	}
	methods := make([]byte, hdr[1])
	if _, err := io.ReadFull(c, methods); err != nil {
		return
	}
	method := byte(0xFF)
	for _, m := range methods {
		if m == 2 {
			method = 2
		}
	}
	if method == 0xFF {
		for _, m := range methods {
			if m == 0 {
				method = 0
			}
		}
	}
	c.Write([]byte{5, method})
	var req Request
	switch method {
	case 0xFF:
		return
	case 2:
		var b [2]byte
		if _, err := io.ReadFull(c, b[:]); err != nil {
			return
		}
		u := make([]byte, b[1])
		io.ReadFull(c, u)
		var pl [1]byte
		io.ReadFull(c, pl[:])
		p := make([]byte, pl[0])
		if _, err := io.ReadFull(c, p); err != nil {
			return
		}
		req.User, req.Pass = string(u), string(p)
		c.Write([]byte{1, 0})
	}
	var rh [4]byte
	if _, err := io.ReadFull(c, rh[:]); err != nil { // a probe ends here
		return
	}
	req.ATYP = rh[3]
	switch rh[3] {
	case 1, 4:
		b := make([]byte, map[byte]int{1: 4, 4: 16}[rh[3]])
		io.ReadFull(c, b)
		a, _ := netip.AddrFromSlice(b)
		req.Host = a.String()
	case 3:
		var l [1]byte
		io.ReadFull(c, l[:])
		b := make([]byte, l[0])
		io.ReadFull(c, b)
		req.Host = string(b)
	default:
		return
	}
	var pb [2]byte
	if _, err := io.ReadFull(c, pb[:]); err != nil {
		return
	}
	req.Port = binary.BigEndian.Uint16(pb[:])
	s.mu.Lock()
	s.reqs = append(s.reqs, req)
	s.mu.Unlock()

	if s.reply != 0 || s.backend == "" {
		code := s.reply
		if code == 0 {
			code = replyHostUnreachable
		}
		c.Write([]byte{5, code, 0, 1, 0, 0, 0, 0, 0, 0})
		return
	}
	up, err := net.Dial("tcp", s.backend)
	if err != nil {
		c.Write([]byte{5, replyConnRefused, 0, 1, 0, 0, 0, 0, 0, 0})
		return
	}
	defer up.Close()
	// Reply with a domain-name bound address to exercise that parse path.
	bound := "bound.example"
	r := []byte{5, 0, 0, 3, byte(len(bound))}
	r = append(r, bound...)
	c.Write(append(r, 0x1F, 0x90))
	go io.Copy(up, c)
	io.Copy(c, up)
}
