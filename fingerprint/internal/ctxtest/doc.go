// Package ctxtest gives decoder tests a context that is done at a chosen
// point of a decode, the same on every run, rather than after a time.
package ctxtest
