package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
)

// MaxFileBytes bounds a configuration file.
const MaxFileBytes = 1 << 20

// EnvConfig names the configuration file when --config is not given.
const EnvConfig = "LEAKWATCH_CONFIG"

// maxListItems bounds a list value (seeds, hosts, endpoints).
const maxListItems = 10000

// Config is what the configuration file and the LEAKWATCH_* variables
// set. Only the keys with an Origin are set; the others hold zero values
// and the command's flag (or its default) applies.
type Config struct {
	Options

	// origin records where each key's value came from, for messages.
	origin map[string]string
}

// DefaultStore is the store when none is configured:
// $XDG_DATA_HOME/leakwatch/leakwatch.db, with XDG's fallback to
// ~/.local/share.
func DefaultStore(getenv func(string) string) string {
	base := getenv("XDG_DATA_HOME")
	if base == "" {
		home := getenv("HOME")
		if home == "" {
			home, _ = os.UserHomeDir()
		}
		base = filepath.Join(home, ".local", "share")
	}
	return filepath.Join(base, "leakwatch", "leakwatch.db")
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
		if _, set := c.origin[s.Key]; set {
			if v := s.format(s.field(&c.Options)); len(v) > 0 {
				out[s.Key] = v
			}
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
