package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
	"github.com/spf13/pflag"

	"github.com/leakwatch/leakwatch/internal/config"
	"github.com/leakwatch/leakwatch/internal/store"
)

// flagValues are the values shell completion offers for flags that take
// one of a few words, wherever such a flag is defined.
var flagValues = map[string][]string{
	"tor":        {"off", "managed", "socks5://127.0.0.1:9050"},
	"status":     {store.StatusNew, store.StatusAcknowledged, store.StatusResolved, store.StatusDismissed},
	"log-level":  {"debug", "info", "warn", "error"},
	"log-format": {"text", "json"},
	"group-by":   {"site", "page"},
	"on-error":   {"skip", "fail"},
}

// addCompletions registers value completion for the flags above, for
// --algo (pdq and phash; hash also takes all) and incident IDs as the
// arguments of the incidents subcommands that take them.
func (a *app) addCompletions(root *cobra.Command) {
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		for name, vals := range flagValues {
			if c.LocalFlags().Lookup(name) != nil || c.PersistentFlags().Lookup(name) != nil {
				_ = c.RegisterFlagCompletionFunc(name, cobra.FixedCompletions(vals, cobra.ShellCompDirectiveNoFileComp))
			}
		}
		if f := c.LocalFlags().Lookup("algo"); f != nil {
			vals := []string{"pdq", "phash"}
			if strings.Contains(f.Usage, "all") {
				vals = append(vals, "all")
			}
			_ = c.RegisterFlagCompletionFunc("algo", cobra.FixedCompletions(vals, cobra.ShellCompDirectiveNoFileComp))
		}
		if c.Parent() != nil && c.Parent().Name() == "incidents" && c.Name() != "list" {
			c.ValidArgsFunction = a.completeIncidentIDs
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// completeIncidentIDs offers the IDs in the store --store names (or the
// default store), each described by its status and source.
func (a *app) completeIncidentIDs(cmd *cobra.Command, args []string, prefix string) ([]string, cobra.ShellCompDirective) {
	path := ""
	if f := cmd.Flags().Lookup("store"); f != nil {
		path = f.Value.String()
	}
	if path == "" {
		path = config.DefaultStore(a.getenv)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := store.Open(ctx, path)
	if err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	defer st.Close()
	incs, err := st.Incidents(ctx, "")
	if err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	var out []string
	for _, inc := range incs {
		if strings.HasPrefix(inc.ID, prefix) {
			out = append(out, fmt.Sprintf("%s\t%s %s", inc.ID, inc.Status, inc.Source))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

func (a *app) manCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "man DIR",
		Short: "Write a man page for every command into DIR (leakwatch.1, leakwatch-scan.1, ...)",
		Long: `man writes one man page (section 1) per command, generated from the same
command tree, flags and help texts as --help, into DIR (created if needed).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := os.MkdirAll(args[0], 0o755); err != nil {
				return err
			}
			root := cmd.Root()
			root.DisableAutoGenTag = true // pages that do not change with the date
			escapeMarkdown(root)
			hdr := &doc.GenManHeader{Title: "LEAKWATCH", Section: "1", Source: "leakwatch " + versionString(), Manual: "leakwatch manual"}
			if err := doc.GenManTree(root, hdr, args[0]); err != nil {
				return fmt.Errorf("man pages: %w", err)
			}
			a.Printf("man pages written to %s", args[0])
			return nil
		},
	}
}

// escapeMarkdown protects the underscores of the help texts (LEAKWATCH_*
// variables, config keys) from the Markdown step of man page generation,
// which would read them as emphasis. Only "man" calls it, on a tree it
// throws away.
func escapeMarkdown(root *cobra.Command) {
	esc := strings.NewReplacer("_", `\_`, "*", `\*`).Replace
	done := map[*pflag.Flag]bool{} // a persistent flag is also a local one
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		c.Short, c.Long = esc(c.Short), esc(c.Long)
		visit := func(f *pflag.Flag) {
			if !done[f] {
				done[f] = true
				f.Usage = esc(f.Usage)
			}
		}
		c.LocalFlags().VisitAll(visit)
		c.PersistentFlags().VisitAll(visit)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}
