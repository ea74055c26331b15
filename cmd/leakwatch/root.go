package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"

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
	logLevel  string
	logFormat string
	log       *slog.Logger

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
	if err != nil {
		if msg := err.Error(); msg != "" {
			fmt.Fprintf(e.stderr, "leakwatch: %s\n", oneLine(msg))
		}
	}
	return exitCodeFor(ctx, err)
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
			if err := a.setupLogging(); err != nil {
				return err
			}
			return a.configure(cmd) // configuration file and LEAKWATCH_* into unset flags
		},
	}
	pf := root.PersistentFlags()
	pf.StringVar(&a.logLevel, "log-level", "warn", "log level: debug, info, warn or error")
	pf.StringVar(&a.logFormat, "log-format", "text", "log format on stderr: text or json")
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
		a.bankCmd(),
		a.lookupCmd(),
		a.doctorCmd(),
		a.robustnessCmd(),
		a.demoCmd(),
		a.versionCmd(),
	)
	return root
}

func (a *app) setupLogging() error {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(a.logLevel)); err != nil {
		return usagef("--log-level: %v", err)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch a.logFormat {
	case "text":
		a.log = slog.New(slog.NewTextHandler(a.stderr, opts))
	case "json":
		a.log = slog.New(slog.NewJSONHandler(a.stderr, opts))
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

// Printf prints a human message on stderr.
func (a *app) Printf(format string, args ...any) {
	fmt.Fprintf(a.stderr, "leakwatch: "+format+"\n", args...)
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
