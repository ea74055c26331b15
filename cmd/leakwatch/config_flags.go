package main

import (
	"context"
	"strings"

	"github.com/spf13/cobra"

	"github.com/leakwatch/leakwatch/alerts"
	"github.com/leakwatch/leakwatch/internal/config"
)

// commandName is cmd's path below the root ("alerts test"), the name the
// settings table uses.
func commandName(cmd *cobra.Command) string {
	return strings.TrimPrefix(strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()), " ")
}

// configure validates the setting flags given, then loads --config (or
// $LEAKWATCH_CONFIG) and the LEAKWATCH_* variables and fills in every
// setting flag of cmd that the command line did not set, so the
// precedence is flags > environment > file > defaults. The store's
// default depends on the environment, so it is filled in here too.
func (a *app) configure(cmd *cobra.Command) error {
	fl := cmd.Flags()
	if err := config.CheckFlags(fl); err != nil {
		return usageError{err}
	}
	path, getenv := a.configPath, a.getenv
	if path == "" {
		path = a.getenv(config.EnvConfig)
	}
	if !config.UsedBy(commandName(cmd)) {
		// Only the root's settings, and only from the environment: a
		// configuration file for scans must not break "version".
		path, getenv = "", rootEnv(a.getenv)
	}
	cfg, err := config.Load(path, getenv, a.readFile)
	if err != nil {
		return usageError{err}
	}
	a.cfg = cfg
	name, values := commandName(cmd), cfg.Values()
	for _, s := range config.Settings() {
		f := fl.Lookup(s.Flag)
		if len(values[s.Key]) == 0 || s.Flag == "" || !s.UsedBy(name) || f == nil || f.Changed {
			continue
		}
		for _, v := range values[s.Key] {
			if err := fl.Set(s.Flag, v); err != nil {
				return usagef("%s (from %s): %v", s.Key, cfg.Origin(s.Key), err)
			}
		}
	}
	if f := fl.Lookup("store"); f != nil && config.IsSetting(f, "store") && f.Value.String() == "" {
		_ = f.Value.Set(config.DefaultStore(a.getenv))
	}
	// The secret file named in the configuration is a fallback for the
	// variables the alerts package reads; either variable wins over it.
	if p := cfg.Alerts.WebhookSecretFile; p != "" && a.getenv(alerts.EnvSecret) == "" && a.getenv(alerts.EnvSecretFile) == "" {
		getenv := a.getenv
		a.getenv = func(k string) string {
			if k == alerts.EnvSecretFile {
				return p
			}
			return getenv(k)
		}
	}
	return nil
}

// rootEnv hides every variable but those of the root's settings.
func rootEnv(getenv func(string) string) func(string) string {
	root := map[string]bool{}
	for _, s := range config.Settings() {
		if s.Root() && s.Env != "" {
			root[s.Env] = true
		}
	}
	return func(k string) string {
		if root[k] {
			return getenv(k)
		}
		return ""
	}
}

// withSeeds makes a RunE that calls run with the seeds (see seeds).
func (a *app) withSeeds(run func(context.Context, []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		seeds, err := a.seeds(args)
		if err != nil {
			return err
		}
		return run(cmd.Context(), seeds)
	}
}

// seeds returns the SEED arguments, or the configured seeds when none
// were given.
func (a *app) seeds(args []string) ([]string, error) {
	if len(args) > 0 {
		return args, nil
	}
	if a.cfg != nil && len(a.cfg.Seeds) > 0 {
		return a.cfg.Seeds, nil
	}
	return nil, usagef("no seeds: give SEED arguments, or set seeds in the configuration file or LEAKWATCH_SEEDS")
}
