package scan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/leakwatch/leakwatch/crawler"
	"github.com/leakwatch/leakwatch/fingerprint"
	"github.com/leakwatch/leakwatch/internal/archive"
	"github.com/leakwatch/leakwatch/internal/store"
	"github.com/leakwatch/leakwatch/internal/tor"
)

// Options are the settings of a scan as an operator gives them (flags,
// configuration file, environment); scan and watch share them.
type Options struct {
	Bank, Store string
	// Tor is off, managed or socks5://HOST:PORT; Torrc is the torrc of a
	// managed tor.
	Tor, Torrc string

	AllowHosts []string
	GroupBy    string
	UserAgent  string

	Recrawl, WholeImageOnly, NoPatches bool

	MaxDepth, MaxPages, Parallelism int
	PDQRadius, PatchMatchRadius     int
	Delay                           time.Duration
	// Timeout bounds one request; 0 picks 60 s, or 3 min in Tor mode.
	Timeout time.Duration
	// AlertWait is how long to keep retrying alerts after a scan.
	AlertWait time.Duration
	// WaitLock is how long to wait for another run on the same store.
	WaitLock time.Duration

	// Hostile-input bounds; every hit is a counted, reported error.
	MaxImageBytes, MaxPageBytes        int64
	MaxPixels, MaxLinksPerPage         int
	MaxArchiveBytes                    int64
	ArchiveMaxTotalBytes               int64
	ArchiveMaxEntryBytes               int64
	ArchiveMaxEntries, ArchiveMaxRatio int
	ArchiveMaxDepth                    int
	ArchiveTimeout                     time.Duration
}

// Validate refuses options a scan cannot run with, naming the flag to fix.
// Bounds must be positive: zero would disable a protection.
func (o Options) Validate() error {
	if o.Bank == "" {
		return errors.New("--bank is required")
	}
	for _, b := range []struct {
		name string
		v    int64
	}{
		{"max-image-bytes", o.MaxImageBytes}, {"max-page-bytes", o.MaxPageBytes}, {"max-pixels", int64(o.MaxPixels)},
		{"max-links-per-page", int64(o.MaxLinksPerPage)}, {"max-archive-bytes", o.MaxArchiveBytes},
		{"archive-max-total-bytes", o.ArchiveMaxTotalBytes}, {"archive-max-entry-bytes", o.ArchiveMaxEntryBytes},
		{"archive-max-entries", int64(o.ArchiveMaxEntries)}, {"archive-max-ratio", int64(o.ArchiveMaxRatio)},
		{"archive-max-depth", int64(o.ArchiveMaxDepth)}, {"archive-timeout", int64(o.ArchiveTimeout)},
	} {
		if b.v <= 0 {
			return fmt.Errorf("--%s must be positive", b.name)
		}
	}
	if o.PatchMatchRadius < 1 || o.PatchMatchRadius > 64 {
		return errors.New("--patch-match-radius must be between 1 and 64")
	}
	if o.GroupBy != string(GroupSite) && o.GroupBy != string(GroupPage) {
		return errors.New("--group-by must be site or page")
	}
	return nil
}

// ArchiveLimits are the archive bounds of o.
func (o Options) ArchiveLimits() archive.Limits {
	lim := archive.DefaultLimits()
	lim.MaxCompressedBytes, lim.MaxSpoolBytes = o.MaxArchiveBytes, o.MaxArchiveBytes
	lim.MaxUncompressedBytes, lim.MaxEntryBytes = o.ArchiveMaxTotalBytes, o.ArchiveMaxEntryBytes
	lim.MaxEntries, lim.MaxRatio, lim.MaxDepth = o.ArchiveMaxEntries, float64(o.ArchiveMaxRatio), o.ArchiveMaxDepth
	return lim
}

// MatchOptions is the match policy of o.
func (o Options) MatchOptions() fingerprint.MatchOptions {
	m := fingerprint.DefaultMatchOptions()
	m.PDQRadius = o.PDQRadius
	m.Patches = !o.NoPatches
	m.PatchMatchRadius = o.PatchMatchRadius
	return m
}

// Crawler is the crawler configuration of o over tc. In Tor mode requests
// get more time and a failed circuit is retried on a new one.
func (o Options) Crawler(tc *tor.Client, log *slog.Logger) crawler.Options {
	copts := crawler.Options{
		MaxDepth: o.MaxDepth, MaxPages: o.MaxPages, Parallelism: o.Parallelism, Delay: o.Delay,
		RequestTimeout: o.Timeout, MaxImageBytes: o.MaxImageBytes, MaxPageBytes: o.MaxPageBytes,
		MaxLinksPerPage: o.MaxLinksPerPage, MaxArchiveBytes: o.MaxArchiveBytes, ArchiveTimeout: o.ArchiveTimeout,
		AllowedHosts: o.AllowHosts, UserAgent: o.UserAgent, Logger: log,
		Transport: tc.Transport(), CheckRedirect: tor.CheckRedirect(tc.Mode(), log),
	}
	if copts.RequestTimeout == 0 {
		copts.RequestTimeout = 60 * time.Second
		if tc.Mode().IsTor() {
			// Onion services are slow: circuits take seconds to build and
			// bandwidth is low.
			copts.RequestTimeout = 3 * time.Minute
		}
	}
	if tc.Mode().IsTor() {
		// A failed circuit or a slow onion is retried on a new circuit for
		// that site only.
		copts.Retryable = tor.RetryableError
		copts.Renew = func(host string) {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			tc.NewCircuit(ctx, host)
		}
	}
	return copts
}

// Config builds one scan of seeds from o; endpoints are the alert
// endpoint keys events are queued for. The output callbacks are left to
// the caller.
func (o Options) Config(tc *tor.Client, seeds []string, bank *fingerprint.Bank, st *store.Store, endpoints []string, log *slog.Logger) Config {
	return Config{
		Seeds: seeds, Bank: bank, Match: o.MatchOptions(), Store: st, Crawler: o.Crawler(tc, log),
		GroupBy: Grouping(o.GroupBy), Endpoints: endpoints, Logger: log,
		Recrawl: o.Recrawl, WholeImageOnly: o.WholeImageOnly,
		Limits:  fingerprint.Limits{MaxBytes: o.MaxImageBytes, MaxPixels: int64(o.MaxPixels)},
		Archive: o.ArchiveLimits(),
	}
}

// StartTor starts (or connects to) Tor as o.Tor says; "off" is a direct
// client. Bootstrap progress goes to progress.
func (o Options) StartTor(ctx context.Context, progress io.Writer, log *slog.Logger) (*tor.Client, error) {
	tcfg, err := tor.ParseMode(o.Tor)
	if err != nil {
		return nil, &UsageError{err}
	}
	tcfg.TorrcFile, tcfg.Progress, tcfg.Logger = o.Torrc, progress, log
	return tor.Start(ctx, tcfg)
}

// UsageError is a setting that cannot work, found only when it is used.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }
