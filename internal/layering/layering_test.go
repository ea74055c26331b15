package layering

import (
	"bufio"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// edge is one import of one of our packages by another, with paths
// relative to the module root ("internal/scan" imports "crawler").
type edge struct {
	from, to string
	test     bool // imported only by _test.go files
}

// leaves may import nothing of ours outside their own subtree (a parent
// and its subpackages count as one leaf); their tests may also use
// fixtures. Each is a self-contained job that the pipeline wires together.
var leaves = []string{
	"alerts",
	"crawler",
	"fingerprint",
	"internal/archive",
	"internal/attribution",
	"internal/config",
	"internal/evidence",
	"internal/freeport",
	"internal/imagefile",
	"internal/lock",
	"internal/metrics",
	"internal/safetext",
	"internal/store",
	"internal/synth",
	"internal/tor",
}

// pure packages are leaves that do no I/O and hold no state (a
// computation on values): any leaf may use them. The store attributes an
// incident inside the transaction that announces it; archive entry names
// are made safe to show with safetext.
var pure = []string{
	"internal/attribution",
	"internal/safetext",
}

// shared are leaves that hold no state and that other leaves' test
// servers need alike: the private Tor network and the test PostgreSQL
// both pick their ports with freeport.
var shared = []string{
	"internal/freeport",
}

// fixtureUsers may import fixtures from production code: the fixtures
// themselves, the robustness suite that measures matching on them, and the
// demo, which serves them from loopback dump sites. Tests anywhere may.
var fixtureUsers = []string{
	"fixtures",
	"internal/demo",
	"internal/robustness",
}

// rule reports why an edge is forbidden, or "" when it is allowed.
type rule struct {
	name  string
	check func(edge) string
}

var rules = []rule{
	{"leaf packages import only their own subtree", func(e edge) string {
		leaf := owner(leaves, e.from)
		if leaf == "" || within(leaf, e.to) || owner(pure, e.to) != "" || owner(shared, e.to) != "" {
			return ""
		}
		if e.test && within("fixtures", e.to) {
			return ""
		}
		return fmt.Sprintf("%s is a leaf package and may not import %s", leaf, e.to)
	}},
	{"crawler knows nothing of hashes, incidents or alerts", func(e edge) string {
		if !within("crawler", e.from) {
			return ""
		}
		for _, p := range []string{"fingerprint", "internal/store", "alerts"} {
			if within(p, e.to) {
				return fmt.Sprintf("crawler may not import %s, even in tests", e.to)
			}
		}
		return ""
	}},
	{"fixtures stay out of production code", func(e edge) string {
		if e.test || !within("fixtures", e.to) || owner(fixtureUsers, e.from) != "" {
			return ""
		}
		return fmt.Sprintf("only tests, the demo and the robustness suite may import %s", e.to)
	}},
}

// within reports whether pkg is dir or one of its subpackages.
func within(dir, pkg string) bool {
	return pkg == dir || strings.HasPrefix(pkg, dir+"/")
}

// owner returns the entry of dirs that pkg lies within, or "".
func owner(dirs []string, pkg string) string {
	for _, d := range dirs {
		if within(d, pkg) {
			return d
		}
	}
	return ""
}

// violations applies every rule to every edge.
func violations(edges []edge) []string {
	var out []string
	for _, e := range edges {
		for _, r := range rules {
			if why := r.check(e); why != "" {
				kind := ""
				if e.test {
					kind = " (test)"
				}
				out = append(out, fmt.Sprintf("%s -> %s%s: %s [%s]", e.from, e.to, kind, why, r.name))
			}
		}
	}
	return out
}

func TestRules(t *testing.T) {
	tests := []struct {
		name      string
		edge      edge
		forbidden bool
	}{
		{"pipeline wires leaves", edge{from: "internal/scan", to: "crawler"}, false},
		{"crawler to fingerprint", edge{from: "crawler", to: "fingerprint"}, true},
		{"crawler test to store", edge{from: "crawler", to: "internal/store", test: true}, true},
		{"crawler to archive", edge{from: "crawler", to: "internal/archive"}, true},
		{"store to alerts", edge{from: "internal/store", to: "alerts"}, true},
		{"alerts to config", edge{from: "alerts", to: "internal/config"}, true},
		{"fingerprint subpackage to store", edge{from: "fingerprint/pdq", to: "internal/store"}, true},
		{"fingerprint to its subpackage", edge{from: "fingerprint", to: "fingerprint/hamming"}, false},
		{"between fingerprint subpackages", edge{from: "fingerprint/pdq", to: "fingerprint/hamming"}, false},
		{"tor to its test network", edge{from: "internal/tor", to: "internal/tor/privnet", test: true}, false},
		{"fingerprint test uses fixtures", edge{from: "fingerprint", to: "fixtures/imagegen", test: true}, false},
		{"fingerprint uses fixtures", edge{from: "fingerprint", to: "fixtures/imagegen"}, true},
		{"scan uses fixtures", edge{from: "internal/scan", to: "fixtures/corpus"}, true},
		{"cmd uses fixtures", edge{from: "cmd/leakwatch", to: "fixtures/corpus"}, true},
		{"scan test uses fixtures", edge{from: "internal/scan", to: "fixtures/corpus", test: true}, false},
		{"demo uses fixtures", edge{from: "internal/demo", to: "fixtures/corpus"}, false},
		{"robustness uses fixtures", edge{from: "internal/robustness", to: "fixtures/transform"}, false},
		{"fixtures use fixtures", edge{from: "fixtures/corpus", to: "fixtures/imagegen"}, false},
		{"store uses a pure package", edge{from: "internal/store", to: "internal/attribution"}, false},
		{"pure package to store", edge{from: "internal/attribution", to: "internal/store"}, true},
		{"prefix is not a subtree", edge{from: "crawlerx", to: "fingerprint"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := violations([]edge{tt.edge})
			if (len(got) > 0) != tt.forbidden {
				t.Errorf("%+v: forbidden = %v, want %v (%q)", tt.edge, len(got) > 0, tt.forbidden, got)
			}
		})
	}
}

// TestImports checks the module's real import graph against the rules.
func TestImports(t *testing.T) {
	root, module := moduleRoot(t)
	edges, pkgs, err := readEdges(root, module)
	if err != nil {
		t.Fatal(err)
	}
	// A walker that found nothing would pass every rule: make sure it saw
	// the packages the rules name and a known edge.
	for _, d := range append(slices.Clone(leaves), "fixtures", "internal/scan") {
		if !slices.ContainsFunc(pkgs, func(p string) bool { return within(d, p) }) {
			t.Errorf("no package %s found under %s: update the rules after a move", d, root)
		}
	}
	if !slices.Contains(edges, edge{from: "internal/scan", to: "crawler"}) {
		t.Errorf("edge internal/scan -> crawler not found among %d edges", len(edges))
	}
	for _, v := range violations(edges) {
		t.Error(v)
	}
}

// moduleRoot finds go.mod above the test's directory and returns its
// directory and module path.
func moduleRoot(t *testing.T) (dir, module string) {
	t.Helper()
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for {
		f, err := os.Open(filepath.Join(dir, "go.mod"))
		if err == nil {
			defer f.Close()
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				if m, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
					return dir, strings.Trim(strings.TrimSpace(m), `"`)
				}
			}
			t.Fatalf("%s/go.mod names no module", dir)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found")
		}
		dir = parent
	}
}

