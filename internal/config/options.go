package config

import "time"

// Options holds a value for every setting, typed. A command's flags bind
// to it (see AddFlags); in a Config it holds what the file and the
// environment set, zero elsewhere.
type Options struct {
	Log   Log
	Bank  string
	Store string
	Seeds []string
	// Baseline names an earlier JSON export of known matches.
	Baseline string
	Scope    Scope
	Limits   Limits
	Tor      Tor
	Alerts   Alerts
	Watch    Watch
	Worker   Worker

	Evidence Evidence
}

// Log says how every command writes stderr.
type Log struct {
	Level  string // debug, info, warn or error
	Format string // text or json
}

// Evidence configures the evidence locker (internal/evidence): off unless
// Dir is set.
type Evidence struct {
	Dir string
	// Recipient is the age public key (age1...) items are encrypted to.
	Recipient string
	MaxBytes  int64
}

// Scope widens or groups what a scan covers.
type Scope struct {
	AllowHosts []string
	GroupBy    string
}

// Limits bound a scan.
type Limits struct {
	MaxDepth    int
	MaxPages    int
	Parallelism int
	Delay       time.Duration
	// Timeout bounds one request; 0 lets the scan choose (longer in Tor
	// mode).
	Timeout       time.Duration
	MaxImageBytes int64
	MaxPageBytes  int64
	PDQRadius     int
	// Uneven-crop matching (keypoint patches).
	NoPatches        bool
	PatchMatchRadius int
	// NoFeatures turns the local-feature route off.
	NoFeatures bool
	// MaxFeatureReads bounds the captures whose features one image is
	// read for (feature.SearchOptions.MaxRead).
	MaxFeatureReads int
	// Hostile-input bounds.
	MaxPixels            int
	MaxFrames            int
	MaxJPEGScans         int
	MaxJPEGCoefBytes     int64
	MaxDecodedPixels     int
	MaxPNGChunks         int
	MaxPNGChunkBytes     int64
	MaxPNGRowBytes       int64
	MaxTIFFRowBytes      int64
	MaxTIFFBlocks        int
	MaxTIFFPaddedPixels  int
	MaxFullDecodeBytes   int64
	MaxGIFRedraw         int
	MaxLinksPerPage      int
	MaxURLBytes          int
	MaxLinkBytesPerPage  int64
	MaxStoredLinkBytes   int64
	MaxArchiveBytes      int64
	ArchiveTimeout       time.Duration
	ReadIdleTimeout      time.Duration
	MinArchiveRate       int64
	ArchiveMaxTotalBytes int64
	ArchiveMaxEntryBytes int64
	ArchiveMaxEntries    int
	ArchiveMaxRatio      int
	ArchiveMaxDepth      int
	ArchiveMaxVolumes    int
	UserAgent            string
}

// Tor selects how onion (and, in Tor mode, all) requests are carried.
type Tor struct {
	Mode  string // off, managed or socks5://HOST:PORT
	Torrc string
}

// Alerts lists the alert endpoints. None of these values is a secret.
type Alerts struct {
	Webhooks []string
	// WebhookSecretFile names a file holding the whsec_ secret; the
	// LEAKWATCH_WEBHOOK_SECRET(_FILE) variables take precedence.
	WebhookSecretFile string
	// SlackURLFiles name files that each hold one Slack incoming-webhook
	// URL.
	SlackURLFiles []string
	// LogFile receives every event as a JSON line.
	LogFile string
	// Wait is how long a scan keeps retrying delivery.
	Wait time.Duration
	// Hold is how long a new incident's event may wait for the end of
	// its scan.
	Hold time.Duration
}

// Worker configures "leakwatch worker".
type Worker struct {
	// Listen is the address of the worker's /metrics, or "off".
	Listen string
}

// Watch configures "leakwatch watch".
type Watch struct {
	Schedule       string
	Listen         string
	ListenAny      bool
	UnhealthyAfter int
}
