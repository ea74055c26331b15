package tor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
)

var (
	// ErrOnionWithoutTor is returned in off mode for any request to, or
	// redirect towards, a .onion host: resolving it locally would leak the
	// address to the DNS resolver and could never succeed anyway.
	ErrOnionWithoutTor = errors.New("tor: .onion address requested but Tor is off")

	// ErrLeaveTor is returned for a request that cannot be sent through Tor
	// (an unsupported scheme or network) and is therefore refused rather than
	// sent some other way.
	ErrLeaveTor = errors.New("tor: request would not go through Tor")

	// ErrTorUnavailable means tor itself cannot be used: the SOCKS port is
	// dead or is not a SOCKS5 proxy, the process is gone, or it did not
	// bootstrap. A new circuit does not help; the operator has to act.
	ErrTorUnavailable = errors.New("tor: unavailable")
)

// SOCKS5 reply codes (RFC 1928 section 6) and tor's extended codes for onion
// services (tor's socks-extensions.txt; sent when the SocksPort has the
// ExtendedErrors flag, which managed mode always sets).
const (
	socksSucceeded          = 0x00
	socksGeneralFailure     = 0x01
	socksNotAllowed         = 0x02
	socksNetworkUnreachable = 0x03
	socksHostUnreachable    = 0x04
	socksConnRefused        = 0x05
	socksTTLExpired         = 0x06
	socksCmdNotSupported    = 0x07
	socksAddrNotSupported   = 0x08
	socksOnionDescNotFound  = 0xF0
	socksOnionDescInvalid   = 0xF1
	socksOnionIntroFailed   = 0xF2
	socksOnionRendFailed    = 0xF3
	socksOnionMissingAuth   = 0xF4
	socksOnionWrongAuth     = 0xF5
	socksOnionBadAddress    = 0xF6
	socksOnionIntroTimeout  = 0xF7
)

// socksReplies describes each reply code and whether a new circuit may help.
var socksReplies = map[byte]struct {
	msg       string
	retryable bool
}{
	socksGeneralFailure:     {"general SOCKS server failure", true},
	socksNotAllowed:         {"connection not allowed by ruleset (exit policy)", false},
	socksNetworkUnreachable: {"network unreachable", true},
	socksHostUnreachable:    {"host unreachable (onion service down, or DNS failure at the exit)", true},
	socksConnRefused:        {"connection refused by the destination", false},
	socksTTLExpired:         {"TTL expired (circuit or stream timed out)", true},
	socksCmdNotSupported:    {"command not supported", false},
	socksAddrNotSupported:   {"address type not supported", false},
	socksOnionDescNotFound:  {"onion service descriptor can't be found (service offline or address unknown)", true},
	socksOnionDescInvalid:   {"onion service descriptor is invalid", false},
	socksOnionIntroFailed:   {"onion service introduction failed", true},
	socksOnionRendFailed:    {"onion service rendezvous failed", true},
	socksOnionMissingAuth:   {"onion service requires client authorization", false},
	socksOnionWrongAuth:     {"onion service rejected our client authorization", false},
	socksOnionBadAddress:    {"invalid onion service address", false},
	socksOnionIntroTimeout:  {"onion service introduction timed out", true},
}

// SOCKSError is a non-success reply from the SOCKS proxy to a CONNECT.
type SOCKSError struct {
	Code byte   // the REP field of the reply
	Host string // the destination we asked for
}

func (e *SOCKSError) Error() string {
	msg := "unknown SOCKS reply"
	if r, ok := socksReplies[e.Code]; ok {
		msg = r.msg
	}
	return fmt.Sprintf("tor: connect to %s: %s (SOCKS reply 0x%02X)", e.Host, msg, e.Code)
}

// Retryable reports whether a new circuit could make the same request
// succeed.
func (e *SOCKSError) Retryable() bool { return socksReplies[e.Code].retryable }

// RetryableError reports whether err, returned by a request through a
// [Client] transport, is worth retrying after [Client.NewCircuit]: transient
// SOCKS failures (general failure, TTL expired, host unreachable, the onion
// service errors that depend on the path), timeouts, and connections dropped
// mid-stream. It is false for cancellation, for [ErrTorUnavailable] (tor
// itself is broken) and for permanent answers such as a refused connection
// or a malformed onion address.
func RetryableError(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) ||
		errors.Is(err, ErrTorUnavailable) || errors.Is(err, ErrLeaveTor) ||
		errors.Is(err, ErrOnionWithoutTor) {
		return false
	}
	if se, ok := errors.AsType[*SOCKSError](err); ok {
		return se.Retryable()
	}
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		return true
	}
	return errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET)
}
