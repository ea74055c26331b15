package local

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leakwatch/leakwatch/fingerprint"
	"github.com/leakwatch/leakwatch/fingerprint/hamming"
)

func parsePDQ(s string) error { _, err := hamming.ParseHash256(s); return err }

func TestReadHashLines(t *testing.T) {
	in := "# comment\n\n" +
		strings.Repeat("a", 64) + ",cap-1,face\n" +
		"zz\n" +
		strings.Repeat("b", 64) + "\n" +
		strings.Repeat("c", 64) + ",x,boat\n" +
		"1,2,3,4\n"
	var got []HashLine
	var bad []int
	err := ReadHashLines(strings.NewReader(in), parsePDQ, func(h HashLine) error { got = append(got, h); return nil },
		func(le *LineError) error { bad = append(bad, le.Line); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].CaptureID != "cap-1" || got[0].Kind != "face" || got[0].Line != 3 || got[1].Line != 5 {
		t.Fatalf("got %+v", got)
	}
	if len(bad) != 3 || bad[0] != 4 || bad[1] != 6 || bad[2] != 7 {
		t.Fatalf("bad lines %v, want [4 6 7]", bad)
	}
	// Failing on the first bad line stops the read with its number.
	stop := errors.New("stop")
	err = ReadHashLines(strings.NewReader(in), parsePDQ, func(HashLine) error { return nil }, func(le *LineError) error { return stop })
	if !errors.Is(err, stop) {
		t.Fatalf("err %v", err)
	}
	// An overlong line is an error, not a hang or a huge allocation.
	err = ReadHashLines(strings.NewReader(strings.Repeat("a", 10000)), parsePDQ, func(HashLine) error { return nil }, func(*LineError) error { return nil })
	var le *LineError
	if !errors.As(err, &le) || le.Line != 1 {
		t.Fatalf("long line: %v", err)
	}
}

func TestReadManifest(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	rows, err := ReadManifest(write("ok.csv", "file,capture_id,kind,lane\nimg/a.jpg,A-1,face,3\n/abs/b.png,,plate,\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].File != filepath.Join(dir, "img/a.jpg") || rows[0].CaptureID != "A-1" || rows[0].Meta["lane"] != "3" ||
		rows[1].CaptureID != "b" || rows[1].Kind != "plate" || rows[1].Meta != nil {
		t.Fatalf("rows %+v", rows)
	}
	for name, body := range map[string]string{
		"nofile.csv": "capture_id\nx\n",
		"dup.csv":    "file,capture_id\na.jpg,X\nb.jpg,X\n",
		"empty.csv":  "file\n\n\"\"\n",
	} {
		if _, err := ReadManifest(write(name, body)); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}

func FuzzReadHashLines(f *testing.F) {
	f.Add([]byte(strings.Repeat("a", 64) + ",id,face\nzz\n"))
	f.Add([]byte("#\n,,,\n\x00\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = ReadHashLines(strings.NewReader(string(data)), parsePDQ, func(h HashLine) error {
			if _, err := hamming.ParseHash256(h.Hex); err != nil {
				t.Fatalf("accepted bad hash %q", h.Hex)
			}
			return nil
		}, func(*LineError) error { return nil })
	})
}

// A hash list may name several hashes of one capture: a PDQ capture keeps
// them all, a repeated hash is a duplicate, and a second pHash for one
// capture is reported, never dropped silently.
func TestImportGroupsHashesByCapture(t *testing.T) {
	a := strings.Repeat("a", 64)
	b := strings.Repeat("b", 64)
	bankPath := filepath.Join(t.TempDir(), "bank.lwb")
	sum, err := Import(bankPath, strings.NewReader(a+",cap1\n"+b+",cap1\n"+a+",cap1\n"), ImportOptions{Algo: fingerprint.AlgoPDQ, Kind: "other", Source: "test"})
	if err != nil || sum != (ImportSummary{Imported: 2, Duplicates: 1}) {
		t.Fatalf("PDQ import: %+v, %v", sum, err)
	}
	bank, err := fingerprint.LoadBank(bankPath)
	if err != nil {
		t.Fatal(err)
	}
	bank.BuildIndex()
	for _, h := range []string{a, b} {
		if hits := Lookup(bank, fingerprint.AlgoPDQ, h, 0); len(hits) != 1 || hits[0].CaptureID != "cap1" {
			t.Errorf("lookup %s…: %+v, want cap1", h[:8], hits)
		}
	}
	var bad []int
	sum, err = Import(filepath.Join(t.TempDir(), "p.lwb"), strings.NewReader("aaaaaaaaaaaaaaaa,p1\nbbbbbbbbbbbbbbbb,p1\n"), ImportOptions{Algo: fingerprint.AlgoPHash, Kind: "other",
		OnMalformed: func(le *LineError) error { bad = append(bad, le.Line); return nil }})
	if err != nil || sum != (ImportSummary{Imported: 1, Malformed: 1}) || len(bad) != 1 || bad[0] != 2 {
		t.Fatalf("pHash import: %+v, %v, bad lines %v", sum, err, bad)
	}
}
