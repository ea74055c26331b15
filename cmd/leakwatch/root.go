package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/leakwatch/leakwatch/internal/config"
)

// env is what the process gives the commands; tests substitute it.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	readFile       func(string) ([]byte, error)
}

// app holds global flags and shared helpers for every command.
type app struct {
	env
	// logOpts holds the log settings (root flags, file, environment).
	logOpts config.Options
	log     *slog.Logger
	// msgs writes the human messages (Printf) as JSON lines when the log
	// format is json; nil in text mode.
	msgs *slog.Logger
	// textOut carries the text-mode log records and messages: stderr, or
	// the live progress display while one runs (lines print above it).
	textOut *swapWriter

	// --config, and the configuration it loaded (nil for commands that
	// take none).
	configPath string
	cfg        *config.Config
}

func run(ctx context.Context, args []string, e env) int {
	a := &app{env: e}
	root := a.rootCmd()
	root.SetArgs(args)
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	err := root.ExecuteContext(ctx)
	code := exitCodeFor(ctx, err)
	if err != nil {
		if msg := err.Error(); msg != "" {
			if a.logOpts.Log.Format == "json" {
				jsonMessages(e.stderr).Error(oneLine(msg), "exit_code", code)
			} else {
				fmt.Fprintf(e.stderr, "leakwatch: %s\n", oneLine(msg))
			}
		}
	}
	return code
}

// jsonMessages writes messages for people as JSON lines, whatever the
// log level: they are output, not diagnostics.
func jsonMessages(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func oneLine(s string) string { return strings.ReplaceAll(strings.TrimSpace(s), "\n", "; ") }

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "leakwatch",
		Short: "Find your organisation's own photographs on breach dump sites",
		Long: `leakwatch enrolls your captures (face and plate photos) into a fingerprint
bank of perceptual hashes, crawls clearnet and onion dump sites (images and
archives), matches every image it finds, records incidents and sends signed
webhook alerts. stdout carries data only; messages go to stderr.

` + exitCodesHelp,
		SilenceErrors:     true,
		SilenceUsage:      true,
		Version:           versionString(),
		CompletionOptions: cobra.CompletionOptions{},
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			// The configuration file and LEAKWATCH_* fill the flags not
			// given, the log settings included.
			err := a.configure(cmd)
			if lerr := a.setupLogging(); err == nil {
				err = lerr
			}
			return err
		},
	}
	pf := root.PersistentFlags()
	config.AddFlags(pf, "", &a.logOpts)
	pf.StringVar(&a.configPath, "config", "", "configuration file (YAML; default $"+config.EnvConfig+"); flags and LEAKWATCH_* variables override it")
	root.AddCommand(
		a.enrollCmd(),
		a.hashCmd(),
		a.matchCmd(),
		a.scanCmd(),
		a.watchCmd(),
		a.alertsCmd(),
		a.incidentsCmd(),
		a.ledgerCmd(),
		a.canaryCmd(),
		a.reportCmd(),
		a.evidenceCmd(),
		a.enqueueCmd(),
		a.workerCmd(),
		a.runsCmd(),
		a.bankCmd(),
		a.lookupCmd(),
		a.doctorCmd(),
		a.robustnessCmd(),
		a.demoCmd(),
		a.versionCmd(),
		a.manCmd(),
	)
	a.addCompletions(root)
	return root
}

// setupLogging makes the logger the log settings ask for. In json mode
// every line on stderr is a JSON object: the log records, the messages
// (Printf), progress from Tor and the final error.
func (a *app) setupLogging() error {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(a.logOpts.Log.Level)); err != nil {
		return usagef("--log-level: %v", err)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch a.logOpts.Log.Format {
	case "text":
		a.log = slog.New(slog.NewTextHandler(a.lines(), opts))
	case "json":
		a.log = slog.New(slog.NewJSONHandler(a.stderr, opts))
		a.msgs = jsonMessages(a.stderr)
	default:
		return usagef("--log-format must be text or json")
	}
	return nil
}

func (a *app) logger() *slog.Logger {
	if a.log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return a.log
}

// Printf prints a human message on stderr (a JSON line in json mode).
func (a *app) Printf(format string, args ...any) {
	if a.msgs != nil {
		a.msgs.Info(fmt.Sprintf(format, args...))
		return
	}
	fmt.Fprintf(a.lines(), "leakwatch: "+format+"\n", args...)
}

// lines is where text-mode log records and messages go.
func (a *app) lines() io.Writer {
	if a.textOut == nil {
		a.textOut = &swapWriter{w: a.stderr}
	}
	return a.textOut
}

// swapWriter forwards to a writer that can be replaced while in use.
type swapWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *swapWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	w := s.w
	s.mu.Unlock()
	return w.Write(p)
}

// set replaces the target and returns the previous one.
func (s *swapWriter) set(w io.Writer) io.Writer {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.w
	s.w = w
	return old
}

// progressOut is where free-form progress (Tor's bootstrap) goes: stderr,
// or one JSON message per line in json mode.
func (a *app) progressOut() io.Writer {
	if a.msgs == nil {
		return a.stderr
	}
	return &lineMessages{log: a.msgs}
}

// lineMessages turns written text into one message per line.
type lineMessages struct {
	mu   sync.Mutex
	log  *slog.Logger
	part []byte
}

func (l *lineMessages) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range p {
		if c != '\n' && c != '\r' {
			if len(l.part) < 4096 {
				l.part = append(l.part, c)
			}
			continue
		}
		if line := strings.TrimSpace(string(l.part)); line != "" {
			l.log.Info(line)
		}
		l.part = l.part[:0]
	}
	return len(p), nil
}

// jsonLine writes one JSON value per line on stdout.
func (a *app) jsonLine(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(a.stdout, "%s\n", b)
	return err
}

// jsonLines writes each of vs as one JSON line.
func jsonLines[T any](a *app, vs []T) error {
	for _, v := range vs {
		if err := a.jsonLine(v); err != nil {
			return err
		}
	}
	return nil
}

func requireFlag(name, v string) error {
	if v == "" {
		return usagef("--%s is required", name)
	}
	return nil
}
