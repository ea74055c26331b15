// Package canary issues canary captures: synthetic faces or licence
// plates that belong to nobody (drawn by internal/synth from secret random
// seeds), written as JPEG files for the agency to slip into one
// recipient's next transfer, recorded in the ledger as that recipient's
// only, and enrolled into the bank marked as canaries (source "canary").
// A canary found in a leak names its recipient; canaries are never
// exported as affected people.
package canary
