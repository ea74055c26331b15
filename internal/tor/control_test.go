package tor

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeControl speaks just enough of tor's control protocol: PROTOCOLINFO,
// password and SAFECOOKIE authentication, GETINFO status/bootstrap-phase and
// SIGNAL NEWNYM.
type fakeControl struct {
	ln       net.Listener
	password string
	cookie   []byte

	mu     sync.Mutex
	phases []string // consumed one per GETINFO; the last one repeats
	newnym int
}

func newFakeControl(t *testing.T, password string, cookie []byte, phases ...string) *fakeControl {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeControl{ln: ln, password: password, cookie: cookie, phases: phases}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go f.handle(c)
		}
	}()
	return f
}

func phase(progress int, extra string) string {
	return fmt.Sprintf(`NOTICE BOOTSTRAP PROGRESS=%d TAG=t%d SUMMARY="Phase %d"%s`, progress, progress, progress, extra)
}

func (f *fakeControl) setPhases(p ...string) {
	f.mu.Lock()
	f.phases = p
	f.mu.Unlock()
}

func (f *fakeControl) newnyms() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.newnym
}

func (f *fakeControl) handle(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	authed := false
	var clientNonce, serverNonce []byte
	reply := func(s string) { c.Write([]byte(s + "\r\n")) }
	mac := func(key string) []byte {
		m := hmac.New(sha256.New, []byte(key))
		m.Write(f.cookie)
		m.Write(clientNonce)
		m.Write(serverNonce)
		return m.Sum(nil)
	}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd, arg, _ := strings.Cut(strings.TrimSpace(line), " ")
		switch {
		case cmd == "PROTOCOLINFO":
			reply("250-PROTOCOLINFO 1\r\n250-AUTH METHODS=HASHEDPASSWORD\r\n250-VERSION Tor=\"0.4.9.11\"\r\n250 OK")
		case cmd == "AUTHCHALLENGE":
			_, nonce, _ := strings.Cut(arg, " ")
			clientNonce, _ = hex.DecodeString(nonce)
			serverNonce = make([]byte, 32)
			rand.Read(serverNonce)
			reply(fmt.Sprintf("250 AUTHCHALLENGE SERVERHASH=%X SERVERNONCE=%X",
				mac("Tor safe cookie authentication server-to-controller hash"), serverNonce))
		case cmd == "AUTHENTICATE":
			got, _ := hex.DecodeString(arg)
			ok := (f.password != "" && string(got) == f.password) ||
				(f.cookie != nil && serverNonce != nil && hmac.Equal(got, mac("Tor safe cookie authentication controller-to-server hash")))
			if !ok {
				reply("515 Authentication failed: Password did not match")
				return
			}
			authed = true
			reply("250 OK")
		case cmd == "QUIT":
			reply("250 closing connection")
			return
		case !authed:
			reply("514 Authentication required.")
			return
		case cmd == "GETINFO" && arg == "status/bootstrap-phase":
			f.mu.Lock()
			p := f.phases[0]
			if len(f.phases) > 1 {
				f.phases = f.phases[1:]
			}
			f.mu.Unlock()
			reply("250-status/bootstrap-phase=" + p + "\r\n250 OK")
		case cmd == "SIGNAL" && arg == "NEWNYM":
			f.mu.Lock()
			f.newnym++
			f.mu.Unlock()
			reply("250 OK")
		default:
			reply("510 Unrecognized command")
		}
	}
}

func TestSOCKSModeWithControlPort(t *testing.T) {
	socks := newFakeSOCKS(t, "", socksHostUnreachable)
	ctrl := newFakeControl(t, "s3cret", nil, phase(0, ""), phase(50, ""), phase(100, ""))
	var progress bytes.Buffer
	c, err := Start(t.Context(), Config{
		Mode: ModeSOCKS, SOCKSAddr: socks.Addr(),
		ControlAddr: ctrl.ln.Addr().String(), ControlPassword: "s3cret",
		Progress: &progress,
	})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer c.Close()
	for _, want := range []string{"tor: bootstrapped 0% (phase 0)\n", "tor: bootstrapped 50% (phase 50)\n", "tor: bootstrapped 100% (phase 100)\n"} {
		if !strings.Contains(progress.String(), want) {
			t.Errorf("progress %q lacks %q", progress.String(), want)
		}
	}
	if err := c.Check(t.Context()); err != nil {
		t.Errorf("Check = %v", err)
	}

	c.NewCircuit(t.Context(), "a.onion")
	c.NewCircuit(t.Context(), "b.onion") // within tor's 10 s NEWNYM limit
	if n := ctrl.newnyms(); n != 1 {
		t.Errorf("NEWNYM sent %d times, want 1", n)
	}

	ctrl.setPhases(phase(45, ` WARNING="Connection refused" REASON=CONNECTREFUSED`))
	err = c.Check(t.Context())
	if !errors.Is(err, ErrTorUnavailable) || !strings.Contains(err.Error(), "45%") || !strings.Contains(err.Error(), "Connection refused") {
		t.Errorf("Check while bootstrapping = %v", err)
	}
}

