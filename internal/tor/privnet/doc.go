// Package privnet runs a private Tor network on 127.0.0.1 for integration
// tests and demos: five directory authorities (each also a guard, HSDir and
// loopback-only exit), a client with a SocksPort, and onion services in front
// of local http.Handlers.
//
// It follows the measured recipe in docs/private-tor-network.md: keys from
// tor-gencert and tor --list-fingerprint, 10 s voting with a start offset so
// the first consensus lists every relay, and clients started only once a
// complete consensus is served and every authority has bootstrapped.
// Measured on a 2-core machine under heavy load: a cold Start takes 15–20 s
// (3–14 s of it key generation) and an onion is reachable 4–8 s later; a
// warm restart that reuses the directory takes 3–4 s, plus about 4.5 s for
// the onion.
//
// The client's torrc sets UseMicrodescriptors 0, so clearnet requests to
// 127.0.0.1 servers also work through the loopback-only exits.
//
// Every torrc the package writes joins only this network: TestingTorNetwork 1,
// UseDefaultFallbackDirs 0, DirAuthority lines on 127.0.0.1 only, every
// listener on 127.0.0.1, and exits that accept nothing but 127.0.0.0/8.
// writeTorrc refuses any torrc that breaks the first three rules. Processes
// are stopped by PID (SIGTERM, then Wait); tor also exits on its own about
// 13 s after the owning process dies (__OwningControllerProcess).
package privnet
