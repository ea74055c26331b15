package watch

import "testing"

func TestCheckListenAddr(t *testing.T) {
	cases := []struct {
		addr   string
		anyOK  bool
		wantOK bool
	}{
		{"127.0.0.1:9477", false, true},
		{"[::1]:9477", false, true},
		{"localhost:9477", false, true},
		{"off", false, true},
		{"0.0.0.0:9477", false, false},
		{":9477", false, false},
		{"192.0.2.10:9477", false, false},
		{"metrics.example.org:9477", false, false},
		{"0.0.0.0:9477", true, true},
		{"127.0.0.1", false, false},
	}
	for _, tc := range cases {
		err := CheckListen(tc.addr, tc.anyOK)
		if (err == nil) != tc.wantOK {
			t.Errorf("CheckListen(%q, %v) = %v, want ok=%v", tc.addr, tc.anyOK, err, tc.wantOK)
		}
	}
}
