package tor

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func startSOCKSClient(t *testing.T, addr string) *Client {
	t.Helper()
	c, err := Start(t.Context(), Config{Mode: ModeSOCKS, SOCKSAddr: addr})
	if err != nil {
		t.Fatalf("Start(socks5 %s): %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func get(t *testing.T, rt http.RoundTripper, url string) (string, error) {
	t.Helper()
	hc := &http.Client{Transport: rt, Timeout: 10 * time.Second}
	resp, err := hc.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// The hostname must reach the SOCKS proxy as ATYP=DOMAINNAME, byte for
// byte. Names under .invalid and .onion cannot be resolved locally at all, so
// if anything tried, the request would fail instead of reaching the backend.
func TestTorTransportSendsHostnamesUnresolved(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "host="+r.Host)
	}))
	defer backend.Close()
	socks := newFakeSOCKS(t, backend.Listener.Addr().String(), 0)
	c := startSOCKSClient(t, socks.Addr())
	lookups := recordLookups(t)

	const onion = "2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion"
	urls := []struct {
		url, host string
		port      uint16
		atyp      byte
	}{
		{"http://" + onion + "/a", onion, 80, 3},
		{"http://never-resolved.invalid:8080/", "never-resolved.invalid", 8080, 3},
		{"http://Mixed.Case.invalid/", "Mixed.Case.invalid", 80, 3},
		{"http://127.0.0.1:9/", "127.0.0.1", 9, 1},
		{"http://[::1]:9/", "::1", 9, 4},
	}
	for _, u := range urls {
		body, err := get(t, c.Transport(), u.url)
		if err != nil {
			t.Fatalf("GET %s: %v", u.url, err)
		}
		if !strings.HasPrefix(body, "host=") {
			t.Fatalf("GET %s: body %q", u.url, body)
		}
	}
	if n := lookups.count(); n != 0 {
		t.Fatalf("%d local DNS lookups in Tor mode", n)
	}
	reqs := socks.Requests()
	if len(reqs) != len(urls) {
		t.Fatalf("SOCKS saw %d CONNECTs, want %d: %+v", len(reqs), len(urls), reqs)
	}
	users := map[string]string{}
	for i, u := range urls {
		r := reqs[i]
		if r.ATYP != u.atyp || r.Host != u.host || r.Port != u.port {
			t.Errorf("CONNECT %d = {atyp %d %s:%d}, want {atyp %d %s:%d}", i, r.ATYP, r.Host, r.Port, u.atyp, u.host, u.port)
		}
		if r.User == "" || r.Pass == "" {
			t.Errorf("CONNECT %d without isolation credentials", i)
		}
		if prev, dup := users[r.User]; dup {
			t.Errorf("hosts %s and %s share SOCKS credentials %q", prev, r.Host, r.User)
		}
		users[r.User] = r.Host
	}
}

// HTTPS uses the same dialer: the TLS handshake happens inside the SOCKS
// stream, so the proxy sees a CONNECT to port 443 by name.
func TestTorTransportTLSGoesThroughSOCKS(t *testing.T) {
	socks := newFakeSOCKS(t, "", socksHostUnreachable)
	c := startSOCKSClient(t, socks.Addr())
	_, err := get(t, c.Transport(), "https://secure.invalid/")
	var se *SOCKSError
	if !errors.As(err, &se) || se.Code != socksHostUnreachable {
		t.Fatalf("err = %v, want SOCKSError host unreachable", err)
	}
	reqs := socks.Requests()
	if len(reqs) != 1 || reqs[0].ATYP != 3 || reqs[0].Host != "secure.invalid" || reqs[0].Port != 443 {
		t.Fatalf("SOCKS saw %+v, want one CONNECT secure.invalid:443 by name", reqs)
	}
}

