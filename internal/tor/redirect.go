package tor

import (
	"fmt"
	"log/slog"
	"net/http"
)

// MaxRedirects caps redirect chains; dump sites use redirect loops as traps.
const MaxRedirects = 10

// CheckRedirect returns an http.Client.CheckRedirect policy for mode.
//
// In every mode it stops after [MaxRedirects] and refuses schemes other than
// http and https (in Tor mode with [ErrLeaveTor]). In off mode it refuses a
// redirect to a .onion host with [ErrOnionWithoutTor]. In Tor mode an onion
// that redirects to a clearnet host is followed, because the clearnet request
// goes through Tor too, but it is logged: the crawler may want to know that a
// dump site points outside the onion space.
func CheckRedirect(mode Mode, logger *slog.Logger) func(req *http.Request, via []*http.Request) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return func(req *http.Request, via []*http.Request) error {
		if len(via) >= MaxRedirects {
			return fmt.Errorf("tor: stopped after %d redirects", MaxRedirects)
		}
		if err := checkRequest(mode, req); err != nil {
			return err
		}
		if mode.IsTor() && len(via) > 0 {
			from := via[len(via)-1].URL.Hostname()
			if to := req.URL.Hostname(); isOnion(from) && !isOnion(to) {
				logger.Warn("redirect leaves the onion service; following it through Tor",
					slog.String("from", from), slog.String("to", to))
			}
		}
		return nil
	}
}
