package tor

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"strconv"
	"strings"
	"sync"
)

// maxEpochs bounds the per-site epoch table. When it is full the table is
// cleared and a generation counter moves on, so every site gets a fresh
// circuit instead of an old one being reused.
const maxEpochs = 1 << 16

// isolation derives SOCKS credentials per site. tor's IsolateSOCKSAuth (on
// by default for every SocksPort) never shares a circuit between streams with
// different credentials, so each site gets its own circuit and one onion
// cannot correlate us with another through a shared exit or rendezvous.
type isolation struct {
	key []byte // per-Client secret: credentials say nothing across runs

	mu         sync.Mutex
	generation uint64
	epochs     map[string]uint64
}

func newIsolation() *isolation {
	key := make([]byte, 32)
	_, _ = rand.Read(key) // never fails on supported platforms
	return &isolation{key: key, epochs: make(map[string]uint64)}
}

// siteKey maps a host to the unit of isolation: the onion service address
// for *.onion (sub-domains of one service share it), else the host name.
func siteKey(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h // NewCircuit may be given a URL's host:port
	}
	h := strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if isOnion(h) {
		labels := strings.Split(h, ".")
		if len(labels) > 2 {
			h = strings.Join(labels[len(labels)-2:], ".")
		}
	}
	return h
}

// credentials returns the SOCKS username and password for host.
func (iso *isolation) credentials(host string) (user, pass string) {
	site := siteKey(host)
	iso.mu.Lock()
	gen, epoch := iso.generation, iso.epochs[site]
	iso.mu.Unlock()

	m := hmac.New(sha256.New, iso.key)
	m.Write([]byte(site))
	sum := hex.EncodeToString(m.Sum(nil)[:10])
	user = "leakwatch-" + sum + "-" + strconv.FormatUint(gen, 10) + "." + strconv.FormatUint(epoch, 10)
	return user, "leakwatch"
}

// rotate moves host's site to a new epoch, so its next connection uses new
// credentials and therefore a new circuit.
func (iso *isolation) rotate(host string) {
	site := siteKey(host)
	iso.mu.Lock()
	defer iso.mu.Unlock()
	if _, ok := iso.epochs[site]; !ok && len(iso.epochs) >= maxEpochs {
		clear(iso.epochs)
		iso.generation++
	}
	iso.epochs[site]++
}

// isOnion reports whether host is in the .onion special-use domain.
func isOnion(host string) bool {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	return h == "onion" || strings.HasSuffix(h, ".onion")
}
