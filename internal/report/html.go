package report

import (
	"embed"
	"encoding/base64"
	"html/template"
	"io"
	"time"

	"github.com/leakwatch/leakwatch/internal/attribution"
)

//go:embed templates/incidents.html.tmpl
var templates embed.FS

// page is parsed once per call: the template is small and a report is
// written once per command.
func page() (*template.Template, error) {
	return template.New("incidents.html.tmpl").Funcs(template.FuncMap{
		"ts":   func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
		"iso":  func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"date": func(t time.Time) string { return t.UTC().Format("2006-01-02") },
		"p":    attribution.FormatP,
		// A thumbnail is our own re-encoded JPEG, never bytes from a dump
		// site, so it may be trusted as a data: URL.
		"jpeg": func(b []byte) template.URL {
			return template.URL("data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(b))
		},
	}).ParseFS(templates, "templates/incidents.html.tmpl")
}

// WriteHTML writes the report as one self-contained HTML page: inline
// CSS, no script, no external resource (its Content-Security-Policy
// forbids any), every value escaped by html/template. Dump-site addresses
// are text, not links, so nobody opens one by a stray click.
func WriteHTML(w io.Writer, doc Document) error {
	t, err := page()
	if err != nil {
		return err
	}
	return t.Execute(w, doc)
}