func TestNewCircuitRotatesCredentials(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer backend.Close()
	socks := newFakeSOCKS(t, backend.Listener.Addr().String(), 0)
	c := startSOCKSClient(t, socks.Addr())
	for _, u := range []string{"http://a.invalid/", "http://b.invalid/"} {
		if _, err := get(t, c.Transport(), u); err != nil {
			t.Fatal(err)
		}
	}
	c.NewCircuit(t.Context(), "a.invalid")
	for _, u := range []string{"http://a.invalid/", "http://b.invalid/"} {
		if _, err := get(t, c.Transport(), u); err != nil {
			t.Fatal(err)
		}
	}
	userOf := map[string][]string{}
	for _, r := range socks.Requests() {
		userOf[r.Host] = append(userOf[r.Host], r.User)
	}
	// b.invalid's second request reuses the pooled connection or redials
	// with the same credentials; a.invalid must have redialled with new ones.
	if a := userOf["a.invalid"]; len(a) != 2 || a[0] == a[1] {
		t.Errorf("a.invalid credentials %q: want two dials with different users", a)
	}
	for _, u := range userOf["b.invalid"] {
		if u != userOf["b.invalid"][0] {
			t.Errorf("b.invalid credentials changed without NewCircuit: %q", userOf["b.invalid"])
		}
	}
}

// With tor gone, a Tor-mode request fails closed: ErrTorUnavailable, and the
// destination (a canary on loopback, reachable directly) sees nothing.
func TestTorTransportFailsClosedWhenSOCKSDies(t *testing.T) {
	var canary countingServer
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { canary.hit() }))
	defer target.Close()
	socks := newFakeSOCKS(t, target.Listener.Addr().String(), 0)
	c := startSOCKSClient(t, socks.Addr())
	socks.Close() // tor dies after Start

	for _, u := range []string{target.URL + "/", "http://x.onion/", "https://example.invalid/"} {
		_, err := get(t, c.Transport(), u)
		if !errors.Is(err, ErrTorUnavailable) {
			t.Errorf("GET %s: err = %v, want ErrTorUnavailable", u, err)
		}
		if RetryableError(err) {
			t.Errorf("GET %s: a dead tor must not look retryable on a new circuit", u)
		}
	}
	if n := canary.count(); n != 0 {
		t.Fatalf("canary received %d direct requests", n)
	}
	if err := c.Check(t.Context()); !errors.Is(err, ErrTorUnavailable) {
		t.Errorf("Check = %v, want ErrTorUnavailable", err)
	}
}

// recordLookups makes the default resolver count its DNS dials instead of
// making them, for the rest of the test.
func recordLookups(t *testing.T) *countingServer {
	t.Helper()
	var n countingServer
	saved := net.DefaultResolver
	net.DefaultResolver = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		n.hit()
		return nil, errors.New("local DNS lookup attempted")
	}}
	t.Cleanup(func() { net.DefaultResolver = saved })
	return &n
}

// proxyEnvChild marks the child process of TestTransportsIgnoreProxyEnv.
const proxyEnvChild = "LEAKWATCH_TOR_TEST_PROXY_ENV"

