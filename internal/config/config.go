package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// MaxFileBytes bounds a configuration file.
const MaxFileBytes = 1 << 20

// EnvConfig names the configuration file when --config is not given.
const EnvConfig = "LEAKWATCH_CONFIG"

// maxListItems bounds a list value (seeds, hosts, endpoints).
const maxListItems = 10000

// Config is a configuration after environment overrides. A nil pointer,
// empty string or empty list means "not set": the command's default (or
// flag) applies.
type Config struct {
	Bank   string
	Store  string
	Seeds  []string
	Scope  Scope
	Limits Limits
	Tor    Tor
	Alerts Alerts
	Watch  Watch

	// origin records where each key's value came from, for messages.
	origin map[string]string
}

// Scope widens or groups what a scan covers.
type Scope struct {
	AllowHosts []string
	GroupBy    string
}

// Limits bound a scan.
type Limits struct {
	MaxDepth      *int
	MaxPages      *int
	Parallelism   *int
	Delay         *time.Duration
	Timeout       *time.Duration
	MaxImageBytes *int64
	MaxPageBytes  *int64
	PDQRadius     *int
	// Uneven-crop matching (keypoint patches).
	NoPatches        *bool
	PatchMatchRadius *int
	// Hostile-input bounds.
	MaxPixels            *int
	MaxLinksPerPage      *int
	MaxArchiveBytes      *int64
	ArchiveTimeout       *time.Duration
	ArchiveMaxTotalBytes *int64
	ArchiveMaxEntryBytes *int64
	ArchiveMaxEntries    *int
	ArchiveMaxRatio      *int
	ArchiveMaxDepth      *int
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
	Wait    *time.Duration
}

// Watch configures "leakwatch watch".
type Watch struct {
	Schedule       string
	Listen         string
	ListenAny      *bool
	UnhealthyAfter *int
}

// Origin says where key's value came from ("leakwatch.yaml:12",
// "LEAKWATCH_MAX_PAGES") or "" when it is not set.
func (c *Config) Origin(key string) string { return c.origin[key] }

// Values returns every set key with its value(s) in command-line syntax
// (durations like "1m30s", sizes in bytes), ready for flag.Set. Keys are
// those of Settings.
func (c *Config) Values() map[string][]string {
	out := map[string][]string{}
	for _, s := range Settings() {
		if v := s.get(c); v != nil {
			out[s.Key] = v
		}
	}
	return out
}

// Load reads the configuration file at path (none if path is ""), then
// applies the LEAKWATCH_* variables from getenv. A nil readFile means
// os.ReadFile. The error, if any, is a *Error listing every problem.
func Load(path string, getenv func(string) string, readFile func(string) ([]byte, error)) (*Config, error) {
	if readFile == nil {
		readFile = os.ReadFile
	}
	c := &Config{origin: map[string]string{}}
	var probs []Problem
	if path != "" {
		data, err := readFile(path)
		if err != nil {
			return nil, &Error{Problems: []Problem{{Where: path, Msg: fmt.Sprintf("cannot read configuration: %v", unwrapPath(err))}}}
		}
		probs = append(probs, c.parseFile(path, data)...)
	}
	if getenv != nil {
		probs = append(probs, c.applyEnv(getenv)...)
	}
	if len(probs) > 0 {
		return c, &Error{Problems: probs}
	}
	return c, nil
}

// Parse reads configuration data as if from a file named name (used in
// messages and to resolve relative paths).
func Parse(name string, data []byte) (*Config, error) {
	c := &Config{origin: map[string]string{}}
	if probs := c.parseFile(name, data); len(probs) > 0 {
		return c, &Error{Problems: probs}
	}
	return c, nil
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func (c *Config) parseFile(path string, data []byte) []Problem {
	name := filepath.Base(path)
	if ext := strings.ToLower(filepath.Ext(path)); ext == ".toml" || ext == ".json" {
		return []Problem{{Where: name, Msg: fmt.Sprintf("%s files are not supported: write the configuration in YAML (.yaml)", strings.TrimPrefix(ext, "."))}}
	}
	if len(data) > MaxFileBytes {
		return []Problem{{Where: name, Msg: fmt.Sprintf("file is %d bytes, the limit is %d", len(data), MaxFileBytes)}}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // empty file: nothing set
		}
		return []Problem{{Where: name, Msg: "not valid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return []Problem{{Where: name, Msg: "holds more than one YAML document; keep one"}}
	}
	p := fileParser{c: c, name: name, dir: filepath.Dir(path)}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil
	}
	p.mapping(root, "")
	return p.probs
}
