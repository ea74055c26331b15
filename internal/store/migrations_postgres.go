package store

// postgresMigrations are migrations step for step, in PostgreSQL's
// dialect: the same tables, columns and indexes, with BIGSERIAL for the
// SQLite rowid key and BYTEA for BLOB. Timestamps stay RFC 3339 text in
// both, so every query and scan is shared. Migrations 2-7 are plain SQL
// that both dialects read, so they are the SQLite text itself; a test
// keeps the two lists the same length. So are migrations 9 to 11.
var postgresMigrations = append(append(append([]string{postgresInitial}, migrations[1:7]...), postgresFrontier), migrations[8:]...)

// postgresInitial is migration 1: runs, visited URLs, seen assets,
// incidents, matches and the outbox.
const postgresInitial = `
CREATE TABLE runs (
	id          BIGSERIAL PRIMARY KEY,
	started_at  TEXT NOT NULL,
	finished_at TEXT,
	status      TEXT NOT NULL DEFAULT 'running',
	seeds       TEXT NOT NULL,
	summary     TEXT
);
CREATE TABLE visited (
	url           TEXT PRIMARY KEY,
	run_id        BIGINT NOT NULL,
	fetched_at    TEXT NOT NULL,
	status        TEXT NOT NULL,
	etag          TEXT,
	last_modified TEXT
);
CREATE TABLE seen_assets (
	sha256      TEXT PRIMARY KEY,
	first_seen  TEXT NOT NULL,
	last_seen   TEXT NOT NULL,
	fingerprint BYTEA,
	error       TEXT
);
CREATE TABLE incidents (
	id          TEXT PRIMARY KEY,
	source      TEXT NOT NULL UNIQUE,
	status      TEXT NOT NULL DEFAULT 'new',
	first_seen  TEXT NOT NULL,
	last_seen   TEXT NOT NULL,
	updated_at  TEXT NOT NULL,
	version     INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE incident_matches (
	incident_id  TEXT NOT NULL REFERENCES incidents(id),
	capture_id   TEXT NOT NULL,
	kind         TEXT NOT NULL,
	url          TEXT NOT NULL,
	page         TEXT NOT NULL,
	archive_path TEXT NOT NULL,
	sha256       TEXT NOT NULL,
	algorithm    TEXT NOT NULL,
	distance     INTEGER NOT NULL,
	quality      INTEGER NOT NULL,
	variant      TEXT NOT NULL,
	first_seen   TEXT NOT NULL,
	last_seen    TEXT NOT NULL,
	PRIMARY KEY (incident_id, capture_id, sha256, archive_path)
);
CREATE INDEX incident_matches_capture ON incident_matches(capture_id);
CREATE TABLE outbox (
	event_id    TEXT PRIMARY KEY,
	incident_id TEXT NOT NULL,
	type        TEXT NOT NULL,
	payload     BYTEA NOT NULL,
	created_at  TEXT NOT NULL
);
CREATE TABLE deliveries (
	event_id     TEXT NOT NULL REFERENCES outbox(event_id),
	endpoint     TEXT NOT NULL,
	status       TEXT NOT NULL DEFAULT 'pending',
	attempts     INTEGER NOT NULL DEFAULT 0,
	next_attempt TEXT NOT NULL,
	last_error   TEXT,
	delivered_at TEXT,
	PRIMARY KEY (event_id, endpoint)
);
CREATE INDEX deliveries_due ON deliveries(status, next_attempt);
`

// postgresFrontier is migration 8: the shared crawl frontier.
const postgresFrontier = `
ALTER TABLE runs ADD COLUMN config TEXT;
CREATE TABLE work_items (
	id          BIGSERIAL PRIMARY KEY,
	run_id      BIGINT NOT NULL REFERENCES runs(id),
	url         TEXT NOT NULL,
	page        TEXT NOT NULL DEFAULT '',
	kind        TEXT NOT NULL,
	depth       INTEGER NOT NULL,
	state       TEXT NOT NULL DEFAULT 'pending',
	attempts    INTEGER NOT NULL DEFAULT 0,
	lease_owner TEXT,
	lease_until BIGINT NOT NULL DEFAULT 0,
	error       TEXT,
	matches     INTEGER NOT NULL DEFAULT 0,
	UNIQUE (run_id, url)
);
CREATE INDEX work_items_pending ON work_items(state, id);
CREATE INDEX work_items_lease ON work_items(state, lease_until);
CREATE INDEX work_items_run ON work_items(run_id, state);
CREATE TABLE run_workers (
	run_id     BIGINT NOT NULL REFERENCES runs(id),
	worker     TEXT NOT NULL,
	first_seen TEXT NOT NULL,
	last_seen  TEXT NOT NULL,
	items      INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (run_id, worker)
);
CREATE TABLE host_slots (
	host     TEXT NOT NULL,
	slot     INTEGER NOT NULL,
	holder   TEXT,
	until_ms BIGINT NOT NULL DEFAULT 0,
	next_ms  BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (host, slot)
);
`