// Proxy environment variables must not divert traffic in any mode. net/http
// reads them once per process, so the check runs in a child process that
// has them from the start; and the targets are not loopback, which net/http
// never proxies anyway.
func TestTransportsIgnoreProxyEnv(t *testing.T) {
	if os.Getenv(proxyEnvChild) == "" {
		var canary countingServer
		proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { canary.hit() }))
		defer proxy.Close()
		cmd := exec.Command(os.Args[0], "-test.run=^TestTransportsIgnoreProxyEnv$", "-test.v")
		cmd.Env = append(os.Environ(), proxyEnvChild+"=1", "NO_PROXY=", "no_proxy=")
		for _, k := range []string{"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"} {
			cmd.Env = append(cmd.Env, k+"="+proxy.URL)
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		if !strings.Contains(string(out), "--- PASS: TestTransportsIgnoreProxyEnv") {
			t.Fatalf("child did not run the check:\n%s", out)
		}
		if n := canary.count(); n != 0 {
			t.Fatalf("env proxy received %d requests", n)
		}
		return
	}
	if os.Getenv("HTTP_PROXY") == "" {
		t.Fatal("child without HTTP_PROXY")
	}
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer backend.Close()

	// Tor mode: the request must reach the SOCKS proxy, by name.
	socks := newFakeSOCKS(t, backend.Listener.Addr().String(), 0)
	c := startSOCKSClient(t, socks.Addr())
	if body, err := get(t, c.Transport(), "http://site.invalid/"); err != nil || body != "ok" {
		t.Fatalf("Tor mode GET = %q, %v", body, err)
	}
	if reqs := socks.Requests(); len(reqs) != 1 || reqs[0].Host != "site.invalid" {
		t.Fatalf("SOCKS saw %+v", reqs)
	}

	// Off mode: a direct dial to the site itself. Dials are redirected to
	// the backend so no real DNS lookup happens; an env proxy would show up
	// as a dial to the proxy's address instead.
	tr := newDirectTransport()
	var dialed []string
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		dialed = append(dialed, addr)
		var d net.Dialer
		return d.DialContext(ctx, network, backend.Listener.Addr().String())
	}
	if body, err := get(t, &guard{mode: ModeOff, next: tr}, "http://site.example/"); err != nil || body != "ok" {
		t.Fatalf("off mode GET = %q, %v", body, err)
	}
	if len(dialed) != 1 || dialed[0] != "site.example:80" {
		t.Fatalf("off mode dialed %q, want a direct dial to site.example:80", dialed)
	}
}

func TestOffModeRefusesOnion(t *testing.T) {
	c, err := Start(t.Context(), Config{Mode: ModeOff})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Mode() != ModeOff {
		t.Errorf("Mode = %q", c.Mode())
	}
	for _, u := range []string{"http://abc.onion/", "https://x.y.onion:8443/p", "http://ONION.Onion./"} {
		if _, err := get(t, c.Transport(), u); !errors.Is(err, ErrOnionWithoutTor) {
			t.Errorf("GET %s: err = %v, want ErrOnionWithoutTor", u, err)
		}
	}
	// The dialer refuses too, in case a request bypasses the guard.
	if _, err := newDirectTransport().DialContext(t.Context(), "tcp", "abc.onion:80"); !errors.Is(err, ErrOnionWithoutTor) {
		t.Errorf("direct dial of an onion: %v", err)
	}
	// Clearnet still works.
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer backend.Close()
	if body, err := get(t, c.Transport(), backend.URL); err != nil || body != "ok" {
		t.Errorf("clearnet GET = %q, %v", body, err)
	}
	if err := c.Check(t.Context()); err != nil {
		t.Errorf("Check in off mode = %v", err)
	}
}

func TestTorTransportRefusesOtherSchemes(t *testing.T) {
	socks := newFakeSOCKS(t, "", socksHostUnreachable)
	c := startSOCKSClient(t, socks.Addr())
	for _, u := range []string{"ftp://x.onion/file", "file:///etc/passwd", "ws://x.onion/"} {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		if _, err := c.Transport().RoundTrip(req); !errors.Is(err, ErrLeaveTor) {
			t.Errorf("RoundTrip(%s) = %v, want ErrLeaveTor", u, err)
		}
	}
	if len(socks.Requests()) != 0 {
		t.Errorf("refused requests reached the proxy: %+v", socks.Requests())
	}
	d := newSOCKSDialer(socks.Addr(), newIsolation(), time.Second)
	if _, err := d.DialContext(t.Context(), "udp", "x.onion:53"); !errors.Is(err, ErrLeaveTor) {
		t.Errorf("udp dial = %v, want ErrLeaveTor", err)
	}
}

