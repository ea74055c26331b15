package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image/jpeg"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/leakwatch/leakwatch/fixtures/corpus"
	"github.com/leakwatch/leakwatch/fixtures/imagegen"
	"github.com/leakwatch/leakwatch/fixtures/transform"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"leakwatch": func() { os.Exit(runMain()) },
	})
}

// TestScript runs the end-to-end CLI scripts in testdata/script. Each
// script gets a fixture dump site on 127.0.0.1 ($SITE), the captures to
// enroll ($CAPTURES, with manifest.csv), local leaked copies ($LEAKS) and
// an uneven crop of capture $UNEVEN_ID ($UNEVEN).
func TestScript(t *testing.T) {
	c := corpus.New(1)
	h := c.Handler()
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// age-keygen FILE writes a new age identity to FILE and sets
			// $RECIPIENT to its public key (the evidence locker's tests).
			"age-keygen": func(ts *testscript.TestScript, neg bool, args []string) {
				id, err := age.GenerateX25519Identity()
				ts.Check(err)
				ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(id.String()+"\n"), 0o600))
				ts.Setenv("RECIPIENT", id.Recipient().String())
			},
			// sha256 FILE VAR sets $VAR to the hex SHA-256 of FILE.
			"sha256": func(ts *testscript.TestScript, neg bool, args []string) {
				b, err := os.ReadFile(ts.MkAbs(args[0]))
				ts.Check(err)
				sum := sha256.Sum256(b)
				ts.Setenv(args[1], hex.EncodeToString(sum[:]))
			},
			// json-lines FILE checks that every line of FILE (stdout,
			// stderr or a path) is one JSON object with a "msg".
			"json-lines": func(ts *testscript.TestScript, neg bool, args []string) {
				text := ts.ReadFile(args[0])
				n := 0
				for line := range strings.SplitSeq(strings.TrimRight(text, "\n"), "\n") {
					var obj map[string]any
					if err := json.Unmarshal([]byte(line), &obj); err != nil || obj["msg"] == nil {
						ts.Fatalf("not a JSON log line: %q", line)
					}
					n++
				}
				if n == 0 {
					ts.Fatalf("%s is empty", args[0])
				}
			},
			// truncate-file FILE cuts a file in half (a damaged bank).
			"truncate-file": func(ts *testscript.TestScript, neg bool, args []string) {
				p := ts.MkAbs(args[0])
				b, err := os.ReadFile(p)
				ts.Check(err)
				ts.Check(os.WriteFile(p, b[:len(b)/2], 0o644))
			},
		},
		Setup: func(e *testscript.Env) error {
			srv := httptest.NewServer(h)
			e.Defer(srv.Close)
			e.Setenv("SITE", srv.URL)
			pdq, err := filepath.Abs("../../fixtures/pdq/data")
			if err != nil {
				return err
			}
			e.Setenv("PDQDATA", pdq)
			e.Setenv("XDG_DATA_HOME", filepath.Join(e.WorkDir, "xdg"))
			capDir := filepath.Join(e.WorkDir, "captures")
			if err := c.WriteCaptures(capDir); err != nil {
				return err
			}
			e.Setenv("CAPTURES", capDir)
			leaks := filepath.Join(e.WorkDir, "leaks")
			if err := os.MkdirAll(leaks, 0o755); err != nil {
				return err
			}
			for _, l := range c.Leaks {
				for _, f := range l.Files {
					resp, err := srv.Client().Get(srv.URL + f)
					if err != nil {
						return err
					}
					b, err := io.ReadAll(resp.Body)
					resp.Body.Close()
					if err != nil {
						return err
					}
					if err := os.WriteFile(filepath.Join(leaks, filepath.Base(f)), b, 0o644); err != nil {
						return err
					}
				}
			}
			e.Setenv("LEAKS", leaks)
			// One leaked image served on its own (not in an archive).
			leakImage := ""
			for _, l := range c.Leaks {
				for _, f := range l.Files {
					if ext := filepath.Ext(f); (ext == ".jpg" || ext == ".png") && leakImage == "" {
						leakImage = filepath.Join(leaks, filepath.Base(f))
					}
				}
			}
			e.Setenv("LEAK_IMAGE", leakImage)
			// An uneven crop of the first capture (15/5/10/20% off the
			// left/top/right/bottom), which only the keypoint patches find.
			uneven := filepath.Join(e.WorkDir, "uneven.jpg")
			var buf bytes.Buffer
			cropped := transform.CropSides(0.15, 0.05, 0.10, 0.20)(c.Captures[0].Image)
			if err := jpeg.Encode(&buf, cropped, &jpeg.Options{Quality: 85}); err != nil {
				return err
			}
			if err := os.WriteFile(uneven, buf.Bytes(), 0o644); err != nil {
				return err
			}
			e.Setenv("UNEVEN", uneven)
			e.Setenv("UNEVEN_ID", c.Captures[0].ID)
			// Two frames of one fixed checkpoint camera to enroll, and a
			// third, which shows another car at the same barrier.
			camDir := filepath.Join(e.WorkDir, "camera")
			if err := os.MkdirAll(camDir, 0o755); err != nil {
				return err
			}
			for _, k := range []int{0, 9, 1} {
				img, _ := imagegen.CheckpointFrame(100, k)
				buf.Reset()
				if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
					return err
				}
				path := filepath.Join(camDir, fmt.Sprintf("cam-%d.jpg", k))
				if k == 1 {
					path = filepath.Join(e.WorkDir, "other-frame.jpg")
				}
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					return err
				}
			}
			e.Setenv("CAMERA", camDir)
			e.Setenv("OTHER_FRAME", filepath.Join(e.WorkDir, "other-frame.jpg"))
			return nil
		},
	})
}
