// Package progress draws a scan's live progress on a terminal with mpb: a
// line of counters and a byte bar per archive download, kept below
// everything else the command writes. Log lines and messages written
// through [Display.Writer] are printed above the bars, so findings and
// warnings are never spliced into a half-drawn line. Callers use it only
// when stderr is a terminal.
package progress
