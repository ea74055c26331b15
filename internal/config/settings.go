package config

import (
	"fmt"
	"math"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Setting describes one configuration key.
type Setting struct {
	// Key is the dotted path in the file, e.g. "limits.max_pages".
	Key string
	// Env is the environment variable that overrides it.
	Env string
	// Type is shown in documentation and messages: string, list, int,
	// duration, size, bool or path.
	Type string
	// List settings take a YAML sequence (or one value) in the file and
	// space-separated values in the environment.
	List bool
	// Path values given in the file are relative to the file's directory.
	Path bool

	apply func(c *Config, v string) error // one item for lists
	clear func(c *Config)                 // lists: drop the file's items
	get   func(c *Config) []string
}

// Settings returns every key, in documentation order.
func Settings() []Setting {
	return []Setting{
		pathSetting("bank", "LEAKWATCH_BANK", func(c *Config) *string { return &c.Bank }),
		pathSetting("store", "LEAKWATCH_STORE", func(c *Config) *string { return &c.Store }),
		listSetting("seeds", "LEAKWATCH_SEEDS", false, func(c *Config) *[]string { return &c.Seeds }, checkSeed),
		listSetting("scope.allow_hosts", "LEAKWATCH_ALLOW_HOSTS", false, func(c *Config) *[]string { return &c.Scope.AllowHosts }, checkHost),
		stringSetting("scope.group_by", "LEAKWATCH_GROUP_BY", func(c *Config) *string { return &c.Scope.GroupBy }, oneOf("site", "page")),
		intSetting("limits.max_depth", "LEAKWATCH_MAX_DEPTH", func(c *Config) **int { return &c.Limits.MaxDepth }, 1, 1000),
		intSetting("limits.max_pages", "LEAKWATCH_MAX_PAGES", func(c *Config) **int { return &c.Limits.MaxPages }, 1, math.MaxInt32),
		intSetting("limits.parallelism", "LEAKWATCH_PARALLELISM", func(c *Config) **int { return &c.Limits.Parallelism }, 1, 64),
		durationSetting("limits.delay", "LEAKWATCH_DELAY", func(c *Config) **time.Duration { return &c.Limits.Delay }, 0),
		durationSetting("limits.timeout", "LEAKWATCH_TIMEOUT", func(c *Config) **time.Duration { return &c.Limits.Timeout }, time.Second),
		sizeSetting("limits.max_image_bytes", "LEAKWATCH_MAX_IMAGE_BYTES", func(c *Config) **int64 { return &c.Limits.MaxImageBytes }),
		sizeSetting("limits.max_page_bytes", "LEAKWATCH_MAX_PAGE_BYTES", func(c *Config) **int64 { return &c.Limits.MaxPageBytes }),
		intSetting("limits.max_pixels", "LEAKWATCH_MAX_PIXELS", func(c *Config) **int { return &c.Limits.MaxPixels }, 1, 1<<40),
		intSetting("limits.max_links_per_page", "LEAKWATCH_MAX_LINKS_PER_PAGE", func(c *Config) **int { return &c.Limits.MaxLinksPerPage }, 1, math.MaxInt32),
		sizeSetting("limits.max_archive_bytes", "LEAKWATCH_MAX_ARCHIVE_BYTES", func(c *Config) **int64 { return &c.Limits.MaxArchiveBytes }),
		durationSetting("limits.archive_timeout", "LEAKWATCH_ARCHIVE_TIMEOUT", func(c *Config) **time.Duration { return &c.Limits.ArchiveTimeout }, time.Second),
		sizeSetting("limits.archive_max_total_bytes", "LEAKWATCH_ARCHIVE_MAX_TOTAL_BYTES", func(c *Config) **int64 { return &c.Limits.ArchiveMaxTotalBytes }),
		sizeSetting("limits.archive_max_entry_bytes", "LEAKWATCH_ARCHIVE_MAX_ENTRY_BYTES", func(c *Config) **int64 { return &c.Limits.ArchiveMaxEntryBytes }),
		intSetting("limits.archive_max_entries", "LEAKWATCH_ARCHIVE_MAX_ENTRIES", func(c *Config) **int { return &c.Limits.ArchiveMaxEntries }, 1, math.MaxInt32),
		intSetting("limits.archive_max_ratio", "LEAKWATCH_ARCHIVE_MAX_RATIO", func(c *Config) **int { return &c.Limits.ArchiveMaxRatio }, 1, 1_000_000),
		intSetting("limits.archive_max_depth", "LEAKWATCH_ARCHIVE_MAX_DEPTH", func(c *Config) **int { return &c.Limits.ArchiveMaxDepth }, 1, 16),
		intSetting("limits.pdq_radius", "LEAKWATCH_PDQ_RADIUS", func(c *Config) **int { return &c.Limits.PDQRadius }, 0, 256),
		boolSetting("limits.no_patches", "LEAKWATCH_NO_PATCHES", func(c *Config) **bool { return &c.Limits.NoPatches }),
		intSetting("limits.patch_match_radius", "LEAKWATCH_PATCH_MATCH_RADIUS", func(c *Config) **int { return &c.Limits.PatchMatchRadius }, 1, 64),
		stringSetting("limits.user_agent", "LEAKWATCH_USER_AGENT", func(c *Config) *string { return &c.Limits.UserAgent }, checkHeaderValue),
		stringSetting("tor.mode", "LEAKWATCH_TOR", func(c *Config) *string { return &c.Tor.Mode }, checkTorMode),
		pathSetting("tor.torrc", "LEAKWATCH_TORRC", func(c *Config) *string { return &c.Tor.Torrc }),
		listSetting("alerts.webhooks", "LEAKWATCH_WEBHOOKS", false, func(c *Config) *[]string { return &c.Alerts.Webhooks }, checkWebhook),
		// The secret's own variables (LEAKWATCH_WEBHOOK_SECRET and
		// LEAKWATCH_WEBHOOK_SECRET_FILE) are read by the alerts package and
		// win over this key.
		pathSetting("alerts.webhook_secret_file", "", func(c *Config) *string { return &c.Alerts.WebhookSecretFile }),
		listSetting("alerts.slack_url_file", "LEAKWATCH_SLACK_URL_FILE", true, func(c *Config) *[]string { return &c.Alerts.SlackURLFiles }, nonEmpty),
		pathSetting("alerts.log_file", "LEAKWATCH_ALERT_LOG", func(c *Config) *string { return &c.Alerts.LogFile }),
		durationSetting("alerts.wait", "LEAKWATCH_ALERT_WAIT", func(c *Config) **time.Duration { return &c.Alerts.Wait }, 0),
		stringSetting("watch.schedule", "LEAKWATCH_SCHEDULE", func(c *Config) *string { return &c.Watch.Schedule }, checkSchedule),
		stringSetting("watch.listen", "LEAKWATCH_LISTEN", func(c *Config) *string { return &c.Watch.Listen }, checkListen),
		boolSetting("watch.listen_any", "LEAKWATCH_LISTEN_ANY", func(c *Config) **bool { return &c.Watch.ListenAny }),
		intSetting("watch.unhealthy_after", "LEAKWATCH_UNHEALTHY_AFTER", func(c *Config) **int { return &c.Watch.UnhealthyAfter }, 1, 1000),
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

func stringSetting(key, env string, field func(*Config) *string, check func(string) error) Setting {
	return Setting{Key: key, Env: env, Type: "string",
		apply: func(c *Config, v string) error {
			v = strings.TrimSpace(v)
			if err := check(v); err != nil {
				return err
			}
			*field(c) = v
			return nil
		},
		get: func(c *Config) []string {
			if v := *field(c); v != "" {
				return []string{v}
			}
			return nil
		},
	}
}

func pathSetting(key, env string, field func(*Config) *string) Setting {
	s := stringSetting(key, env, field, nonEmpty)
	s.Type, s.Path = "path", true
	return s
}

func listSetting(key, env string, path bool, field func(*Config) *[]string, check func(string) error) Setting {
	typ := "list"
	if path {
		typ = "path list"
	}
	return Setting{Key: key, Env: env, Type: typ, List: true, Path: path,
		apply: func(c *Config, v string) error {
			v = strings.TrimSpace(v)
			if err := check(v); err != nil {
				return err
			}
			if len(*field(c)) >= maxListItems {
				return fmt.Errorf("more than %d items", maxListItems)
			}
			*field(c) = append(*field(c), v)
			return nil
		},
		clear: func(c *Config) { *field(c) = nil },
		get: func(c *Config) []string {
			if vs := *field(c); len(vs) > 0 {
				return append([]string(nil), vs...)
			}
			return nil
		},
	}
}

func intSetting(key, env string, field func(*Config) **int, lo, hi int) Setting {
	return Setting{Key: key, Env: env, Type: "int",
		apply: func(c *Config, v string) error {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("want an integer, got %q", v)
			}
			if n < lo || n > hi {
				return fmt.Errorf("%d is out of range %d..%d", n, lo, hi)
			}
			*field(c) = &n
			return nil
		},
		get: func(c *Config) []string {
			if p := *field(c); p != nil {
				return []string{strconv.Itoa(*p)}
			}
			return nil
		},
	}
}

func durationSetting(key, env string, field func(*Config) **time.Duration, lo time.Duration) Setting {
	return Setting{Key: key, Env: env, Type: "duration",
		apply: func(c *Config, v string) error {
			d, err := time.ParseDuration(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("want a duration such as 90s, 5m or 6h, got %q", v)
			}
			if d < lo {
				return fmt.Errorf("%s is below the minimum %s", d, lo)
			}
			*field(c) = &d
			return nil
		},
		get: func(c *Config) []string {
			if p := *field(c); p != nil {
				return []string{p.String()}
			}
			return nil
		},
	}
}

func sizeSetting(key, env string, field func(*Config) **int64) Setting {
	return Setting{Key: key, Env: env, Type: "size",
		apply: func(c *Config, v string) error {
			n, err := ParseSize(v)
			if err != nil {
				return err
			}
			*field(c) = &n
			return nil
		},
		get: func(c *Config) []string {
			if p := *field(c); p != nil {
				return []string{strconv.FormatInt(*p, 10)}
			}
			return nil
		},
	}
}

func boolSetting(key, env string, field func(*Config) **bool) Setting {
	return Setting{Key: key, Env: env, Type: "bool",
		apply: func(c *Config, v string) error {
			b, err := strconv.ParseBool(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("want true or false, got %q", v)
			}
			*field(c) = &b
			return nil
		},
		get: func(c *Config) []string {
			if p := *field(c); p != nil {
				return []string{strconv.FormatBool(*p)}
			}
			return nil
		},
	}
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
