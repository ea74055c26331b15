package privnet

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// authority is one directory authority's fixed identity and ports. Its ports
// are baked into every DirAuthority line, so they are kept across restarts.
type authority struct {
	Nick        string `json:"nick"`
	ORPort      int    `json:"or_port"`
	DirPort     int    `json:"dir_port"`
	V3Ident     string `json:"v3ident"`
	Fingerprint string `json:"fingerprint"`
}

// dirAuthorityLine is the line every node needs for authority a.
func (a authority) dirAuthorityLine() string {
	return fmt.Sprintf("DirAuthority %s orport=%d no-v2 v3ident=%s 127.0.0.1:%d %s",
		a.Nick, a.ORPort, a.V3Ident, a.DirPort, a.Fingerprint)
}

// torrcParams holds what the torrc templates need.
type torrcParams struct {
	dir   string // the network directory, absolute
	pid   int    // __OwningControllerProcess
	auths []authority
}

func (p torrcParams) nodeDir(nick string) string { return filepath.Join(p.dir, nick) }

// common is the block every node shares (chutney's common.i with the
// changes listed in the doc, section 4).
func (p torrcParams) common(nick string) []string {
	d := p.nodeDir(nick)
	lines := []string{
		"TestingTorNetwork 1",
		"UseDefaultFallbackDirs 0",
		"DataDirectory " + d,
		"Nickname " + nick,
		"PidFile " + filepath.Join(d, "pid"),
		"RunAsDaemon 0",
		"ShutdownWaitLength 0",
		"ConnLimit 60",
		"ControlPort 127.0.0.1:auto",
		"ControlPortWriteToFile " + filepath.Join(d, "control-port"),
		"CookieAuthentication 1",
		"Log notice file " + filepath.Join(d, "notice.log"),
		"SafeLogging 0",
		"LogTimeGranularity 1",
		"ProtocolWarnings 1",
		"ClientUseIPv6 0",
		"GeoIPFile /dev/null",
		"GeoIPv6File /dev/null",
		"AssumeReachable 1",
		"PathsNeededToBuildCircuits 0.67",
		"TestingDirAuthVoteExit *",
		"TestingDirAuthVoteHSDir *",
		"TestingDirAuthVoteGuard *",
		"TestingMinExitFlagThreshold 0",
		"V3AuthNIntervalsValid 2",
		"__OwningControllerProcess " + strconv.Itoa(p.pid),
	}
	for _, a := range p.auths {
		lines = append(lines, a.dirAuthorityLine())
	}
	return lines
}

func (p torrcParams) authority(a authority) string {
	lines := append(p.common(a.Nick),
		"## relay",
		"SocksPort 0",
		"Address 127.0.0.1",
		"AddressDisableIPv6 1",
		"ORPort 127.0.0.1:"+strconv.Itoa(a.ORPort),
		"DirPort 127.0.0.1:"+strconv.Itoa(a.DirPort),
		"ServerDNSDetectHijacking 0",
		"ServerDNSTestAddresses",
		"ServerDNSResolvConfFile "+filepath.Join(p.dir, "resolv.conf"),
		"ContactInfo "+a.Nick+"@test.test",
		"## loopback-only exit",
		"ExitRelay 1",
		"ExitPolicyRejectPrivate 0",
		"ExitPolicy accept 127.0.0.0/8:*",
		"ExitPolicy reject *:*",
		"## directory authority",
		"AuthoritativeDirectory 1",
		"V3AuthoritativeDirectory 1",
		"TestingV3AuthInitialVotingInterval 10",
		"TestingV3AuthInitialVoteDelay 2",
		"TestingV3AuthInitialDistDelay 2",
		"V3AuthVotingInterval 10",
		"V3AuthVoteDelay 2",
		"V3AuthDistDelay 2",
	)
	return join(lines)
}

