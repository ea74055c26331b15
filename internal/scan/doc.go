// Package scan is the pipeline: it crawls seeds, decodes and hashes every
// image found (including images inside archives), matches them against the
// bank, records incidents in the store and hands the resulting events to
// the alert outbox. It wires the other packages together and owns the run
// summary; it holds no policy of its own beyond grouping matches into
// incidents.
package scan
