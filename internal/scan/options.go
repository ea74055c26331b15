package scan

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/leakwatch/leakwatch/crawler"
	"github.com/leakwatch/leakwatch/fingerprint"
	"github.com/leakwatch/leakwatch/internal/archive"
	"github.com/leakwatch/leakwatch/internal/config"
	"github.com/leakwatch/leakwatch/internal/evidence"
	"github.com/leakwatch/leakwatch/internal/store"
	"github.com/leakwatch/leakwatch/internal/tor"
)

// Options are the settings of a scan (see config.Settings: flags,
// configuration file, environment) and the flags that only a run takes;
// scan and watch share them.
type Options struct {
	config.Options
	Recrawl, WholeImageOnly bool
	// WaitLock is how long to wait for another run on the same store.
	WaitLock time.Duration
}

// Validate refuses options a scan cannot run with. Each setting's value
// was validated by the config table where it was read; what remains is
// what the table cannot know.
func (o Options) Validate() error {
	if o.Bank == "" {
		return errors.New("--bank is required")
	}
	if (o.Evidence.Dir == "") != (o.Evidence.Recipient == "") {
		return errors.New("--evidence and --evidence-recipient go together: the folder, and the age public key its contents are encrypted to")
	}
	// A shared run is done by workers on other machines: the locker is a
	// folder on this one, so only the items this process happened to take
	// would be kept. (A baseline travels with the run: see RunSpec.)
	if store.IsPostgres(o.Store) && o.Evidence.Dir != "" {
		return errors.New("--evidence (evidence.dir) is not supported with a PostgreSQL store: a shared run's items are done by workers on other machines, which keep no evidence; keep evidence with a SQLite store, or drop it for shared runs")
	}
	// The store is not reached through Tor: in Tor mode it must be on this
	// machine, where the connection (and any name lookup) stays.
	if m, err := tor.ParseMode(o.Tor.Mode); err == nil && m.Mode.IsTor() {
		local, err := store.OnThisHost(o.Store)
		if err != nil {
			return err
		}
		if !local {
			return fmt.Errorf("--store %s: in Tor mode the store must be on this machine (a unix socket, localhost or a loopback address): its connection would not go through Tor; reach a remote PostgreSQL through a tunnel you set up to a loopback port", store.Redact(o.Store))
		}
	}
	return nil
}

// Locker opens the evidence locker o configures, or returns nil when it
// is off.
func (o Options) Locker() (*evidence.Locker, error) {
	if o.Evidence.Dir == "" {
		return nil, nil
	}
	var opts []evidence.Option
	if o.Evidence.MaxBytes > 0 {
		opts = append(opts, evidence.WithMaxBytes(o.Evidence.MaxBytes))
	}
	l, err := evidence.NewLocker(o.Evidence.Dir, o.Evidence.Recipient, opts...)
	if errors.Is(err, evidence.ErrRecipient) {
		return nil, &UsageError{err}
	}
	return l, err
}

// ArchiveLimits are the archive bounds of o.
func (o Options) ArchiveLimits() archive.Limits {
	l, lim := o.Limits, archive.DefaultLimits()
	lim.MaxCompressedBytes, lim.MaxSpoolBytes = l.MaxArchiveBytes, l.MaxArchiveBytes
	lim.MaxUncompressedBytes, lim.MaxEntryBytes = l.ArchiveMaxTotalBytes, l.ArchiveMaxEntryBytes
	lim.MaxEntries, lim.MaxRatio, lim.MaxDepth = l.ArchiveMaxEntries, float64(l.ArchiveMaxRatio), l.ArchiveMaxDepth
	lim.MaxVolumes = l.ArchiveMaxVolumes
	return lim
}

