package archive_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/leakwatch/leakwatch/internal/archive"
	"github.com/leakwatch/leakwatch/internal/archive/archivetest"
)

func TestWalkRAR(t *testing.T) {
	photo := noise(7, 200<<10)
	files := []archivetest.File{
		{Name: "dir/"},
		{Name: "dir/photo.jpg", Body: photo},
		{Name: "notes.txt", Body: []byte("hello\n")},
		{Name: "empty.txt"},
	}
	want := map[string]string{"dir/photo.jpg": string(photo), "notes.txt": "hello\n", "empty.txt": ""}
	inZip := archivetest.Zip(archivetest.File{Name: "deep.txt", Body: []byte("deep\n")})
	tests := []struct {
		name       string
		data       []byte
		want       map[string]string
		notRegular int
		reports    map[string]error
	}{
		{"rar5", archivetest.RAR5(append(files, archivetest.File{Name: "link", Link: "notes.txt"})...), want, 1, nil},
		{"rar4", archivetest.RAR4(files...), want, 0, nil},
		{"zip in rar5", archivetest.RAR5(archivetest.File{Name: "in.zip", Body: inZip}), map[string]string{"in.zip!deep.txt": "deep\n"}, 0, nil},
		{"rar5 in zip", archivetest.Zip(archivetest.File{Name: "x/a.rar", Body: archivetest.RAR5(files...)}), prefixed("x/a.rar!", want), 0, nil},
		{"rar4 in rar5", archivetest.RAR5(archivetest.File{Name: "old.rar", Body: archivetest.RAR4(files...)}), prefixed("old.rar!", want), 0, nil},
		{"encrypted entry", archivetest.RAR5(
			archivetest.File{Name: "secret.jpg", Body: []byte("secret"), Encrypted: true},
			archivetest.File{Name: "open.txt", Body: []byte("open")},
		), map[string]string{"open.txt": "open"}, 0, map[string]error{"secret.jpg": archive.ErrEncrypted}},
		{"encrypted rar4 entry", archivetest.RAR4(archivetest.File{Name: "secret.jpg", Body: []byte("secret"), Encrypted: true}),
			map[string]string{}, 0, map[string]error{"secret.jpg": archive.ErrEncrypted}},
		{"first volume only", archivetest.RAR5Volumes(64<<10, files...)[0], map[string]string{"notes.txt": "hello\n"}, 0, nil},
	}
	for _, tt := range tests {
		for _, m := range modes {
			t.Run(tt.name+"/"+m.name, func(t *testing.T) {
				res := walk(t, m.wrap(tt.data), "a.rar", archive.Limits{})
				if tt.name == "first volume only" {
					// The photo continues in a volume that was not given:
					// the walk ends with that reason, never silently.
					if !errors.Is(res.err, archive.ErrCorrupt) {
						t.Fatalf("Walk = %v, want ErrCorrupt for the missing volume", res.err)
					}
					return
				}
				if res.err != nil {
					t.Fatalf("Walk: %v", res.err)
				}
				if diff := cmp.Diff(tt.want, res.entries); diff != "" {
					t.Errorf("entries (-want +got):\n%s", diff)
				}
				if got := res.stats.Skipped["not_regular"]; got != tt.notRegular {
					t.Errorf("not_regular = %d, want %d", got, tt.notRegular)
				}
				got := map[string]error{}
				for _, r := range res.reports {
					got[r.path] = r.err
				}
				if len(got) != len(tt.reports) {
					t.Errorf("reports = %v, want %v", got, tt.reports)
				}
				for p, sentinel := range tt.reports {
					if !errors.Is(got[p], sentinel) {
						t.Errorf("report for %s = %v, want %v", p, got[p], sentinel)
					}
				}
			})
		}
	}
}

func prefixed(prefix string, m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[prefix+k] = v
	}
	return out
}

// TestWalkRARLimits checks that RAR is held to the limits every format is.
func TestWalkRARLimits(t *testing.T) {
	big := noise(8, 300<<10)
	many := make([]archivetest.File, 50)
	for i := range many {
		many[i] = archivetest.File{Name: string(rune('a'+i%26)) + string(rune('a'+i/26)) + ".txt", Body: []byte("x")}
	}
	deep := archivetest.RAR5(archivetest.File{Name: "l1.rar", Body: archivetest.RAR5(archivetest.File{Name: "l2.zip",
		Body: archivetest.Zip(archivetest.File{Name: "l3.rar", Body: archivetest.RAR4(archivetest.File{Name: "x", Body: []byte("x")})})})})
	tests := []struct {
		name     string
		data     []byte
		lim      archive.Limits
		fatal    error // whole-walk error
		reported error // entry-level report
	}{
		{"entry too large", archivetest.RAR5(archivetest.File{Name: "big.jpg", Body: big}), archive.Limits{MaxEntryBytes: 100 << 10}, nil, archive.ErrEntryTooLarge},
		{"too many entries", archivetest.RAR5(many...), archive.Limits{MaxEntries: 10}, archive.ErrTooManyEntries, nil},
		{"total too large", archivetest.RAR5(archivetest.File{Name: "a", Body: big}, archivetest.File{Name: "b", Body: big}), archive.Limits{MaxUncompressedBytes: 400 << 10}, archive.ErrTooLarge, nil},
		{"compressed too large", archivetest.RAR4(archivetest.File{Name: "a", Body: big}), archive.Limits{MaxCompressedBytes: 100 << 10}, archive.ErrCompressedTooLarge, nil},
		{"too deep", deep, archive.Limits{MaxDepth: 3}, nil, archive.ErrTooDeep},
		// The library cannot go on past an entry it refuses to open, so
		// this one ends the walk.
		{"dictionary bomb", archivetest.RAR5DictBomb(), archive.Limits{}, archive.ErrUnsupported, nil},
	}
	for _, tt := range tests {
		for _, m := range modes {
			t.Run(tt.name+"/"+m.name, func(t *testing.T) {
				res := walk(t, m.wrap(tt.data), "a.rar", tt.lim)
				if tt.fatal != nil {
					if !errors.Is(res.err, tt.fatal) {
						t.Fatalf("Walk = %v, want %v", res.err, tt.fatal)
					}
					return
				}
				if res.err != nil {
					t.Fatalf("Walk: %v", res.err)
				}
				found := false
				for _, r := range res.reports {
					found = found || errors.Is(r.err, tt.reported)
				}
				if !found {
					t.Errorf("reports = %v, want one wrapping %v", res.reports, tt.reported)
				}
			})
		}
	}
}

func TestWalkRARCorrupt(t *testing.T) {
	good := archivetest.RAR5(archivetest.File{Name: "a.txt", Body: []byte("alpha")}, archivetest.File{Name: "b.txt", Body: noise(9, 4096)})
	for _, tt := range []struct {
		name string
		data []byte
	}{
		{"truncated", good[:len(good)-2000]},
		{"bad header crc", flip(good, 14)},
		{"bad data crc", flip(good, len(good)-100)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := walk(t, bytesReader(tt.data), "a.rar", archive.Limits{})
			bad := errors.Is(res.err, archive.ErrCorrupt)
			for _, r := range res.reports {
				bad = bad || errors.Is(r.err, archive.ErrCorrupt)
			}
			if !bad {
				t.Errorf("Walk = %v, reports %v: want ErrCorrupt somewhere", res.err, res.reports)
			}
		})
	}
}

func flip(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i] ^= 0x55
	return c
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
