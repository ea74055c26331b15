// Package scan is the pipeline: it crawls seeds, decodes and hashes every
// image found (including images inside archives), matches them against the
// bank, records incidents in the store and hands the resulting events to
// the alert outbox. It wires the other packages together and counts the
// run's report.Summary; it holds no policy of its own beyond grouping
// matches into incidents.
//
// Options are a scan as an operator gives it (shared by the scan and watch
// commands); Open takes what a run holds open (bank, store under its lock,
// Tor) and RunAndDeliver delivers each alert while the scan runs.
package scan
