package config

import (
	"fmt"
	"math"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Setting is the one definition of a setting: its configuration key,
// flag, LEAKWATCH_* variable, default, unit and validation. The file
// parser, the environment, the flags (AddFlags) and the documentation
// test all read this table, so a value is spelled the same everywhere.
type Setting struct {
	// Key is the dotted path in the file, e.g. "limits.max_pages".
	Key string
	// Flag is the command-line flag, without dashes ("" for none).
	Flag string
	// Env is the environment variable that overrides the file ("" for
	// none).
	Env string
	// Type is shown in documentation and messages: string, path, list,
	// path list, int, duration, size or bool.
	Type string
	// List settings take a YAML sequence (or one value) in the file,
	// space-separated values in the environment and a repeated flag.
	List bool
	// Path values given in the file are relative to the file's directory.
	Path bool
	// Default is the value when nothing sets it, in the setting's own
	// syntax ("" for the zero value).
	Default string
	// Usage is the flag's help text.
	Usage string
	// Commands are the commands that take the setting ("scan", "alerts
	// test"); a command also takes the settings of its parents.
	Commands []string

	kind kind
	// lo and hi bound ints, sizes and durations (hi 0: no upper bound).
	lo, hi int64
	// zeroOK accepts 0 below lo: "let the program choose".
	zeroOK bool
	check  func(string) error // strings and list items
	field  func(*Options) any // pointer to the typed value
}

type kind int

const (
	kindString kind = iota
	kindList
	kindInt
	kindSize
	kindDuration
	kindBool
)

// Who takes what: the commands that scan, those that alert, and the
// commands that only need the bank or the store.
var (
	scanning   = []string{"scan", "watch", "enqueue"}    // seeds, scope and limits: what a shared run fixes
	matching   = append(slices.Clone(scanning), "match") // the match policy, which match can reproduce
	crawling   = []string{"scan", "watch", "worker"}     // how this process reaches sites and waits for alerts
	alerting   = []string{"scan", "watch", "alerts test", "worker"}
	secretUse  = []string{"scan", "watch", "alerts test", "doctor", "worker"}
	bankUsers  = []string{"scan", "watch", "enroll", "match", "lookup", "bank import", "doctor", "report", "ledger add", "ledger import", "canary issue", "worker"}
	storeUsers = []string{"scan", "watch", "incidents", "alerts endpoints", "alerts enable", "alerts list", "doctor", "report", "ledger", "canary issue", "enqueue", "worker", "runs"}
	watching   = []string{"watch"}
	// everyCommand: the root's persistent flags, which every command takes.
	everyCommand = []string{""}
	decoding     = []string{"scan", "watch", "enroll", "match"}
)

// Settings returns every setting, in documentation order.
func Settings() []Setting {
	return []Setting{
		{Key: "log.level", Flag: "log-level", Env: "LEAKWATCH_LOG_LEVEL", Type: "string", Default: "warn", Commands: everyCommand,
			Usage: "log level: debug, info, warn or error", check: oneOf("debug", "info", "warn", "error"), field: func(o *Options) any { return &o.Log.Level }},
		{Key: "log.format", Flag: "log-format", Env: "LEAKWATCH_LOG_FORMAT", Type: "string", Default: "text", Commands: everyCommand,
			Usage: "format of every line on stderr: text, or json (one JSON object per line, messages and errors included)", check: oneOf("text", "json"), field: func(o *Options) any { return &o.Log.Format }},
		{Key: "bank", Flag: "bank", Env: "LEAKWATCH_BANK", Type: "path", Path: true, Commands: bankUsers,
			Usage: "bank file", check: nonEmpty, field: func(o *Options) any { return &o.Bank }},
		{Key: "store", Flag: "store", Env: "LEAKWATCH_STORE", Type: "path", Path: true, Commands: storeUsers,
			Usage: "store: a SQLite file (default $XDG_DATA_HOME/leakwatch/leakwatch.db) or a postgres:// URL", check: nonEmpty, field: func(o *Options) any { return &o.Store }},
		{Key: "seeds", Env: "LEAKWATCH_SEEDS", Type: "list", List: true, kind: kindList, Commands: scanning,
			check: checkSeed, field: func(o *Options) any { return &o.Seeds }},
		{Key: "scope.allow_hosts", Flag: "allow-host", Env: "LEAKWATCH_ALLOW_HOSTS", Type: "list", List: true, kind: kindList, Commands: scanning,
			Usage: "extra host in scope (repeatable)", check: checkHost, field: func(o *Options) any { return &o.Scope.AllowHosts }},
		{Key: "scope.group_by", Flag: "group-by", Env: "LEAKWATCH_GROUP_BY", Type: "string", Default: "site", Commands: scanning,
			Usage: "one incident per site or per page", check: oneOf("site", "page"), field: func(o *Options) any { return &o.Scope.GroupBy }},
		{Key: "limits.max_depth", Flag: "max-depth", Env: "LEAKWATCH_MAX_DEPTH", Type: "int", kind: kindInt, lo: 1, hi: 1000, Default: "3", Commands: scanning,
			Usage: "link depth from the seed", field: func(o *Options) any { return &o.Limits.MaxDepth }},
		{Key: "limits.max_pages", Flag: "max-pages", Env: "LEAKWATCH_MAX_PAGES", Type: "int", kind: kindInt, lo: 1, hi: math.MaxInt32, Default: "1000", Commands: scanning,
			Usage: "pages per run", field: func(o *Options) any { return &o.Limits.MaxPages }},
		{Key: "limits.parallelism", Flag: "parallelism", Env: "LEAKWATCH_PARALLELISM", Type: "int", kind: kindInt, lo: 1, hi: 64, Default: "2", Commands: scanning,
			Usage: "concurrent requests per host", field: func(o *Options) any { return &o.Limits.Parallelism }},
		{Key: "limits.delay", Flag: "delay", Env: "LEAKWATCH_DELAY", Type: "duration", kind: kindDuration, Commands: scanning,
			Usage: "delay between requests to one host", field: func(o *Options) any { return &o.Limits.Delay }},
		{Key: "limits.timeout", Flag: "timeout", Env: "LEAKWATCH_TIMEOUT", Type: "duration", kind: kindDuration, lo: int64(time.Second), zeroOK: true, Commands: scanning,
			Usage: "per-request time limit, page or image, body included (default 60s, 3m in Tor mode)", field: func(o *Options) any { return &o.Limits.Timeout }},
		{Key: "limits.max_image_bytes", Flag: "max-image-bytes", Env: "LEAKWATCH_MAX_IMAGE_BYTES", Type: "size", kind: kindSize, Default: "64MiB", Commands: scanning,
			Usage: "largest image downloaded", field: func(o *Options) any { return &o.Limits.MaxImageBytes }},
		{Key: "limits.max_page_bytes", Flag: "max-page-bytes", Env: "LEAKWATCH_MAX_PAGE_BYTES", Type: "size", kind: kindSize, Default: "8MiB", Commands: scanning,
			Usage: "largest HTML page (larger pages are errors, never truncated)", field: func(o *Options) any { return &o.Limits.MaxPageBytes }},
		{Key: "limits.max_pixels", Flag: "max-pixels", Env: "LEAKWATCH_MAX_PIXELS", Type: "int", kind: kindInt, lo: 1, hi: 1 << 40, Default: "50000000", Commands: scanning,
			Usage: "largest image in pixels, checked from the header before decoding (pixel bombs)", field: func(o *Options) any { return &o.Limits.MaxPixels }},
		{Key: "limits.max_frames", Flag: "max-frames", Env: "LEAKWATCH_MAX_FRAMES", Type: "int", kind: kindInt, lo: 1, hi: 10_000, Default: "16", Commands: scanning,
			Usage: "frames tried per animated GIF or WebP, hashed or failing to decode (more is a counted frame_limit error)", field: func(o *Options) any { return &o.Limits.MaxFrames }},
		{Key: "limits.max_jpeg_scans", Flag: "max-jpeg-scans", Env: "LEAKWATCH_MAX_JPEG_SCANS", Type: "int", kind: kindInt, lo: 1, hi: 1_000_000, Default: "100", Commands: decoding,
			Usage: "scans in one JPEG (progressive files have about ten; scan-count bombs thousands)", field: func(o *Options) any { return &o.Limits.MaxJPEGScans }},
		{Key: "limits.max_jpeg_coef_bytes", Flag: "max-jpeg-coef-bytes", Env: "LEAKWATCH_MAX_JPEG_COEF_BYTES", Type: "size", kind: kindSize, Default: "48MiB", Commands: decoding,
			Usage: "memory for one progressive JPEG's coefficients at the working size", field: func(o *Options) any { return &o.Limits.MaxJPEGCoefBytes }},
		{Key: "limits.max_decoded_pixels", Flag: "max-decoded-pixels", Env: "LEAKWATCH_MAX_DECODED_PIXELS", Type: "int", kind: kindInt, lo: 1, hi: 1 << 40, Default: "16777216", Commands: decoding,
			Usage: "pixels of a JPEG, PNG, TIFF or BMP once decoded at the working size", field: func(o *Options) any { return &o.Limits.MaxDecodedPixels }},
		{Key: "limits.max_png_chunks", Flag: "max-png-chunks", Env: "LEAKWATCH_MAX_PNG_CHUNKS", Type: "int", kind: kindInt, lo: 1, hi: math.MaxInt32, Default: "200000", Commands: decoding,
			Usage: "chunks in one PNG, image data included", field: func(o *Options) any { return &o.Limits.MaxPNGChunks }},
		{Key: "limits.max_png_chunk_bytes", Flag: "max-png-chunk-bytes", Env: "LEAKWATCH_MAX_PNG_CHUNK_BYTES", Type: "size", kind: kindSize, lo: 1, hi: math.MaxInt32, Default: "16MiB", Commands: decoding,
			Usage: "bytes of one PNG chunk other than image data (text, ICC profiles, EXIF)", field: func(o *Options) any { return &o.Limits.MaxPNGChunkBytes }},
		{Key: "limits.max_png_row_bytes", Flag: "max-png-row-bytes", Env: "LEAKWATCH_MAX_PNG_ROW_BYTES", Type: "size", kind: kindSize, lo: 1, hi: math.MaxInt32, Default: "8MiB", Commands: decoding,
			Usage: "bytes of one row of a PNG (the reader holds two)", field: func(o *Options) any { return &o.Limits.MaxPNGRowBytes }},
		{Key: "limits.max_tiff_row_bytes", Flag: "max-tiff-row-bytes", Env: "LEAKWATCH_MAX_TIFF_ROW_BYTES", Type: "size", kind: kindSize, lo: 1, hi: math.MaxInt32, Default: "8MiB", Commands: decoding,
			Usage: "bytes of one row of a TIFF strip or tile, the only part of the image data the reader holds", field: func(o *Options) any { return &o.Limits.MaxTIFFRowBytes }},
		{Key: "limits.max_tiff_blocks", Flag: "max-tiff-blocks", Env: "LEAKWATCH_MAX_TIFF_BLOCKS", Type: "int", kind: kindInt, lo: 1, hi: math.MaxInt32, Default: "1048576", Commands: decoding,
			Usage: "strips or tiles in one TIFF (each costs a decompressor's set-up)", field: func(o *Options) any { return &o.Limits.MaxTIFFBlocks }},
		{Key: "limits.max_tiff_padded_pixels", Flag: "max-tiff-padded-pixels", Env: "LEAKWATCH_MAX_TIFF_PADDED_PIXELS", Type: "int", kind: kindInt, lo: 0, hi: 1 << 42, Default: "0", Commands: decoding,
			Usage: "pixels of a tiled TIFF's tiles, padding included (0: twice --max-pixels)", field: func(o *Options) any { return &o.Limits.MaxTIFFPaddedPixels }},
		{Key: "limits.max_full_decode_bytes", Flag: "max-full-decode-bytes", Env: "LEAKWATCH_MAX_FULL_DECODE_BYTES", Type: "size", kind: kindSize, lo: 1, hi: 1 << 40, Default: "64MB", Commands: decoding,
			Usage: "memory of one GIF or WebP decode, which is made at full size, estimated from the header: a byte a pixel (GIF), two (lossy WebP) or four (other WebP)", field: func(o *Options) any { return &o.Limits.MaxFullDecodeBytes }},
		{Key: "limits.max_gif_redraw", Flag: "max-gif-redraw", Env: "LEAKWATCH_MAX_GIF_REDRAW", Type: "int", kind: kindInt, lo: 1, hi: 10_000, Default: "16", Commands: scanning,
			Usage: "canvases' worth of pixels drawn again per animated GIF to undo large \"restore to previous\" frames (more ends the animation: a counted frame_limit error)", field: func(o *Options) any { return &o.Limits.MaxGIFRedraw }},
		{Key: "limits.max_links_per_page", Flag: "max-links-per-page", Env: "LEAKWATCH_MAX_LINKS_PER_PAGE", Type: "int", kind: kindInt, lo: 1, hi: math.MaxInt32, Default: "10000", Commands: scanning,
			Usage: "links taken from one page", field: func(o *Options) any { return &o.Limits.MaxLinksPerPage }},
		{Key: "limits.max_url_bytes", Flag: "max-url-bytes", Env: "LEAKWATCH_MAX_URL_BYTES", Type: "int", kind: kindInt, lo: 1, hi: 1 << 20, Default: "2048", Commands: scanning,
			Usage: "longest URL followed, after resolving it against its page (longer links are dropped)", field: func(o *Options) any { return &o.Limits.MaxURLBytes }},
		{Key: "limits.max_link_bytes_per_page", Flag: "max-link-bytes-per-page", Env: "LEAKWATCH_MAX_LINK_BYTES_PER_PAGE", Type: "size", kind: kindSize, Default: "1MiB", Commands: scanning,
			Usage: "bytes of links taken from one page (and stored for incremental recrawl)", field: func(o *Options) any { return &o.Limits.MaxLinkBytesPerPage }},
		{Key: "limits.max_stored_link_bytes", Flag: "max-stored-link-bytes", Env: "LEAKWATCH_MAX_STORED_LINK_BYTES", Type: "size", kind: kindSize, Default: "32MiB", Commands: scanning,
			Usage: "bytes of page links one run stores for incremental recrawl (pages beyond are fetched in full next time)", field: func(o *Options) any { return &o.Limits.MaxStoredLinkBytes }},
		{Key: "limits.max_archive_bytes", Flag: "max-archive-bytes", Env: "LEAKWATCH_MAX_ARCHIVE_BYTES", Type: "size", kind: kindSize, Default: "4GiB", Commands: scanning,
			Usage: "largest archive downloaded (and spooled, for zip and 7z)", field: func(o *Options) any { return &o.Limits.MaxArchiveBytes }},
		{Key: "limits.archive_timeout", Flag: "archive-timeout", Env: "LEAKWATCH_ARCHIVE_TIMEOUT", Type: "duration", kind: kindDuration, lo: int64(time.Second), Default: "2h", Commands: scanning,
			Usage: "time limit for one archive download", field: func(o *Options) any { return &o.Limits.ArchiveTimeout }},
		{Key: "limits.read_idle_timeout", Flag: "read-idle-timeout", Env: "LEAKWATCH_READ_IDLE_TIMEOUT", Type: "duration", kind: kindDuration, lo: int64(time.Second), Default: "60s", Commands: scanning,
			Usage: "abandon an archive download that receives nothing for this long", field: func(o *Options) any { return &o.Limits.ReadIdleTimeout }},
		{Key: "limits.min_archive_rate", Flag: "min-archive-rate", Env: "LEAKWATCH_MIN_ARCHIVE_RATE", Type: "size", kind: kindSize, Default: "1KiB", Commands: scanning,
			Usage: "abandon an archive download that receives less than this per second over a minute", field: func(o *Options) any { return &o.Limits.MinArchiveRate }},
		{Key: "limits.archive_max_total_bytes", Flag: "archive-max-total-bytes", Env: "LEAKWATCH_ARCHIVE_MAX_TOTAL_BYTES", Type: "size", kind: kindSize, Default: "16GiB", Commands: scanning,
			Usage: "uncompressed bytes per archive, nested archives included (zip bombs)", field: func(o *Options) any { return &o.Limits.ArchiveMaxTotalBytes }},
		{Key: "limits.archive_max_entry_bytes", Flag: "archive-max-entry-bytes", Env: "LEAKWATCH_ARCHIVE_MAX_ENTRY_BYTES", Type: "size", kind: kindSize, Default: "256MiB", Commands: scanning,
			Usage: "uncompressed bytes per archive entry", field: func(o *Options) any { return &o.Limits.ArchiveMaxEntryBytes }},
		{Key: "limits.archive_max_entries", Flag: "archive-max-entries", Env: "LEAKWATCH_ARCHIVE_MAX_ENTRIES", Type: "int", kind: kindInt, lo: 1, hi: math.MaxInt32, Default: "100000", Commands: scanning,
			Usage: "entries per archive, nested archives included", field: func(o *Options) any { return &o.Limits.ArchiveMaxEntries }},
		{Key: "limits.archive_max_ratio", Flag: "archive-max-ratio", Env: "LEAKWATCH_ARCHIVE_MAX_RATIO", Type: "int", kind: kindInt, lo: 1, hi: 1_000_000, Default: "200", Commands: scanning,
			Usage: "uncompressed/compressed ratio per archive, and decoded/received for a Content-Encoding (checked after the first MiB)", field: func(o *Options) any { return &o.Limits.ArchiveMaxRatio }},
		{Key: "limits.archive_max_depth", Flag: "archive-max-depth", Env: "LEAKWATCH_ARCHIVE_MAX_DEPTH", Type: "int", kind: kindInt, lo: 1, hi: 16, Default: "3", Commands: scanning,
			Usage: "archives nested in archives, the outer one counting 1", field: func(o *Options) any { return &o.Limits.ArchiveMaxDepth }},
		{Key: "limits.archive_max_volumes", Flag: "archive-max-volumes", Env: "LEAKWATCH_ARCHIVE_MAX_VOLUMES", Type: "int", kind: kindInt, lo: 1, hi: 100_000, Default: "1000", Commands: scanning,
			Usage: "volumes of one split archive (name.7z.001, name.part1.rar, name.z01 ...); a larger set is reported, not fetched", field: func(o *Options) any { return &o.Limits.ArchiveMaxVolumes }},
		{Key: "limits.pdq_radius", Flag: "pdq-radius", Env: "LEAKWATCH_PDQ_RADIUS", Type: "int", kind: kindInt, lo: 0, hi: 256, Default: "31", Commands: scanning,
			Usage: "largest PDQ distance counted as a match", field: func(o *Options) any { return &o.Limits.PDQRadius }},
		{Key: "limits.no_patches", Flag: "no-patches", Env: "LEAKWATCH_NO_PATCHES", Type: "bool", kind: kindBool, Commands: matching,
			Usage: "skip the keypoint-patch search for unevenly cropped copies (its cost grows with the bank; see README, Match policy)", field: func(o *Options) any { return &o.Limits.NoPatches }},
		{Key: "limits.no_features", Flag: "no-features", Env: "LEAKWATCH_NO_FEATURES", Type: "bool", kind: kindBool, Commands: matching,
			Usage: "skip the local-feature route (copies rotated, cropped to half, covered or in perspective; see README, Match policy)", field: func(o *Options) any { return &o.Limits.NoFeatures }},
		{Key: "limits.max_feature_reads", Flag: "max-feature-reads", Env: "LEAKWATCH_MAX_FEATURE_READS", Type: "int", kind: kindInt, lo: 1, hi: 256, Default: "16", Commands: matching,
			Usage: "captures whose features are read in one image where a plausible model puts them (an image with more is counted as feature_limited: a degraded copy among the unread may be missed)", field: func(o *Options) any { return &o.Limits.MaxFeatureReads }},
		{Key: "limits.patch_match_radius", Flag: "patch-match-radius", Env: "LEAKWATCH_PATCH_MATCH_RADIUS", Type: "int", kind: kindInt, lo: 1, hi: 64, Default: "16", Commands: matching,
			Usage: "largest distance at which a keypoint-patch lead (uneven crop) counts as a match, 1..64; lower it for banks of look-alike captures", field: func(o *Options) any { return &o.Limits.PatchMatchRadius }},
		{Key: "limits.user_agent", Flag: "user-agent", Env: "LEAKWATCH_USER_AGENT", Type: "string", Commands: scanning,
			Usage: "User-Agent header (default: the crawler's, a common browser's)", check: checkHeaderValue, field: func(o *Options) any { return &o.Limits.UserAgent }},
		{Key: "tor.mode", Flag: "tor", Env: "LEAKWATCH_TOR", Type: "string", Default: "off", Commands: crawling,
			Usage: "off, managed (start tor with --torrc) or socks5://HOST:PORT", check: checkTorMode, field: func(o *Options) any { return &o.Tor.Mode }},
		{Key: "tor.torrc", Flag: "torrc", Env: "LEAKWATCH_TORRC", Type: "path", Path: true, Commands: crawling,
			Usage: "torrc for --tor managed (required there; leakwatch never starts tor with a default configuration)", check: nonEmpty, field: func(o *Options) any { return &o.Tor.Torrc }},
		{Key: "alerts.webhooks", Flag: "webhook", Env: "LEAKWATCH_WEBHOOKS", Type: "list", List: true, kind: kindList, Commands: alerting,
			Usage: "Standard Webhooks endpoint URL (repeatable)", check: checkWebhook, field: func(o *Options) any { return &o.Alerts.Webhooks }},
		// The secret's own variables (LEAKWATCH_WEBHOOK_SECRET and
		// LEAKWATCH_WEBHOOK_SECRET_FILE) are read by the alerts package and
		// win over this key.
		{Key: "alerts.webhook_secret_file", Type: "path", Path: true, Commands: secretUse,
			check: nonEmpty, field: func(o *Options) any { return &o.Alerts.WebhookSecretFile }},
		{Key: "alerts.slack_url_file", Flag: "slack-webhook-file", Env: "LEAKWATCH_SLACK_URL_FILE", Type: "path list", List: true, Path: true, kind: kindList, Commands: alerting,
			Usage: "file holding a Slack incoming webhook URL (repeatable; keeps the URL out of process listings)", check: nonEmpty, field: func(o *Options) any { return &o.Alerts.SlackURLFiles }},
		{Key: "alerts.log_file", Flag: "alert-log", Env: "LEAKWATCH_ALERT_LOG", Type: "path", Path: true, Commands: alerting,
			Usage: "also append every alert event as a JSON line to this file (- for stdout)", check: nonEmpty, field: func(o *Options) any { return &o.Alerts.LogFile }},
		{Key: "alerts.wait", Flag: "alert-wait", Env: "LEAKWATCH_ALERT_WAIT", Type: "duration", kind: kindDuration, Default: "30s", Commands: crawling,
			Usage: "how long to keep retrying alert delivery before leaving events for the next run", field: func(o *Options) any { return &o.Alerts.Wait }},
		{Key: "alerts.hold", Flag: "alert-hold", Env: "LEAKWATCH_ALERT_HOLD", Type: "duration", kind: kindDuration, Default: "10m", Commands: []string{"scan", "watch"},
			Usage: "hold a new incident's alert until the scan ends, at most this long, so it carries everything the scan found (0: send at once)", field: func(o *Options) any { return &o.Alerts.Hold }},
		{Key: "baseline", Flag: "baseline", Env: "LEAKWATCH_BASELINE", Type: "path", Path: true, Commands: []string{"scan", "watch", "enqueue"},
			Usage: "earlier JSON export (scan --json, incidents show --json) whose (capture, file) pairs are known: neither recorded nor alerted", check: nonEmpty, field: func(o *Options) any { return &o.Baseline }},
		{Key: "watch.schedule", Flag: "schedule", Env: "LEAKWATCH_SCHEDULE", Type: "string", Commands: watching,
			Usage: `when to scan: "@every 6h", "@daily" or cron fields such as "30 3 * * *" (required)`, check: checkSchedule, field: func(o *Options) any { return &o.Watch.Schedule }},
		{Key: "watch.listen", Flag: "listen", Env: "LEAKWATCH_LISTEN", Type: "string", Default: "127.0.0.1:9477", Commands: watching,
			Usage: "address for /metrics and /healthz, or off", check: checkListen, field: func(o *Options) any { return &o.Watch.Listen }},
		{Key: "watch.listen_any", Flag: "listen-any", Env: "LEAKWATCH_LISTEN_ANY", Type: "bool", kind: kindBool, Commands: []string{"watch", "worker"},
			Usage: "allow --listen (watch) or --worker-listen on a non-loopback address (the endpoints are unauthenticated)", field: func(o *Options) any { return &o.Watch.ListenAny }},
		{Key: "worker.listen", Flag: "worker-listen", Env: "LEAKWATCH_WORKER_LISTEN", Type: "string", Default: "off", Commands: []string{"worker"},
			Usage: "address for this worker's /metrics, such as 127.0.0.1:9481 (one port per worker on a machine), or off", check: checkListen, field: func(o *Options) any { return &o.Worker.Listen }},
		{Key: "watch.unhealthy_after", Flag: "unhealthy-after", Env: "LEAKWATCH_UNHEALTHY_AFTER", Type: "int", kind: kindInt, lo: 1, hi: 1000, Default: "3", Commands: watching,
			Usage: "failed runs in a row before /healthz answers 503", field: func(o *Options) any { return &o.Watch.UnhealthyAfter }},
		{Key: "evidence.dir", Flag: "evidence", Env: "LEAKWATCH_EVIDENCE_DIR", Type: "path", Path: true, Commands: []string{"scan", "watch", "report", "evidence"},
			Usage: "keep each matched file and the page that linked it, encrypted, in this folder (needs --evidence-recipient)", check: nonEmpty,
			field: func(o *Options) any { return &o.Evidence.Dir }},
		{Key: "evidence.recipient", Flag: "evidence-recipient", Env: "LEAKWATCH_EVIDENCE_RECIPIENT", Type: "string", Commands: []string{"scan", "watch"},
			Usage: "age public key (age1...) the evidence is encrypted to", check: checkAgeRecipient,
			field: func(o *Options) any { return &o.Evidence.Recipient }},
		{Key: "evidence.max_bytes", Flag: "evidence-max-bytes", Env: "LEAKWATCH_EVIDENCE_MAX_BYTES", Type: "size", kind: kindSize, Default: "10GiB", Commands: []string{"scan", "watch"},
			Usage: "ciphertext kept in the evidence folder at most; items past it are counted errors", field: func(o *Options) any { return &o.Evidence.MaxBytes }},
	}
}

// forbidden keys would put a credential in the file.
var forbidden = map[string]string{
	"alerts.webhook_secret": "the signing secret must not be written in the configuration file: set LEAKWATCH_WEBHOOK_SECRET, or put it in a file named by LEAKWATCH_WEBHOOK_SECRET_FILE or alerts.webhook_secret_file",
	"alerts.secret":         "the signing secret must not be written in the configuration file: set LEAKWATCH_WEBHOOK_SECRET, or put it in a file named by LEAKWATCH_WEBHOOK_SECRET_FILE or alerts.webhook_secret_file",
	"alerts.slack":          "a Slack incoming-webhook URL is a credential: put each URL in a file and list the files under alerts.slack_url_file",
	"alerts.slack_url":      "a Slack incoming-webhook URL is a credential: put each URL in a file and list the files under alerts.slack_url_file",
	"alerts.slack_urls":     "a Slack incoming-webhook URL is a credential: put each URL in a file and list the files under alerts.slack_url_file",
	"alerts.slack_webhooks": "a Slack incoming-webhook URL is a credential: put each URL in a file and list the files under alerts.slack_url_file",
}

// UsedBy reports whether command (a path below the root, "alerts test")
// takes the setting, itself or through a parent.
func (s Setting) UsedBy(command string) bool {
	if slices.Contains(s.Commands, "") {
		return true // a root flag
	}
	for c := command; c != ""; {
		if slices.Contains(s.Commands, c) {
			return true
		}
		i := strings.LastIndexByte(c, ' ')
		if i < 0 {
			break
		}
		c = c[:i]
	}
	return false
}

// UsedBy reports whether command takes any setting besides the root's
// (the log settings), and so reads the configuration file. A command that
// does not still takes the root's settings from the environment.
func UsedBy(command string) bool {
	for _, s := range Settings() {
		if !s.Root() && s.UsedBy(command) {
			return true
		}
	}
	return false
}

// Root reports whether s is a setting of the root command, which every
// command takes.
func (s Setting) Root() bool { return slices.Equal(s.Commands, everyCommand) }

// parse reads one value (one item for lists) in the setting's unit. It
// checks the spelling only; validate checks the value.
func (s Setting) parse(v string) (any, error) {
	v = strings.TrimSpace(v)
	switch s.kind {
	case kindInt:
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, fmt.Errorf("want an integer, got %q", v)
		}
		return n, nil
	case kindSize:
		return ParseSize(v)
	case kindDuration:
		d, err := time.ParseDuration(v)
		if err != nil {
			return nil, fmt.Errorf("want a duration such as 90s, 5m or 6h, got %q", v)
		}
		return d, nil
	case kindBool:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("want true or false, got %q", v)
		}
		return b, nil
	}
	return v, nil
}