// DecodeLimits are the image decoding bounds of l; those it leaves zero
// (commands without the setting) take fingerprint's defaults.
func DecodeLimits(l config.Limits) fingerprint.Limits {
	lim := fingerprint.DefaultLimits()
	if l.MaxImageBytes > 0 {
		lim.MaxBytes = l.MaxImageBytes
	}
	if l.MaxPixels > 0 {
		lim.MaxPixels = int64(l.MaxPixels)
	}
	if l.MaxJPEGScans > 0 {
		lim.MaxScans = l.MaxJPEGScans
	}
	if l.MaxJPEGCoefBytes > 0 {
		lim.MaxCoefBytes = l.MaxJPEGCoefBytes
	}
	if l.MaxDecodedPixels > 0 {
		lim.MaxDecodedPixels = int64(l.MaxDecodedPixels)
	}
	lim.MaxPNGChunks = cmp.Or(l.MaxPNGChunks, lim.MaxPNGChunks)
	lim.MaxPNGChunkBytes = cmp.Or(l.MaxPNGChunkBytes, lim.MaxPNGChunkBytes)
	lim.MaxPNGRowBytes = cmp.Or(int(l.MaxPNGRowBytes), lim.MaxPNGRowBytes)
	lim.MaxTIFFRowBytes = cmp.Or(int(l.MaxTIFFRowBytes), lim.MaxTIFFRowBytes)
	lim.MaxTIFFBlocks = cmp.Or(l.MaxTIFFBlocks, lim.MaxTIFFBlocks)
	lim.MaxTIFFPaddedPixels = int64(l.MaxTIFFPaddedPixels) // 0: twice MaxPixels
	lim.MaxFullDecodeBytes = cmp.Or(l.MaxFullDecodeBytes, lim.MaxFullDecodeBytes)
	return lim
}

// MatchOptions is the match policy of o.
func (o Options) MatchOptions() fingerprint.MatchOptions {
	m := fingerprint.DefaultMatchOptions()
	m.PDQRadius = o.Limits.PDQRadius
	m.Patches = !o.Limits.NoPatches
	m.PatchMatchRadius = o.Limits.PatchMatchRadius
	m.NoFeatures = o.Limits.NoFeatures
	m.Features.MaxRead = o.Limits.MaxFeatureReads
	return m
}

// Crawler is the crawler configuration of o over tc. In Tor mode requests
// get more time and a failed circuit is retried on a new one.
func (o Options) Crawler(tc *tor.Client, log *slog.Logger) crawler.Options {
	l := o.Limits
	copts := crawler.Options{
		MaxDepth: l.MaxDepth, MaxPages: l.MaxPages, Parallelism: l.Parallelism, Delay: l.Delay,
		RequestTimeout: l.Timeout, MaxImageBytes: l.MaxImageBytes, MaxPageBytes: l.MaxPageBytes,
		MaxLinksPerPage: l.MaxLinksPerPage, MaxURLBytes: l.MaxURLBytes, MaxLinkBytesPerPage: l.MaxLinkBytesPerPage, MaxStoredLinkBytes: l.MaxStoredLinkBytes,
		MaxArchiveBytes: l.MaxArchiveBytes, ArchiveTimeout: l.ArchiveTimeout,
		ReadIdleTimeout: l.ReadIdleTimeout, MinArchiveRate: l.MinArchiveRate, MaxDecodeRatio: l.ArchiveMaxRatio,
		MaxSplitVolumes: l.ArchiveMaxVolumes,
		AllowedHosts:    o.Scope.AllowHosts, UserAgent: l.UserAgent, Logger: log,
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
		GroupBy: Grouping(o.Scope.GroupBy), Endpoints: endpoints, Logger: log,
		Recrawl: o.Recrawl, WholeImageOnly: o.WholeImageOnly,
		Limits:  DecodeLimits(o.Limits),
		Archive: o.ArchiveLimits(), MaxFrames: o.Limits.MaxFrames, MaxGIFRedraw: o.Limits.MaxGIFRedraw,
		spec: new(o.Spec(seeds)),
	}
}

// LoadBaseline reads the baseline file o names; nil when none.
func (o Options) LoadBaseline() (Baseline, error) {
	if o.Baseline == "" {
		return nil, nil
	}
	return LoadBaseline(o.Baseline)
}

// StartTor starts (or connects to) Tor as o.Tor.Mode says; "off" is a direct
// client. Bootstrap progress goes to progress.
func (o Options) StartTor(ctx context.Context, progress io.Writer, log *slog.Logger) (*tor.Client, error) {
	tcfg, err := tor.ParseMode(o.Tor.Mode)
	if err != nil {
		return nil, &UsageError{err}
	}
	tcfg.TorrcFile, tcfg.Progress, tcfg.Logger = o.Tor.Torrc, progress, log
	return tor.Start(ctx, tcfg)
}

// UsageError is a setting that cannot work, found only when it is used.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }
