// Package doctor checks an installation the way "leakwatch doctor" reports
// it: Tor, the bank, the store and its lock, the webhook signing secret and
// the alert endpoints. Each check returns a finding with what it saw and,
// when something is wrong, a hint saying how to fix it. No check sends an
// alert: endpoints are only resolved and connected to.
package doctor
