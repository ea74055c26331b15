// Package sockstest is a SOCKS5 proxy on loopback for tests: it records
// every CONNECT (destination by name or address, and the credentials tor
// would use for stream isolation) and either splices the stream to one
// backend or answers with a chosen reply code. It stands in for tor's
// SocksPort wherever a test must see what went through Tor, or that
// something did not.
package sockstest
