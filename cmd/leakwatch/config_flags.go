package main

import (
	"github.com/spf13/cobra"

	"github.com/leakwatch/leakwatch/alerts"
	"github.com/leakwatch/leakwatch/internal/config"
)

// configAnnotation marks commands that take every configuration key that
// matches one of their flags. Other commands take only bank and store, so
// a key never lands on an unrelated flag that happens to share its name.
const (
	configAnnotation = "leakwatch/config"
	configAll        = "all"
)

// configFlag maps configuration keys to flag names.
func configFlag(key string) string {
	return map[string]string{
		"bank":                      "bank",
		"store":                     "store",
		"scope.allow_hosts":         "allow-host",
		"scope.group_by":            "group-by",
		"limits.max_depth":          "max-depth",
		"limits.max_pages":          "max-pages",
		"limits.parallelism":        "parallelism",
		"limits.delay":              "delay",
		"limits.timeout":            "timeout",
		"limits.max_image_bytes":    "max-image-bytes",
		"limits.max_page_bytes":     "max-page-bytes",
		"limits.pdq_radius":         "pdq-radius",
		"limits.no_patches":         "no-patches",
		"limits.patch_match_radius": "patch-match-radius",

		"limits.max_pixels":              "max-pixels",
		"limits.max_links_per_page":      "max-links-per-page",
		"limits.max_archive_bytes":       "max-archive-bytes",
		"limits.archive_timeout":         "archive-timeout",
		"limits.archive_max_total_bytes": "archive-max-total-bytes",
		"limits.archive_max_entry_bytes": "archive-max-entry-bytes",
		"limits.archive_max_entries":     "archive-max-entries",
		"limits.archive_max_ratio":       "archive-max-ratio",
		"limits.archive_max_depth":       "archive-max-depth",
		"limits.user_agent":              "user-agent",
		"tor.mode":                       "tor",
		"tor.torrc":                      "torrc",
		"alerts.webhooks":                "webhook",
		"alerts.slack_url_file":          "slack-webhook-file",
		"alerts.log_file":                "alert-log",
		"alerts.wait":                    "alert-wait",
		"watch.schedule":                 "schedule",
		"watch.listen":                   "listen",
		"watch.listen_any":               "listen-any",
		"watch.unhealthy_after":          "unhealthy-after",
	}[key]
}

// usesConfig reports whether cmd reads the configuration at all.
func usesConfig(cmd *cobra.Command) bool {
	if cmd.Annotations[configAnnotation] != "" {
		return true
	}
	return cmd.Flags().Lookup("bank") != nil || cmd.Flags().Lookup("store") != nil
}

// configure loads --config (or $LEAKWATCH_CONFIG) and the LEAKWATCH_*
// variables and fills in every flag of cmd that the command line did not
// set, so the precedence is flags > environment > file > defaults.
func (a *app) configure(cmd *cobra.Command) error {
	if !usesConfig(cmd) {
		return nil
	}
	path := a.configPath
	if path == "" {
		path = a.getenv(config.EnvConfig)
	}
	cfg, err := config.Load(path, a.getenv, a.readFile)
	if err != nil {
		return usageError{err}
	}
	a.cfg = cfg
	all := cmd.Annotations[configAnnotation] == configAll
	fl := cmd.Flags()
	values := cfg.Values()
	for _, s := range config.Settings() {
		vals := values[s.Key]
		name := configFlag(s.Key)
		if len(vals) == 0 || name == "" || (!all && name != "bank" && name != "store") {
			continue
		}
		f := fl.Lookup(name)
		if f == nil || f.Changed {
			continue
		}
		for _, v := range vals {
			if err := fl.Set(name, v); err != nil {
				return usagef("%s (from %s): %v", s.Key, cfg.Origin(s.Key), err)
			}
		}
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
