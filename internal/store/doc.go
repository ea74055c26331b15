// Package store persists leakwatch's state in SQLite (pure Go,
// modernc.org/sqlite), or in PostgreSQL (pgx) when workers on several
// machines share it: runs and their shared queues of work items, visited URLs, assets already hashed (by
// SHA-256), incidents with their matched captures and evidence, and the
// alert outbox that is written in the same transaction as the incident it
// announces, so no alert is lost between "recorded" and "sent", and the
// disclosure ledger (ledger.go): transfers of captures to recipients,
// revocations and canaries, append-only, from which every incident is
// attributed (internal/attribution) when it is read or announced.
//
// One Store type serves both: its queries are written once in SQL both
// engines read, and the few differences (placeholders, schema types,
// transaction isolation and locks, SKIP LOCKED) live in small dialect
// helpers (postgres.go, Store.tx, skipLocked), so the shared behaviour
// tests check every method on both engines.
//
// The schema is created and upgraded by numbered migrations, one list per
// dialect (migrations.go, migrations_postgres.go); a database newer than
// this build is refused.
package store