// client is the SOCKS client. UseMicrodescriptors 0 lets it use the
// loopback-only exits for clearnet-over-Tor requests to 127.0.0.1
// (microdescriptor policy summaries leave private addresses out).
func (p torrcParams) client(nick string) string {
	return join(append(p.common(nick),
		"## client",
		"SocksPort 127.0.0.1:auto ExtendedErrors",
		"VanguardsLiteEnabled auto",
		"UseMicrodescriptors 0",
	))
}

// onion is an onion service in front of 127.0.0.1:backend.
func (p torrcParams) onion(nick string, backend int) string {
	return join(append(p.common(nick),
		"## onion service",
		"SocksPort 0",
		"VanguardsLiteEnabled auto",
		"HiddenServiceDir "+filepath.Join(p.nodeDir(nick), "hs"),
		"HiddenServiceVersion 3",
		"HiddenServicePort 80 127.0.0.1:"+strconv.Itoa(backend),
	))
}

// keygen is the throw-away torrc for `tor --list-fingerprint`: a placeholder
// authority on 127.0.0.1:1 and DisableNetwork 1, so even a mistake could not
// reach anything.
func (p torrcParams) keygen(a authority) string {
	return join([]string{
		"TestingTorNetwork 1",
		"UseDefaultFallbackDirs 0",
		"DirAuthority placeholder orport=1 no-v2 v3ident=0000000000000000000000000000000000000000 127.0.0.1:1 0000000000000000000000000000000000000000",
		"DisableNetwork 1",
		"DataDirectory " + p.nodeDir(a.Nick),
		"Nickname " + a.Nick,
		"Address 127.0.0.1",
		"ORPort 127.0.0.1:" + strconv.Itoa(a.ORPort),
		"SocksPort 0",
		"GeoIPFile /dev/null",
		"GeoIPv6File /dev/null",
		"Log err stderr",
	})
}

// bineClient is a torrc for a client tor started by bine in this process
// (see Network.ClientTorrc). bine's command line sets DataDirectory,
// ControlPort and (in leakwatch) SocksPort; the SocksPort here is only the
// safe fallback.
func (p torrcParams) bineClient(logFile string) string {
	lines := []string{
		"TestingTorNetwork 1",
		"UseDefaultFallbackDirs 0",
	}
	for _, a := range p.auths {
		lines = append(lines, a.dirAuthorityLine())
	}
	lines = append(lines,
		"SocksPort 127.0.0.1:auto",
		"ClientUseIPv6 0",
		"GeoIPFile /dev/null",
		"GeoIPv6File /dev/null",
		"VanguardsLiteEnabled auto",
		"UseMicrodescriptors 0",
		"SafeLogging 0",
		"LogTimeGranularity 1",
		"Log notice file "+logFile,
	)
	return join(lines)
}

func join(lines []string) string { return strings.Join(lines, "\n") + "\n" }

// writeTorrc writes a torrc after checking the network rule, so no code path
// can hand tor a configuration that could reach the public network.
func writeTorrc(path, conf string) error {
	if err := checkPrivate(conf); err != nil {
		return fmt.Errorf("privnet: refusing to write %s: %w", path, err)
	}
	return os.WriteFile(path, []byte(conf), 0o600)
}

func checkPrivate(conf string) error {
	var testing, noFallback, auths int
	for line := range strings.Lines(conf) {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "TestingTorNetwork":
			if len(f) == 2 && f[1] == "1" {
				testing++
			}
		case "UseDefaultFallbackDirs":
			if len(f) == 2 && f[1] == "0" {
				noFallback++
			}
		case "DirAuthority":
			if len(f) < 3 || !strings.HasPrefix(f[len(f)-2], "127.0.0.1:") {
				return fmt.Errorf("DirAuthority not on 127.0.0.1: %q", strings.TrimSpace(line))
			}
			auths++
		case "FallbackDir", "Bridge", "UseBridges", "Socks5Proxy", "HTTPSProxy", "AlternateDirAuthority":
			return fmt.Errorf("%s is not allowed in a private network", f[0])
		}
	}
	if testing != 1 || noFallback != 1 || auths == 0 {
		return errors.New("needs TestingTorNetwork 1, UseDefaultFallbackDirs 0 and DirAuthority lines")
	}
	return nil
}
