// Package ledger reads disclosure records into the store's ledger: the
// capture lists of single transfers (one ID per line, or a CSV with a
// capture_id column) and the CSV export of a data-sharing register (one
// row per capture given). Capture IDs the bank does not know are reported
// with their line numbers and skipped or refused, so a typo never becomes
// a disclosure of nothing.
package ledger
