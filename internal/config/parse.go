package config

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// fileParser walks the YAML tree against Settings, collecting problems
// instead of stopping at the first.
type fileParser struct {
	c     *Config
	name  string // file name for messages
	dir   string // for relative paths
	probs []Problem
	seen  map[string]bool
}

func (p *fileParser) problem(n *yaml.Node, key, format string, args ...any) {
	where := p.name
	if n != nil && n.Line > 0 {
		where = fmt.Sprintf("%s:%d", p.name, n.Line)
	}
	p.probs = append(p.probs, Problem{Key: key, Where: where, Msg: fmt.Sprintf(format, args...)})
}

// settingsByKey and sections are derived from Settings.
func settingsByKey() (map[string]Setting, map[string]bool) {
	byKey := map[string]Setting{}
	sections := map[string]bool{}
	for _, s := range Settings() {
		byKey[s.Key] = s
		if i := strings.LastIndexByte(s.Key, '.'); i > 0 {
			sections[s.Key[:i]] = true
		}
	}
	return byKey, sections
}

func resolve(n *yaml.Node) *yaml.Node {
	// Only one level: an alias to an alias is not something a
	// configuration needs, and following chains invites surprises.
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		return n.Alias
	}
	return n
}

func (p *fileParser) mapping(n *yaml.Node, prefix string) {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		what := "the file"
		if prefix != "" {
			what = strings.TrimSuffix(prefix, ".")
		}
		p.problem(n, strings.TrimSuffix(prefix, "."), "%s must be a mapping of keys to values", what)
		return
	}
	if p.seen == nil {
		p.seen = map[string]bool{}
	}
	byKey, sections := settingsByKey()
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := n.Content[i], n.Content[i+1]
		if kn.Kind != yaml.ScalarNode {
			p.problem(kn, prefix, "keys must be plain words")
			continue
		}
		key := prefix + kn.Value
		if p.seen[key] {
			p.problem(kn, key, "set twice")
			continue
		}
		p.seen[key] = true
		if msg, bad := forbidden[key]; bad {
			p.problem(kn, key, "%s", msg)
			continue
		}
		if sections[key] {
			if resolve(vn).Tag == "!!null" {
				continue
			}
			p.mapping(vn, key+".")
			continue
		}
		s, ok := byKey[key]
		if !ok {
			p.problem(kn, key, "unknown key%s", suggest(key, byKey, sections))
			continue
		}
		p.leaf(s, kn, vn)
	}
}

func (p *fileParser) leaf(s Setting, kn, vn *yaml.Node) {
	vn = resolve(vn)
	if vn.Kind == yaml.ScalarNode && vn.Tag == "!!null" {
		return // "key:" with no value leaves it unset
	}
	var items []*yaml.Node
	switch {
	case vn.Kind == yaml.ScalarNode:
		items = []*yaml.Node{vn}
	case vn.Kind == yaml.SequenceNode && s.List:
		for _, it := range vn.Content {
			items = append(items, resolve(it))
		}
	case s.List:
		p.problem(kn, s.Key, "want a list of %s values", elemType(s))
		return
	default:
		p.problem(kn, s.Key, "want a single %s value", s.Type)
		return
	}
	for _, it := range items {
		if it.Kind != yaml.ScalarNode {
			p.problem(it, s.Key, "list items must be single values")
			continue
		}
		v := it.Value
		if s.Path && strings.TrimSpace(v) != "" && !filepath.IsAbs(strings.TrimSpace(v)) && !strings.Contains(v, "://") {
			// A URL (the store's postgres://) is not relative to the file.
			v = filepath.Join(p.dir, strings.TrimSpace(v))
		}
		if err := s.apply(&p.c.Options, v); err != nil {
			p.problem(it, s.Key, "%v", err)
			continue
		}
		p.c.origin[s.Key] = fmt.Sprintf("%s:%d", p.name, it.Line)
	}
}

func elemType(s Setting) string {
	if s.Path {
		return "path"
	}
	return "string"
}

// applyEnv overrides file values with LEAKWATCH_* variables. An empty
// variable counts as unset.
func (c *Config) applyEnv(getenv func(string) string) []Problem {
	var probs []Problem
	for _, s := range Settings() {
		if s.Env == "" {
			continue
		}
		v := getenv(s.Env)
		if strings.TrimSpace(v) == "" {
			continue
		}
		vals := []string{v}
		if s.List {
			*s.field(&c.Options).(*[]string) = nil
			vals = strings.Fields(v)
		}
		ok := true
		for _, item := range vals {
			if err := s.apply(&c.Options, item); err != nil {
				probs = append(probs, Problem{Key: s.Key, Where: s.Env, Msg: err.Error()})
				ok = false
			}
		}
		if ok {
			c.origin[s.Key] = s.Env
		}
	}
	return probs
}

// suggest proposes a known key close to an unknown one.
func suggest(key string, byKey map[string]Setting, sections map[string]bool) string {
	var cands []string
	for k := range byKey {
		cands = append(cands, k)
	}
	for k := range sections {
		cands = append(cands, k)
	}
	sort.Strings(cands)
	best, bestD := "", 4
	for _, k := range cands {
		// Compare like with like: the same nesting, or the same last part
		// at another level (e.g. max_pages at the top instead of limits).
		d := min(editDistance(key, k), editDistance(lastPart(key), lastPart(k)))
		if d < bestD {
			best, bestD = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %s?)", best)
}

func lastPart(k string) string { return k[strings.LastIndexByte(k, '.')+1:] }

// editDistance is the Levenshtein distance, bounded to short keys.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
