// Package demo runs the whole leakwatch pipeline on generated fixtures,
// on 127.0.0.1 only: captures are enrolled into a temporary bank, a
// fixture dump site leaks altered copies of some of them, the site is
// scanned (optionally as an onion service on a private Tor network) and
// the signed webhook it raises is received and verified. It fails when a
// planted copy is missed or anything unrelated matches, so it doubles as
// an end-to-end check of an installation.
package demo
