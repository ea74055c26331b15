// Package watch is the long-running scheduler behind "leakwatch watch": it
// runs the same scan as the scan command on a cron-style schedule, keeps
// an alert worker delivering between runs, reloads the bank when its file
// is replaced, and serves /metrics and /healthz on loopback.
//
// A run takes the store's lock like any other leakwatch run; when another
// run holds it the tick is skipped and counted, never queued. The alert
// worker shares that lock with the scheduled scan of the same process, so
// a separately started scan and the watcher never deliver the same events
// at once.
package watch
