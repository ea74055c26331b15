// Package lock keeps two leakwatch runs (a cron-started scan and the
// watcher, say) from working on the same store at once.
//
// It uses an advisory flock(2) on a lock file next to the store. The kernel
// drops the lock when the holder dies, even on SIGKILL, so a lock can never
// go stale; the file's content (pid, host, start time) only serves to tell
// the user who holds it, and a recorded pid that is no longer alive is
// reported as a leftover, not as a holder.
package lock