// validate checks a parsed value (one item for lists) against the
// setting's bounds.
func (s Setting) validate(v any) error {
	switch x := v.(type) {
	case string:
		if s.check != nil {
			return s.check(x)
		}
	case int:
		return s.inRange(int64(x))
	case int64:
		return s.inRange(x)
	case time.Duration:
		if x < time.Duration(s.lo) && !(x == 0 && s.zeroOK) {
			return fmt.Errorf("%s is below the minimum %s", x, time.Duration(s.lo))
		}
	}
	return nil
}

func (s Setting) inRange(n int64) error {
	switch {
	case n < s.lo && s.lo == 1:
		// Zero or less would disable a protection.
		return fmt.Errorf("must be positive (%d is out of range 1..%d)", n, s.hi)
	case n < s.lo || (s.hi != 0 && n > s.hi):
		return fmt.Errorf("%d is out of range %d..%d", n, s.lo, s.hi)
	}
	return nil
}

// apply parses, validates and stores one value (appends one list item).
func (s Setting) apply(o *Options, v string) error {
	x, err := s.parse(v)
	if err != nil {
		return err
	}
	if err := s.validate(x); err != nil {
		return err
	}
	if s.List {
		p := s.field(o).(*[]string)
		if len(*p) >= maxListItems {
			return fmt.Errorf("more than %d items", maxListItems)
		}
		*p = append(*p, x.(string))
		return nil
	}
	store(s.field(o), x)
	return nil
}

