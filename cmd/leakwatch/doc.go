// Command leakwatch finds an organisation's own photographs on breach dump
// sites. See README.md for usage.
package main
