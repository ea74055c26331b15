// Package store persists leakwatch's state in SQLite (pure Go,
// modernc.org/sqlite): runs, visited URLs, assets already hashed (by
// SHA-256), incidents with their matched captures and evidence, and the
// alert outbox that is written in the same transaction as the incident it
// announces, so no alert is lost between "recorded" and "sent", and the
// disclosure ledger (ledger.go): transfers of captures to recipients,
// revocations and canaries, append-only, from which every incident is
// attributed (internal/attribution) when it is read or announced.
//
// The schema is created and upgraded by numbered migrations in
// migrations.go; a database newer than this build is refused.
package store
