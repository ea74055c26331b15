package progress

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a terminal stand-in safe for mpb's writer goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestLinesPrintAboveTheBars writes log lines while the counters and a
// download bar are drawn: every log line must reach the terminal whole, on
// a line of its own, never spliced into the progress line.
func TestLinesPrintAboveTheBars(t *testing.T) {
	var term syncBuffer
	d := New(&term, ForceRefresh(), WithRefresh(5*time.Millisecond))
	move := d.Download("http://dump.example/dumps/crossing-2019/captures.zip", 4<<20)
	for i := range 20 {
		d.Status(fmt.Sprintf("scanning: %d pages, %d images", i, 3*i))
		move(int64(i)<<18, false)
		fmt.Fprintf(d.Writer(), "level=WARN msg=skipped url=http://dump.example/%d.jpg\n", i)
		time.Sleep(10 * time.Millisecond)
	}
	move(4<<20, true)
	d.Close()
	fmt.Fprintf(d.Writer(), "after close\n")

	out := term.String()
	if !strings.Contains(out, "captures.zip") || !strings.Contains(out, "MiB") {
		t.Errorf("no byte bar for the download in %q", out)
	}
	for i := range 20 {
		line := fmt.Sprintf("level=WARN msg=skipped url=http://dump.example/%d.jpg\n", i)
		if strings.Count(out, line) != 1 {
			t.Errorf("log line %d printed %d times, want once whole", i, strings.Count(out, line))
		}
	}
	for seg := range strings.SplitSeq(out, "\n") {
		if strings.Contains(seg, "scanning:") && strings.Contains(seg, "level=WARN") {
			t.Errorf("progress and a log line share a line: %q", seg)
		}
	}
	if !strings.HasSuffix(out, "after close\n") {
		t.Errorf("a line written after Close is lost: %q", out[max(0, len(out)-80):])
	}
}

// TestOldProgressLineSplices documents what the display replaces: a
// carriage-return progress line followed by a log line on the same row.
func TestOldProgressLineSplices(t *testing.T) {
	var term bytes.Buffer
	fmt.Fprintf(&term, "\r\x1b[Kleakwatch: %d pages", 3)
	fmt.Fprintf(&term, "level=WARN msg=skipped\n")
	spliced := false
	for seg := range strings.SplitSeq(term.String(), "\n") {
		spliced = spliced || strings.Contains(seg, "pages") && strings.Contains(seg, "level=WARN")
	}
	if !spliced {
		t.Fatal("the splice check does not detect a spliced line")
	}
}

func TestShortName(t *testing.T) {
	for in, want := range map[string]string{
		"http://x.onion/a/b/dump.7z":          "dump.7z",
		"http://x.onion/":                     "x.onion",
		"http://x/" + strings.Repeat("n", 60): strings.Repeat("n", 39) + "…",
		// Escapes spelled in the link's path are decoded by url.Parse.
		"http://x.onion/%1b]52;c;cm0gLXJmIH4K%07%1b[2Jbackup.zip": "]52;c;cm0gLXJmIH4K[2Jbackup.zip",
		"http://x.onion/photo%E2%80%AEgpj.exe":                    "photogpj.exe",
	} {
		if got := shortName(in); got != want {
			t.Errorf("shortName(%q) = %q, want %q", in, got, want)
		}
	}
}