func TestControlPortAuthentication(t *testing.T) {
	dir := t.TempDir()
	cookie := bytes.Repeat([]byte{7}, 32)
	cookieFile := filepath.Join(dir, "control_auth_cookie")
	os.WriteFile(cookieFile, cookie, 0o600)
	wrongFile := filepath.Join(dir, "wrong_cookie")
	os.WriteFile(wrongFile, bytes.Repeat([]byte{8}, 32), 0o600)
	shortFile := filepath.Join(dir, "short_cookie")
	os.WriteFile(shortFile, []byte("short"), 0o600)

	tests := []struct {
		name    string
		auth    controlAuth
		wantErr string
	}{
		{"password", controlAuth{password: "pw"}, ""},
		{"wrong password", controlAuth{password: "nope"}, "Authentication failed"},
		{"safecookie", controlAuth{cookieFile: cookieFile}, ""},
		{"cookie server does not know", controlAuth{cookieFile: wrongFile}, "SERVERHASH mismatch"},
		{"short cookie", controlAuth{cookieFile: shortFile}, "want 32"},
		{"missing cookie", controlAuth{cookieFile: filepath.Join(dir, "none")}, "no such file"},
	}
	srv := newFakeControl(t, "pw", cookie, phase(100, ""))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cc, err := dialControl(t.Context(), srv.ln.Addr().String(), tt.auth)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("dialControl: %v", err)
				}
				defer cc.close()
				if p, err := cc.bootstrap(t.Context()); err != nil || p.Progress != 100 {
					t.Fatalf("bootstrap after auth = %+v, %v", p, err)
				}
				return
			}
			if !errors.Is(err, ErrTorUnavailable) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want ErrTorUnavailable containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestWaitBootstrapTimesOutWithReason(t *testing.T) {
	socks := newFakeSOCKS(t, "", socksHostUnreachable)
	ctrl := newFakeControl(t, "pw", nil, phase(5, ` WARNING="Connection refused" REASON=CONNECTREFUSED`))
	start := time.Now()
	_, err := Start(t.Context(), Config{
		Mode: ModeSOCKS, SOCKSAddr: socks.Addr(),
		ControlAddr: ctrl.ln.Addr().String(), ControlPassword: "pw",
		BootstrapTimeout: 700 * time.Millisecond,
	})
	if !errors.Is(err, ErrTorUnavailable) {
		t.Fatalf("err = %v, want ErrTorUnavailable", err)
	}
	for _, want := range []string{"stuck at 5%", "Connection refused", "CONNECTREFUSED"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if time.Since(start) > 30*time.Second {
		t.Errorf("BootstrapTimeout ignored")
	}
}

func TestParseBootstrapPhase(t *testing.T) {
	tests := []struct {
		in      string
		want    bootstrapPhase
		wantErr bool
	}{
		{in: `NOTICE BOOTSTRAP PROGRESS=100 TAG=done SUMMARY="Done"`,
			want: bootstrapPhase{Severity: "NOTICE", Progress: 100, Tag: "done", Summary: "Done"}},
		{in: `NOTICE BOOTSTRAP PROGRESS=0 TAG=starting SUMMARY="Starting"`,
			want: bootstrapPhase{Severity: "NOTICE", Progress: 0, Tag: "starting", Summary: "Starting"}},
		{in: `WARN BOOTSTRAP PROGRESS=5 TAG=conn SUMMARY="Connecting to a relay" WARNING="Connection refused" REASON=CONNECTREFUSED COUNT=3 RECOMMENDATION=warn HOSTID="0000" HOSTADDR="127.0.0.1:1"`,
			want: bootstrapPhase{Severity: "WARN", Progress: 5, Tag: "conn", Summary: "Connecting to a relay", Warning: "Connection refused", Reason: "CONNECTREFUSED", Recommendation: "warn"}},
		{in: `NOTICE BOOTSTRAP PROGRESS=10 SUMMARY="a \"quoted\" \\ word"`,
			want: bootstrapPhase{Severity: "NOTICE", Progress: 10, Summary: `a "quoted" \ word`}},
		{in: `NOTICE BOOTSTRAP TAG=done`, wantErr: true},
		{in: `NOTICE BOOTSTRAP PROGRESS=101`, wantErr: true},
		{in: `NOTICE BOOTSTRAP PROGRESS=-1`, wantErr: true},
		{in: `NOTICE CIRCUIT_ESTABLISHED`, wantErr: true},
		{in: `NOTICE BOOTSTRAP PROGRESS=5 SUMMARY="open`, wantErr: true},
		{in: ``, wantErr: true},
		{in: strings.Repeat("x", maxPhaseLen+1), wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseBootstrapPhase(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("parseBootstrapPhase(%.60q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if err == nil && got != tt.want {
			t.Errorf("parseBootstrapPhase(%.60q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}
