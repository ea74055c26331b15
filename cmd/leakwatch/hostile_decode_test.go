package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/jpeg"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/leakwatch/leakwatch/fingerprint/jpeg/jpegtest"
)

// slowJPEG is a 4000x3000 progressive JPEG of 200,000 scans (5 MB), each
// of which makes the decoder visit all 187,500 blocks: allowed by a
// raised --max-jpeg-scans, it holds a decoder for minutes.
func slowJPEG(t *testing.T) []byte {
	t.Helper()
	return jpegtest.SlowScans(4000, 3000, 200_000)
}

// hostileBank enrolls one fixture capture in a new bank.
func hostileBank(t *testing.T, dir string) string {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, opsCorpus().Captures[0].Image, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(dir, "capture.jpg")
	if err := os.WriteFile(img, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	bank := filepath.Join(dir, "bank.lwb")
	var out, errb syncBuffer
	e := env{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }, readFile: os.ReadFile}
	if code := run(context.Background(), []string{"enroll", "--bank", bank, img}, e); code != 0 {
		t.Fatalf("enroll: exit %d: %s", code, errb.String())
	}
	return bank
}

// cpuTime returns the CPU time a child process has used (Linux /proc).
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses and may
	// hold spaces: utime and stime are the 12th and 13th, in ticks of
	// 1/100 s.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc stat")
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("bad /proc stat")
	}
	return time.Duration(u+s) * 10 * time.Millisecond, nil
}

// exitWithin waits for p and returns its exit code and how long it took,
// or fails the test once limit has passed.
func exitWithin(t *testing.T, p *proc, limit time.Duration) (int, time.Duration) {
	t.Helper()
	start := time.Now()
	done := make(chan int, 1)
	go func() { done <- p.wait() }()
	select {
	case code := <-done:
		return code, time.Since(start)
	case <-time.After(limit):
		_ = p.cmd.Process.Kill()
		<-done
		t.Fatalf("still running %v after it should have stopped; stderr: %s", limit, p.stderr.String())
	}
	return 0, 0
}

func checkNoPanic(t *testing.T, p *proc) {
	t.Helper()
	if s := p.stderr.String(); strings.Contains(s, "panic") || strings.Contains(s, "goroutine ") {
		t.Errorf("stderr shows a crash: %s", s)
	}
}

// TestHostileDecodeSIGTERM sends SIGTERM to `match` while it decodes a
// JPEG that would hold it for minutes, once the decode has used a second
// of CPU: the process exits promptly with the documented status 130. The
// bound asserted is generous (a shared machine); the time is logged.
func TestHostileDecodeSIGTERM(t *testing.T) {
	bin := leakwatchBinary(t)
	if _, err := cpuTime(os.Getpid()); err != nil {
		t.Skipf("no /proc: %v", err)
	}
	dir := t.TempDir()
	bank := hostileBank(t, dir)
	bomb := filepath.Join(dir, "bomb.jpg")
	if err := os.WriteFile(bomb, slowJPEG(t), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "match", "--bank", bank, "--max-jpeg-scans", "1000000", bomb)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	p := &proc{cmd: cmd, stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	// Startup and reading the headers cost well under a second of CPU:
	// past that, the process is decoding.
	waitFor(t, "a second of decoding", 2*time.Minute, func() bool {
		d, err := cpuTime(cmd.Process.Pid)
		return err == nil && d >= time.Second
	})
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("the decode ended before the signal (the file is too small to test anything): %v", err)
	}
	code, took := exitWithin(t, p, 10*time.Second)
	t.Logf("exited %v after SIGTERM", took)
	if code != exitInterrupted {
		t.Errorf("exit %d after SIGTERM, want %d; stderr: %s", code, exitInterrupted, p.stderr.String())
	}
	checkNoPanic(t, p)
}

// TestHostileDecodeTimeout scans a loopback site serving the same JPEG
// with --timeout 2s: the decode is cut at its timeout and counted as a
// per-file "timeout" error, and the scan finishes normally.
func TestHostileDecodeTimeout(t *testing.T) {
	bin := leakwatchBinary(t)
	dir := t.TempDir()
	bank := hostileBank(t, dir)
	bomb := slowJPEG(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, `<html><body><img src="/bomb.jpg"></body></html>`)
		case "/bomb.jpg":
			w.Header().Set("Content-Type", "image/jpeg")
			_, _ = w.Write(bomb)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	cmd := exec.Command(bin, "scan", "--bank", bank, "--store", filepath.Join(dir, "lw.db"), "--json",
		"--timeout", "2s", "--max-jpeg-scans", "1000000", srv.URL+"/")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "XDG_DATA_HOME=" + filepath.Join(dir, "xdg")}
	p := &proc{cmd: cmd, stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	// Uncut, the decode alone takes minutes.
	code, took := exitWithin(t, p, time.Minute)
	t.Logf("scan took %v", took)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, p.stderr.String())
	}
	checkNoPanic(t, p)
	timedOut := false
	for line := range strings.SplitSeq(p.stdout.String(), "\n") {
		var ev struct{ Type, URL, Reason string }
		if json.Unmarshal([]byte(line), &ev) == nil && ev.Type == "error" && strings.HasSuffix(ev.URL, "/bomb.jpg") {
			timedOut = ev.Reason == "timeout"
			t.Logf("error line: %s", line)
		}
	}
	if !timedOut {
		t.Errorf("no timeout error for bomb.jpg in: %s", p.stdout.String())
	}
}
