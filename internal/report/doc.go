// Package report defines what a scan or a watcher tells its caller, once:
// the messages (a Finding, an error Problem, the Finished summary of a run,
// a Skipped run) and the renderers that write them, one file per format:
// JSON lines (the machine contract other tools read; field names never
// change), text (one tab-separated line per finding) and CSV (findings for
// a spreadsheet). The match command's per-file results (FileMatch) and an
// incident's affected captures for export are rendered here too.
//
// The incident report (Build, then WriteHTML, WriteDocumentCSV or
// WriteDocumentJSON) is for the people who act on a leak: one
// self-contained HTML page (html/template, inline CSS, no script, no
// external resource) with every incident's timeline, affected captures
// and evidence. SaveFile writes any report atomically, refusing symlinks.
//
// Renderers write data only; the human summary of a run (Finished.Lines)
// is for the caller to print with its other messages on stderr.
package report
