package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/leakwatch/leakwatch/internal/config"
	"github.com/leakwatch/leakwatch/internal/evidence"
	"github.com/leakwatch/leakwatch/internal/report"
	"github.com/leakwatch/leakwatch/internal/safetext"
)

// maxEvidenceBytes bounds one decrypted item: above the largest archive
// entry a scan takes (256 MiB by default) with room for the WARC records.
const maxEvidenceBytes = 1 << 30

func (a *app) evidenceCmd() *cobra.Command {
	var o config.Options
	cmd := &cobra.Command{
		Use:   "evidence",
		Short: "List and extract what the evidence locker kept (scan --evidence)",
	}
	config.AddFlags(cmd.PersistentFlags(), "evidence", &o)
	cmd.PersistentFlags().Lookup("evidence").Usage = "evidence folder (scan --evidence)"
	cmd.AddCommand(a.evidenceListCmd(&o), a.evidenceExtractCmd(&o))
	return cmd
}

func (a *app) evidenceListCmd(o *config.Options) *cobra.Command {
	var asJSON, verify bool
	cmd := &cobra.Command{
		Use:   "list [--evidence DIR] [--verify] [--json]",
		Short: "List the kept items from the manifest (no key needed); --verify checks each file's ciphertext hash",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if err := requireFlag("evidence", o.Evidence.Dir); err != nil {
				return err
			}
			entries, err := evidence.List(o.Evidence.Dir)
			if err != nil {
				return err
			}
			var bad int
			if verify {
				for _, e := range entries {
					if err := evidence.Verify(o.Evidence.Dir, e); err != nil {
						bad++
						a.Printf("%v", err)
					}
				}
			}
			if asJSON {
				if err := jsonLines(a, entries); err != nil {
					return err
				}
			} else {
				tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tKIND\tBYTES\tFETCHED\tSHA-256\tURL")
				for _, e := range entries {
					u := safetext.Display(e.URL, 0)
					if e.ArchivePath != "" {
						u += " # " + e.ArchivePath
					}
					fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", e.ID, e.Kind, e.Size, e.FetchedAt.Format("2006-01-02 15:04:05Z07:00"), e.SHA256[:min(16, len(e.SHA256))], u)
				}
				if err := tw.Flush(); err != nil {
					return err
				}
			}
			if bad > 0 {
				return fmt.Errorf("%d of %d kept files do not match the manifest", bad, len(entries))
			}
			if verify {
				a.Printf("%d kept files match the manifest", len(entries))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&verify, "verify", false, "check every file against its ciphertext SHA-256 in the manifest")
	cmd.Flags().BoolVar(&asJSON, "json", false, "one manifest entry per line")
	return cmd
}

func (a *app) evidenceExtractCmd(o *config.Options) *cobra.Command {
	var identity, output string
	var warc bool
	cmd := &cobra.Command{
		Use:   "extract --identity FILE [--warc] -o FILE|- ID",
		Short: "Decrypt one kept item (ID or content SHA-256, a unique prefix is enough) and check it against the manifest",
		Long: `extract decrypts an item with the age identity (private key) whose public key
the scan encrypted to, checks that its content has the SHA-256 the manifest
recorded, and writes the content (the leaked file or the page), or with
--warc the whole WARC file with its records and HTTP headers. The output is
plaintext: -o names a file (mode 0600, written through a temporary file and
a rename; a symbolic link is refused), or - for stdout.`,
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			for _, f := range [][2]string{{"evidence", o.Evidence.Dir}, {"identity", identity}, {"output", output}} {
				if err := requireFlag(f[0], f[1]); err != nil {
					return err
				}
			}
			ids, err := evidence.ReadIdentities(identity)
			if err != nil {
				return err
			}
			entries, err := evidence.List(o.Evidence.Dir)
			if err != nil {
				return err
			}
			e, err := evidence.Find(entries, args[0])
			if err != nil {
				return err
			}
			got, err := evidence.Decrypt(o.Evidence.Dir, e, ids, maxEvidenceBytes)
			if err != nil {
				return err
			}
			data := got.Item.Payload
			if warc {
				data = got.WARC
			}
			write := func(w io.Writer) error { _, err := w.Write(data); return err }
			if output == "-" {
				return write(a.stdout)
			}
			if err := report.SaveFile(output, write); err != nil {
				return err
			}
			a.Printf("%s (%s, %s) decrypted and checked: %d bytes written to %s", e.ID, e.Kind, safetext.Display(e.URL, 0), len(data), output)
			return nil
		},
	}
	cmd.Flags().StringVar(&identity, "identity", "", "age identity file (from age-keygen) to decrypt with")
	cmd.Flags().StringVarP(&output, "output", "o", "", "file to write the plaintext to (- for stdout)")
	cmd.Flags().BoolVar(&warc, "warc", false, "write the whole decrypted WARC file instead of the content")
	return cmd
}
