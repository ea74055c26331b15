package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/leakwatch/leakwatch/alerts"
	"github.com/leakwatch/leakwatch/internal/lock"
	"github.com/leakwatch/leakwatch/internal/scan"
)

// Exit codes (documented in README.md and in `leakwatch --help`).
const (
	exitOK          = 0
	exitError       = 1  // the command failed
	exitUsage       = 2  // bad flags, arguments or configuration
	exitFindings    = 3  // scan --fail-on-findings: new or updated incidents
	exitPartial     = 4  // scan --fail-on-errors: some items could not be processed
	exitLocked      = 11 // another leakwatch run holds the lock
	exitInterrupted = 130
)

const exitCodesHelp = `EXIT STATUS
  0    success
  1    the command failed (a one-line reason is printed on stderr)
  2    usage or configuration error
  3    scan --fail-on-findings: new or updated incidents were found
  4    scan --fail-on-errors: some pages, files or archives could not be processed
  11   another leakwatch run holds the lock
  130  interrupted (SIGINT/SIGTERM)`

// usageError marks errors that deserve exit code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// codeError carries a specific exit code with an optional message.
type codeError struct {
	code int
	err  error
}

func (e codeError) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}
func (e codeError) Unwrap() error { return e.err }

func exitCodeFor(ctx context.Context, err error) int {
	if err == nil {
		return exitOK
	}
	var ce codeError
	if errors.As(err, &ce) {
		return ce.code
	}
	if errors.Is(err, lock.ErrLocked) {
		return exitLocked
	}
	if isUsage(err) {
		return exitUsage
	}
	if errors.Is(err, context.Canceled) || ctx.Err() != nil {
		return exitInterrupted
	}
	return exitError
}

// isUsage reports whether err is the operator's mistake rather than a
// failure: ours, the packages' own kinds, or cobra's.
func isUsage(err error) bool {
	var ue usageError
	var te *alerts.TargetError
	var se *scan.UsageError
	return errors.As(err, &ue) || errors.As(err, &te) || errors.As(err, &se) || isCobraUsage(err)
}

// isCobraUsage recognises cobra's flag and argument errors, which it does
// not type.
func isCobraUsage(err error) bool {
	s := err.Error()
	for _, p := range []string{"unknown flag", "unknown shorthand", "flag needs an argument", "invalid argument", "unknown command", "accepts ", "requires at least", "required flag"} {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}
