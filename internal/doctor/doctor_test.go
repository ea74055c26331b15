package doctor

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteText(t *testing.T) {
	cs := []Check{{Name: "tor", OK: true, Detail: "off"}, {Name: "bank", Detail: "missing", Hint: "enroll"}}
	var b strings.Builder
	if err := WriteText(&b, cs); err != nil {
		t.Fatal(err)
	}
	want := "ok   tor      off\nFAIL bank     missing\n              hint: enroll\n"
	if b.String() != want || Failed(cs) != 1 {
		t.Errorf("got %q (failed %d), want %q", b.String(), Failed(cs), want)
	}
}

func TestChecksOffline(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name string
		c    Check
		ok   bool
	}{
		{"tor off", Tor(context.Background(), "off", "", nil, nil), true},
		{"bad tor mode", Tor(context.Background(), "always", "", nil, nil), false},
		{"no bank", Bank(filepath.Join(dir, "none.lwb")), false},
		{"no secret", Secret(func(string) string { return "" }, nil), false},
		{"not a URL", Endpoint(context.Background(), "ftp://x", false), false},
		{"Tor mode: not connected to", Endpoint(context.Background(), "http://127.0.0.1:1/hook", true), true},
		{"off: connected to", Endpoint(context.Background(), "http://127.0.0.1:1/hook", false), false},
	}
	for _, tc := range cases {
		if tc.c.OK != tc.ok || tc.c.Detail == "" {
			t.Errorf("%s: %+v", tc.name, tc.c)
		}
	}
	if cs := Store(context.Background(), filepath.Join(dir, "lw.db")); len(cs) != 2 || !cs[0].OK || !cs[1].OK {
		t.Errorf("store: %+v", cs)
	}
}