// store writes a parsed value through a field pointer.
func store(p, x any) {
	switch p := p.(type) {
	case *string:
		*p = x.(string)
	case *int:
		*p = x.(int)
	case *int64:
		*p = x.(int64)
	case *time.Duration:
		*p = x.(time.Duration)
	case *bool:
		*p = x.(bool)
	case *[]string:
		*p = append(*p, x.(string))
	}
}

// format renders a field in the setting's syntax (sizes in bytes), one
// string per list item; nil for an empty string or list.
func (s Setting) format(p any) []string {
	switch p := p.(type) {
	case *string:
		if *p == "" {
			return nil
		}
		return []string{*p}
	case *[]string:
		return slices.Clone(*p)
	case *int:
		return []string{strconv.Itoa(*p)}
	case *int64:
		return []string{strconv.FormatInt(*p, 10)}
	case *time.Duration:
		return []string{p.String()}
	case *bool:
		return []string{strconv.FormatBool(*p)}
	}
	return nil
}

// ParseSize reads a byte count: an integer, optionally followed by B, KB,
// MB, GB (powers of 1000) or KiB, MiB, GiB (powers of 1024).
func ParseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	num := strings.TrimRight(s, "KMGiBkmgb ")
	unit := strings.ToUpper(strings.TrimSpace(s[len(num):]))
	mult := map[string]int64{"": 1, "B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9, "KIB": 1 << 10, "MIB": 1 << 20, "GIB": 1 << 30}[unit]
	n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
	if err != nil || mult == 0 {
		return 0, fmt.Errorf("want a size such as 8MiB, 500KB or 1048576, got %q", s)
	}
	if n <= 0 {
		return 0, fmt.Errorf("size must be positive, got %q", s)
	}
	if n > math.MaxInt64/mult {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return n * mult, nil
}

func nonEmpty(v string) error {
	if v == "" {
		return fmt.Errorf("must not be empty")
	}
	return nil
}

// checkAgeRecipient accepts what looks like an age X25519 public key;
// the scan parses it fully when it opens the locker.
func checkAgeRecipient(v string) error {
	if !strings.HasPrefix(v, "age1") || len(v) < 60 || strings.ContainsAny(v, " \t\n") {
		return fmt.Errorf("want an age public key (age1..., from age-keygen), got %q", v)
	}
	return nil
}

func oneOf(vals ...string) func(string) error {
	return func(v string) error {
		for _, ok := range vals {
			if v == ok {
				return nil
			}
		}
		return fmt.Errorf("must be one of %s, got %q", strings.Join(vals, ", "), v)
	}
}

func checkHeaderValue(v string) error {
	if strings.ContainsAny(v, "\r\n\x00") {
		return fmt.Errorf("must not contain line breaks")
	}
	return nonEmpty(v)
}

// checkURL accepts absolute http(s) URLs with a host. Messages quote the
// URL only when it cannot hold a credential in its path (caller decides).
func checkURL(v string) error {
	u, err := url.Parse(v)
	if err != nil {
		return fmt.Errorf("not a valid URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("URL must start with http:// or https://")
	}
	if u.Host == "" {
		return fmt.Errorf("URL has no host")
	}
	return nil
}

func checkSeed(v string) error {
	if err := checkURL(v); err != nil {
		return fmt.Errorf("seed %q: %w", v, err)
	}
	return nil
}

func checkWebhook(v string) error {
	if err := checkURL(v); err != nil {
		return err
	}
	if u, _ := url.Parse(v); u != nil && strings.EqualFold(u.Hostname(), "hooks.slack.com") {
		return fmt.Errorf("this is a Slack incoming-webhook URL, which is a credential: put it in a file and list the file under alerts.slack_url_file")
	}
	return nil
}

func checkHost(v string) error {
	if v == "" || strings.ContainsAny(v, "/?#@ ") {
		return fmt.Errorf("want a host name (optionally with :port), got %q", v)
	}
	return nil
}

func checkTorMode(v string) error {
	switch {
	case v == "off", v == "managed":
		return nil
	case strings.HasPrefix(v, "socks5://"):
		u, err := url.Parse(v)
		if err != nil || u.Host == "" || u.Port() == "" {
			return fmt.Errorf("want socks5://HOST:PORT")
		}
		return nil
	}
	return fmt.Errorf("must be off, managed or socks5://HOST:PORT, got %q", v)
}

func checkSchedule(v string) error {
	_, err := ParseSchedule(v)
	return err
}

func checkListen(v string) error {
	if v == "off" {
		return nil
	}
	if _, port, err := net.SplitHostPort(v); err != nil || port == "" {
		return fmt.Errorf("want HOST:PORT (e.g. 127.0.0.1:9464) or off, got %q", v)
	}
	return nil
}
