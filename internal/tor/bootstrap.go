package tor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// bootstrapPhase is tor's answer to GETINFO status/bootstrap-phase, e.g.
//
//	NOTICE BOOTSTRAP PROGRESS=45 TAG=requesting_descriptors SUMMARY="Asking for relay descriptors"
//	WARN BOOTSTRAP PROGRESS=5 TAG=conn SUMMARY="Connecting to a relay" WARNING="Connection refused" REASON=CONNECTREFUSED RECOMMENDATION=warn
type bootstrapPhase struct {
	Severity       string
	Progress       int
	Tag            string
	Summary        string
	Warning        string
	Reason         string
	Recommendation string
}

// maxPhaseLen bounds the line we parse; real ones are under 300 bytes.
const maxPhaseLen = 4096

func parseBootstrapPhase(s string) (bootstrapPhase, error) {
	if len(s) > maxPhaseLen {
		return bootstrapPhase{}, fmt.Errorf("tor: bootstrap phase too long (%d bytes)", len(s))
	}
	fields, err := splitQuoted(s)
	if err != nil {
		return bootstrapPhase{}, fmt.Errorf("tor: bootstrap phase %q: %w", s, err)
	}
	if len(fields) < 3 || fields[1] != "BOOTSTRAP" {
		return bootstrapPhase{}, fmt.Errorf("tor: bootstrap phase %q: not a BOOTSTRAP status", s)
	}
	p := bootstrapPhase{Severity: fields[0], Progress: -1}
	for _, f := range fields[2:] {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			continue
		}
		switch k {
		case "PROGRESS":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 100 {
				return bootstrapPhase{}, fmt.Errorf("tor: bootstrap phase %q: bad PROGRESS", s)
			}
			p.Progress = n
		case "TAG":
			p.Tag = v
		case "SUMMARY":
			p.Summary = v
		case "WARNING":
			p.Warning = v
		case "REASON":
			p.Reason = v
		case "RECOMMENDATION":
			p.Recommendation = v
		}
	}
	if p.Progress < 0 {
		return bootstrapPhase{}, fmt.Errorf("tor: bootstrap phase %q: no PROGRESS", s)
	}
	return p, nil
}

// splitQuoted splits a control-port line on spaces, keeping KEY="a b" as one
// field with the quotes and backslash escapes removed.
func splitQuoted(s string) ([]string, error) {
	var (
		fields []string
		cur    strings.Builder
		inQ    bool
		inTok  bool
	)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inQ && c == '\\':
			if i+1 >= len(s) {
				return nil, errors.New("dangling escape")
			}
			i++
			cur.WriteByte(s[i])
		case c == '"':
			inQ, inTok = !inQ, true
		case c == ' ' && !inQ:
			if inTok {
				fields = append(fields, cur.String())
				cur.Reset()
				inTok = false
			}
		default:
			cur.WriteByte(c)
			inTok = true
		}
	}
	if inQ {
		return nil, errors.New("unterminated quote")
	}
	if inTok {
		fields = append(fields, cur.String())
	}
	return fields, nil
}

// describe renders a phase for humans: "45% (asking for relay descriptors)".
func (p bootstrapPhase) describe() string {
	what := p.Summary
	if what == "" {
		what = p.Tag
	}
	s := fmt.Sprintf("%d%% (%s)", p.Progress, strings.ToLower(what))
	if p.Warning != "" {
		s += fmt.Sprintf("; problem: %s", p.Warning)
		if p.Reason != "" {
			s += " [" + p.Reason + "]"
		}
	}
	return s
}

// bootstrapPoll is how often the bootstrap phase is polled. Polling, rather
// than STATUS_CLIENT events, cannot miss a phase reached before we listen.
const bootstrapPoll = 300 * time.Millisecond

// waitBootstrap polls until tor reports 100 %, printing each new phase to
// progress. It gives up after timeout with ErrTorUnavailable and the last
// phase seen, which usually names the problem (e.g. "Connection refused").
func waitBootstrap(ctx context.Context, cc *controlConn, timeout time.Duration, progress io.Writer, logger *slog.Logger) error {
	start := time.Now()
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	last := bootstrapPhase{Progress: -1}
	tick := time.NewTicker(bootstrapPoll)
	defer tick.Stop()
	for {
		p, err := cc.bootstrap(wctx)
		if err != nil && wctx.Err() == nil {
			return fmt.Errorf("%w: reading bootstrap status: %w", ErrTorUnavailable, err)
		}
		if err == nil {
			if p.Progress != last.Progress || p.Warning != last.Warning {
				fmt.Fprintf(progress, "tor: bootstrapped %s\n", p.describe())
				logger.Info("tor bootstrap", slog.Int("progress", p.Progress), slog.String("tag", p.Tag),
					slog.String("warning", p.Warning), slog.String("reason", p.Reason))
			}
			last = p
			if p.Progress == 100 {
				logger.Info("tor bootstrapped", slog.Duration("elapsed", time.Since(start)))
				return nil
			}
		}
		select {
		case <-wctx.Done():
			if ctx.Err() != nil {
				return fmt.Errorf("tor: waiting for bootstrap: %w", ctx.Err())
			}
			stuck := "no status"
			if last.Progress >= 0 {
				stuck = last.describe()
			}
			return fmt.Errorf("%w: tor did not finish bootstrapping within %s (stuck at %s); check the torrc and tor's log, and that the network (or bridges) are reachable",
				ErrTorUnavailable, timeout, stuck)
		case <-tick.C:
		}
	}
}
