package ledger

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/leakwatch/leakwatch/internal/store"
)

var day = time.Date(2026, 3, 4, 22, 0, 0, 0, time.UTC)

func knownSet(ids ...string) func(string) bool {
	return func(id string) bool { return slices.Contains(ids, id) }
}

func TestReadTransfer(t *testing.T) {
	known := knownSet("a1", "a2", "a3", "b,1")
	cases := []struct {
		name     string
		in       string
		fail     bool // --on-error fail
		want     []string
		badLines []int
		counts   Counts
		err      bool
	}{
		{"plain", "# export 7\na1\n\n a2 \na1\n", false, []string{"a1", "a2"}, nil, Counts{Captures: 2, Duplicates: 1}, false},
		{"unknown skipped", "a1\nzz\na3\n", false, []string{"a1", "a3"}, []int{2}, Counts{Captures: 2, Unknown: 1}, false},
		{"unknown refused", "a1\nzz\na3\n", true, nil, []int{2}, Counts{Unknown: 1}, true},
		{"csv", "\ufeffname,Capture_ID\nx,a2\ny,\"b,1\"\nz,nope\n", false, []string{"a2", "b,1"}, []int{4}, Counts{Captures: 2, Unknown: 1}, false},
		{"csv empty id", "capture_id\na1\n\"\"\n", false, []string{"a1"}, []int{3}, Counts{Captures: 1, Malformed: 1}, false},
		{"control characters", "a1\na\x01b\n", false, []string{"a1"}, []int{2}, Counts{Captures: 1, Malformed: 1}, false},
		{"nothing left", "zz\n", false, nil, []int{1}, Counts{Unknown: 1}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var lines []int
			o := Options{Known: known, Now: func() time.Time { return day }, Bad: func(le *LineError) error {
				lines = append(lines, le.Line)
				if tc.fail {
					return le
				}
				return nil
			}}
			tr, c, err := ReadTransfer(strings.NewReader(tc.in), store.Transfer{ID: "T1", Recipient: "Acme"}, o)
			if (err != nil) != tc.err {
				t.Fatalf("err %v", err)
			}
			if !slices.Equal(lines, tc.badLines) || c != tc.counts {
				t.Errorf("bad lines %v counts %+v; want %v %+v", lines, c, tc.badLines, tc.counts)
			}
			if !tc.err && (!slices.Equal(tr.Captures, tc.want) || tr.Date != "2026-03-04") {
				t.Errorf("transfer %+v, want captures %v", tr, tc.want)
			}
		})
	}
}

func TestReadTransferChecksFields(t *testing.T) {
	for _, tr := range []store.Transfer{{Recipient: "x"}, {ID: "x"}, {ID: "x", Recipient: "y", Date: "4/3/2026"}, {ID: "x", Recipient: "y\x01"}} {
		if _, _, err := ReadTransfer(strings.NewReader("a\n"), tr, Options{}); err == nil {
			t.Errorf("%+v accepted", tr)
		}
	}
}

func TestReadRegister(t *testing.T) {
	in := "transfer_id,recipient,date,capture_id,note,ignored\n" +
		"T1,Acme,2026-01-02,a1,weekly,x\n" +
		"T2,Bolt,,a2,,\n" +
		"T1,Acme,2026-01-02,a2,weekly,\n" +
		"T1,Acme,2026-01-02,a2,weekly,\n" +
		"T1,Bolt,2026-01-02,a3,weekly,\n" + // recipient differs: bad
		"T3,Core,2026-13-01,a1,,\n" + // bad date
		"T4,Core,2026-01-05,zz,,\n" // unknown: T4 has nothing
	var lines []int
	var unknown int
	ts, c, err := ReadRegister(strings.NewReader(in), Options{Known: knownSet("a1", "a2", "a3"), Now: func() time.Time { return day },
		Bad: func(le *LineError) error {
			lines = append(lines, le.Line)
			if errors.Is(le, ErrUnknownCapture) {
				unknown++
			}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(lines, []int{6, 7, 8}) || unknown != 1 || c != (Counts{Captures: 3, Duplicates: 1, Unknown: 1, Malformed: 2}) {
		t.Errorf("bad lines %v, counts %+v", lines, c)
	}
	if len(ts) != 2 || ts[0].ID != "T1" || !slices.Equal(ts[0].Captures, []string{"a1", "a2"}) || ts[0].Note != "weekly" ||
		ts[1].ID != "T2" || ts[1].Date != "2026-03-04" {
		t.Errorf("transfers %+v", ts)
	}
	if _, _, err := ReadRegister(strings.NewReader("transfer_id,capture_id\nT1,a1\n"), Options{}); err == nil {
		t.Error("register without a recipient column accepted")
	}
	_, _, err = ReadRegister(strings.NewReader(in), Options{Known: knownSet("a1", "a2", "a3")})
	var le *LineError
	if !errors.As(err, &le) || le.Line != 6 {
		t.Errorf("refusing register: %v", err)
	}
}

// A stray quote makes the CSV reader take the rows up to the next quote
// as one field: the import stops rather than skip them as one bad line.
func TestReadRegisterStrayQuote(t *testing.T) {
	for _, in := range []string{
		"transfer_id,recipient,date,capture_id,note\nT1,Acme,2026-01-02,a1,\"weekly\nT1,Acme,2026-01-02,a2,x\nT1,Acme,2026-01-02,a3,\"\n",
		"transfer_id,recipient,date,capture_id,note\nT1,Acme,2026-01-02,a1,\"weekly\nT1,Acme,2026-01-02,a2,x\nT1,Acme,2026-01-02,a3,y\n",
	} {
		skipped := 0
		_, _, err := ReadRegister(strings.NewReader(in), Options{Known: knownSet("a1", "a2", "a3"), Now: func() time.Time { return day },
			Bad: func(*LineError) error { skipped++; return nil }})
		if err == nil || !strings.Contains(err.Error(), "line 2") {
			t.Errorf("stray quote: %v (%d lines skipped), want an error naming line 2", err, skipped)
		}
	}
}

func FuzzReadCaptureList(f *testing.F) {
	for _, s := range []string{"a1\n# c\n\na2\n", "capture_id,x\n\"a,1\",2\n", "capture_id\n\"unterminated\n", "\ufeffcapture_id\r\na\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ls, _ := ReadCaptureList(strings.NewReader(string(b)), func(*LineError) error { return nil })
		for _, l := range ls {
			if l.CaptureID == "" || len(l.CaptureID) > maxIDBytes || l.Line < 1 {
				t.Fatalf("bad line %+v", l)
			}
		}
	})
}

func FuzzReadRegister(f *testing.F) {
	f.Add([]byte("transfer_id,recipient,date,capture_id,note\nT1,Acme,2026-01-02,a1,n\nT1,Acme,2026-01-02,a2,n\n"))
	f.Add([]byte("transfer_id,recipient,capture_id\n\"T\"1,A,\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ts, _, err := ReadRegister(strings.NewReader(string(b)), Options{Bad: func(*LineError) error { return nil }, Now: func() time.Time { return day }})
		if err != nil {
			return
		}
		for _, tr := range ts {
			if tr.ID == "" || tr.Recipient == "" || len(tr.Captures) == 0 || len(tr.Date) != 10 {
				t.Fatalf("bad transfer %+v", tr)
			}
		}
	})
}
