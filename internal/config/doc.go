// Package config defines every leakwatch setting once and reads it from
// the command line, the configuration file and the LEAKWATCH_* variables.
//
// Settings is the table: each setting's key, flag, variable, default,
// unit (sizes such as 64MiB, Go durations), range and the commands that
// take it. AddFlags generates a command's flags from it, bound to the
// typed Options, and Load reads the file and the environment through the
// same parsers and checks, so a value is spelled and bounded the same
// way everywhere.
//
// The file is YAML (one document, at most MaxFileBytes). It holds what a
// scheduled deployment would otherwise repeat on every command line: the
// bank and store, seeds, crawl scope and limits, Tor, alert endpoints and
// the watcher's schedule. Every key has an environment variable (see
// Settings), and the command line has the last word:
//
//	flags > LEAKWATCH_* environment > file > built-in defaults
//
// Loading reports every problem at once, each with the key and where the
// value came from (file:line or the variable's name), so a broken file is
// fixed in one pass. Unknown keys are errors, with a suggestion when the
// key looks like a typo.
//
// Secrets are never values in the file: the webhook signing secret comes
// from LEAKWATCH_WEBHOOK_SECRET or a file named by
// LEAKWATCH_WEBHOOK_SECRET_FILE (or alerts.webhook_secret_file), and Slack
// incoming-webhook URLs, which are credentials, only from files named by
// alerts.slack_url_file. Keys that look like they hold a secret are
// refused with a message saying where it belongs.
//
// Relative paths in the file are resolved against the file's directory, so
// a configuration keeps working whatever the current directory of the
// process that reads it.
package config