func TestSOCKSReplyErrors(t *testing.T) {
	tests := []struct {
		code      byte
		msg       string
		retryable bool
	}{
		{socksGeneralFailure, "general SOCKS server failure", true},
		{socksNotAllowed, "not allowed", false},
		{socksHostUnreachable, "host unreachable", true},
		{socksConnRefused, "connection refused", false},
		{socksTTLExpired, "TTL expired", true},
		{socksOnionDescNotFound, "onion service descriptor can't be found", true},
		{socksOnionDescInvalid, "descriptor is invalid", false},
		{socksOnionIntroFailed, "introduction failed", true},
		{socksOnionRendFailed, "rendezvous failed", true},
		{socksOnionMissingAuth, "requires client authorization", false},
		{socksOnionWrongAuth, "rejected our client authorization", false},
		{socksOnionBadAddress, "invalid onion service address", false},
		{socksOnionIntroTimeout, "introduction timed out", true},
		{0x42, "unknown SOCKS reply", false},
	}
	for _, tt := range tests {
		socks := newFakeSOCKS(t, "", tt.code)
		c := startSOCKSClient(t, socks.Addr())
		_, err := get(t, c.Transport(), "http://down.onion/")
		se, ok := errors.AsType[*SOCKSError](err)
		if !ok || se.Code != tt.code || se.Host != "down.onion" {
			t.Errorf("code 0x%02X: err = %v, want SOCKSError for down.onion", tt.code, err)
			continue
		}
		if !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("code 0x%02X: %q does not say %q", tt.code, err, tt.msg)
		}
		if got := RetryableError(err); got != tt.retryable {
			t.Errorf("code 0x%02X: RetryableError = %v, want %v", tt.code, got, tt.retryable)
		}
		if errors.Is(err, ErrTorUnavailable) {
			t.Errorf("code 0x%02X: a SOCKS reply means tor works; got ErrTorUnavailable", tt.code)
		}
	}
}

func TestRetryableError(t *testing.T) {
	timeout := &net.OpError{Op: "read", Net: "tcp", Err: errTimeout{}}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"canceled", context.Canceled, false},
		{"deadline", context.DeadlineExceeded, true},
		{"net timeout", timeout, true},
		{"unexpected EOF", io.ErrUnexpectedEOF, true},
		{"tor unavailable", ErrTorUnavailable, false},
		{"leave tor", ErrLeaveTor, false},
		{"onion without tor", ErrOnionWithoutTor, false},
		{"plain", errors.New("boom"), false},
		{"wrapped socks", &net.OpError{Op: "dial", Err: &SOCKSError{Code: socksTTLExpired}}, true},
	}
	for _, tt := range tests {
		if got := RetryableError(tt.err); got != tt.want {
			t.Errorf("%s: RetryableError = %v, want %v", tt.name, got, tt.want)
		}
	}
}

type errTimeout struct{}

func (errTimeout) Error() string   { return "i/o timeout" }
func (errTimeout) Timeout() bool   { return true }
func (errTimeout) Temporary() bool { return true }

func TestStartSOCKSModeChecksProxy(t *testing.T) {
	// Nothing listening.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().String()
	ln.Close()
	_, err := Start(t.Context(), Config{Mode: ModeSOCKS, SOCKSAddr: dead})
	if !errors.Is(err, ErrTorUnavailable) || !strings.Contains(err.Error(), "is tor running") {
		t.Errorf("dead port: %v", err)
	}
	// Something that is not SOCKS on the port: it answers like an HTTP
	// server (or tor's HTTPTunnelPort) would.
	notSOCKS, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer notSOCKS.Close()
	go func() {
		for {
			c, err := notSOCKS.Accept()
			if err != nil {
				return
			}
			io.WriteString(c, "HTTP/1.0 400 Bad Request\r\n\r\n")
			c.Close()
		}
	}()
	_, err = Start(t.Context(), Config{Mode: ModeSOCKS, SOCKSAddr: notSOCKS.Addr().String()})
	if !errors.Is(err, ErrTorUnavailable) || !strings.Contains(err.Error(), "SOCKS5") {
		t.Errorf("HTTP server as proxy: %v", err)
	}
	if _, err := Start(t.Context(), Config{}); err == nil {
		t.Error("empty Mode accepted")
	}
}

// A proxy that stalls mid-handshake must not hang the request past its
// context.
func TestSOCKSHandshakeHonoursContext(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // accept and say nothing
		}
	}()
	d := newSOCKSDialer(ln.Addr().String(), newIsolation(), time.Minute)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	_, err = d.DialContext(ctx, "tcp", "slow.onion:80")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
}
