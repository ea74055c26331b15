package alerts

import (
	"context"
	"time"
)

// ProbeResult is what one endpoint answered to a test event.
type ProbeResult struct {
	Endpoint string `json:"endpoint"`
	Name     string `json:"name"`
	EventID  string `json:"event_id"`
	OK       bool   `json:"ok"`
	Class    string `json:"class,omitempty"`
	Error    string `json:"error,omitempty"`
}

// Probe sends ev once to every endpoint, in order, each within timeout,
// bypassing any outbox, and calls report with each answer.
func Probe(ctx context.Context, eps Endpoints, ev Event, timeout time.Duration, report func(ProbeResult) error) error {
	for _, k := range eps.Keys {
		n := eps.Notifiers[k]
		actx, cancel := context.WithTimeout(ctx, timeout)
		err := n.Notify(actx, ev)
		cancel()
		r := ProbeResult{Endpoint: k, Name: n.Name(), EventID: ev.ID, OK: err == nil}
		if err != nil {
			r.Class, r.Error = Class(err), err.Error()
		}
		if err := report(r); err != nil {
			return err
		}
	}
	return nil
}
