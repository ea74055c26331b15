// Package tor gives the crawler an [net/http.RoundTripper] whose only way out
// is Tor, or, when Tor is switched off, a hardened direct transport that
// refuses onion addresses.
//
// Three modes are supported (see [ParseMode]):
//
//   - "managed": leakwatch starts its own tor (through github.com/cretz/bine)
//     with a torrc the user supplies. We never start tor with a default
//     configuration: the torrc decides which network tor joins.
//   - "socks5://HOST:PORT": an existing tor's SocksPort, optionally with its
//     ControlPort for bootstrap checks and NEWNYM.
//   - "off": a direct transport for clearnet-only runs; *.onion URLs fail
//     with [ErrOnionWithoutTor] instead of leaking a DNS query for them.
//
// The Tor transports are leak-proof by construction rather than by
// convention: Proxy is nil (environment variables such as HTTP_PROXY or
// ALL_PROXY are never consulted), and the only dialer speaks SOCKS5 to the
// configured proxy address, sending the destination as a domain name so no
// local DNS resolution ever happens. Each site gets its own SOCKS
// username/password, which tor's default IsolateSOCKSAuth turns into a
// separate circuit per site; [Client.NewCircuit] rotates those credentials.
//
// SOCKS failures are mapped to [SOCKSError], including tor's extended onion
// service codes (0xF0–0xF7), and [RetryableError] tells the crawler which ones
// are worth a retry on a fresh circuit.
package tor