// readEdges parses the import clauses of every .go file under root (all
// build tags alike, testdata and hidden directories skipped, as the go
// tool does) and returns the distinct edges between packages of module,
// an edge counting as a test edge only when no non-test file has it, and
// the packages seen.
func readEdges(root, module string) ([]edge, []string, error) {
	type key struct{ from, to string }
	prod := map[key]bool{}
	test := map[key]bool{}
	seen := map[string]bool{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p != root && (name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(p, "go.mod")); p != root && err == nil {
				return filepath.SkipDir // another module
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, filepath.Dir(p))
		if err != nil {
			return err
		}
		from := filepath.ToSlash(rel)
		seen[from] = true
		for _, imp := range f.Imports {
			ip, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			to, ok := strings.CutPrefix(ip, module+"/")
			if !ok || to == from {
				continue
			}
			if strings.HasSuffix(name, "_test.go") {
				test[key{from, to}] = true
			} else {
				prod[key{from, to}] = true
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	var edges []edge
	for k := range prod {
		edges = append(edges, edge{from: k.from, to: k.to})
	}
	for k := range test {
		if !prod[k] {
			edges = append(edges, edge{from: k.from, to: k.to, test: true})
		}
	}
	if len(edges) == 0 {
		return nil, nil, errors.New("no imports between packages found")
	}
	slices.SortFunc(edges, func(a, b edge) int {
		return strings.Compare(a.from+" "+a.to, b.from+" "+b.to)
	})
	pkgs := make([]string, 0, len(seen))
	for p := range seen {
		pkgs = append(pkgs, p)
	}
	slices.Sort(pkgs)
	return edges, pkgs, nil
}

// TestReadmeLayout checks that README.md's Layout table names every
// package in the tree and nothing that is gone, so the map a newcomer
// reads stays true. A row's first cell names packages in backquotes; "x/..."
// covers x and everything under it.
func TestReadmeLayout(t *testing.T) {
	root, module := moduleRoot(t)
	_, pkgs, err := readEdges(root, module)
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	named, err := layoutNames(string(readme))
	if err != nil {
		t.Fatal(err)
	}
	covered := func(pkg string) bool {
		for _, n := range named {
			if dir, ok := strings.CutSuffix(n, "/..."); ok && within(dir, pkg) || n == pkg {
				return true
			}
		}
		return false
	}
	for _, p := range pkgs {
		if !covered(p) {
			t.Errorf("package %s is missing from README.md's Layout table", p)
		}
	}
	for _, n := range named {
		dir, wild := strings.CutSuffix(n, "/...")
		if !slices.ContainsFunc(pkgs, func(p string) bool { return p == dir || wild && within(dir, p) }) {
			t.Errorf("README.md's Layout table names %s, which is not a package", n)
		}
	}
}

// layoutNames returns the backquoted names in the first cell of each row
// of the table under "## Layout".
func layoutNames(readme string) ([]string, error) {
	_, section, ok := strings.Cut(readme, "\n## Layout\n")
	if !ok {
		return nil, errors.New(`README.md has no "## Layout" section`)
	}
	if next := strings.Index(section, "\n## "); next >= 0 {
		section = section[:next]
	}
	var names []string
	for line := range strings.Lines(section) {
		cells := strings.Split(line, "|")
		if len(cells) < 3 {
			continue
		}
		parts := strings.Split(cells[1], "`")
		for i := 1; i < len(parts); i += 2 {
			names = append(names, parts[i])
		}
	}
	if len(names) == 0 {
		return nil, errors.New("README.md's Layout section has no table of packages")
	}
	return names, nil
}

func TestLayoutNames(t *testing.T) {
	tests := []struct {
		name, readme string
		want         []string
		err          bool
	}{
		{"no section", "# x\n## Usage\n| `a` | b |\n", nil, true},
		{"no table", "# x\n## Layout\ntext\n", nil, true},
		{"rows", "## Layout\n\n| package | job |\n| --- | --- |\n| `a` | uses `b` |\n| `c`, `d/...` | e |\n\n## Next\n| `z` | y |\n",
			[]string{"a", "c", "d/..."}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := layoutNames("\n" + tt.readme)
			if (err != nil) != tt.err || !slices.Equal(got, tt.want) {
				t.Errorf("layoutNames = %q, %v; want %q, error %v", got, err, tt.want, tt.err)
			}
		})
	}
}
