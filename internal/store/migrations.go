package store

// migrations (SQLite) are applied in order; each runs in its own
// transaction and is recorded in schema_migrations. Never edit a released
// migration: append, here and the same step in postgresMigrations.
var migrations = []string{
	// 1: runs, visited URLs, seen assets, incidents, matches and the outbox.
	`
CREATE TABLE runs (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	started_at  TEXT NOT NULL,
	finished_at TEXT,
	status      TEXT NOT NULL DEFAULT 'running',
	seeds       TEXT NOT NULL,
	summary     TEXT
);
CREATE TABLE visited (
	url           TEXT PRIMARY KEY,
	run_id        INTEGER NOT NULL,
	fetched_at    TEXT NOT NULL,
	status        TEXT NOT NULL,
	etag          TEXT,
	last_modified TEXT
);
CREATE TABLE seen_assets (
	sha256      TEXT PRIMARY KEY,
	first_seen  TEXT NOT NULL,
	last_seen   TEXT NOT NULL,
	fingerprint BLOB,
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
	payload     BLOB NOT NULL,
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
`,
	// 2: incremental recrawl: validators, links of unchanged pages, and the
	// content hash of unchanged assets.
	`
ALTER TABLE visited ADD COLUMN sha256 TEXT;
ALTER TABLE visited ADD COLUMN links TEXT;
`,
	// 3: matches not yet announced by an alert event (growth is batched
	// into one "updated" event per run).
	`
ALTER TABLE incident_matches ADD COLUMN announced INTEGER NOT NULL DEFAULT 1;
`,
	// 4: per-endpoint delivery state. An endpoint that answered 410 Gone is
	// disabled and skipped until an operator re-enables it; its deliveries
	// stay pending meanwhile.
	`
CREATE TABLE endpoints (
	key             TEXT PRIMARY KEY,
	name            TEXT NOT NULL DEFAULT '',
	disabled_at     TEXT,
	disabled_reason TEXT,
	last_success    TEXT,
	last_failure    TEXT,
	last_error      TEXT,
	failures        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX deliveries_endpoint ON deliveries(endpoint, status);
`,
	// 5: the route that matched (fingerprint.Match.Via) and, for the
	// feature route, its inlier count, shown in incident reports.
	`
ALTER TABLE incident_matches ADD COLUMN via TEXT NOT NULL DEFAULT '';
ALTER TABLE incident_matches ADD COLUMN inliers INTEGER NOT NULL DEFAULT 0;
`,
	// 6: the disclosure ledger. Transfers, their captures, revocations and
	// canaries are history: rows are only ever inserted. Holdings (who
	// holds which capture through transfers not revoked) and the per
	// recipient and total counts are derived from it in the same
	// transactions, so attribution reads a leak's holders by key and the
	// sizes in one row each.
	`
CREATE TABLE ledger_transfers (
	id          TEXT PRIMARY KEY,
	recipient   TEXT NOT NULL,
	disclosed   TEXT NOT NULL,
	note        TEXT NOT NULL,
	canary      INTEGER NOT NULL,
	captures    INTEGER NOT NULL,
	digest      TEXT NOT NULL,
	recorded_at TEXT NOT NULL
);
CREATE INDEX ledger_transfers_recipient ON ledger_transfers(recipient);
CREATE TABLE ledger_items (
	transfer_id TEXT NOT NULL REFERENCES ledger_transfers(id),
	capture_id  TEXT NOT NULL,
	PRIMARY KEY (transfer_id, capture_id)
);
CREATE TABLE ledger_revocations (
	transfer_id TEXT PRIMARY KEY REFERENCES ledger_transfers(id),
	reason      TEXT NOT NULL,
	revoked_at  TEXT NOT NULL
);
CREATE TABLE ledger_canaries (
	capture_id  TEXT PRIMARY KEY,
	recipient   TEXT NOT NULL,
	transfer_id TEXT NOT NULL REFERENCES ledger_transfers(id)
);
CREATE TABLE ledger_holdings (
	capture_id TEXT NOT NULL,
	recipient  TEXT NOT NULL,
	transfers  INTEGER NOT NULL,
	PRIMARY KEY (capture_id, recipient)
);
CREATE INDEX ledger_holdings_recipient ON ledger_holdings(recipient);
CREATE TABLE ledger_recipients (
	recipient TEXT PRIMARY KEY,
	captures  INTEGER NOT NULL
);
CREATE TABLE ledger_totals (
	id       INTEGER PRIMARY KEY,
	captures INTEGER NOT NULL
);
INSERT INTO ledger_totals(id, captures) VALUES (1, 0);
`,
	// 7: false positives. A dismissed (capture, leaked file) pair is never
	// recorded again; the incident keeps why it was dismissed.
	`
CREATE TABLE dismissals (
	capture_id   TEXT NOT NULL,
	sha256       TEXT NOT NULL,
	incident_id  TEXT NOT NULL,
	reason       TEXT NOT NULL,
	dismissed_at TEXT NOT NULL,
	PRIMARY KEY (capture_id, sha256)
);
ALTER TABLE incidents ADD COLUMN status_reason TEXT NOT NULL DEFAULT '';
`,
	// 8: the shared crawl frontier: a run's scope and limits, its queue of
	// work items under leases (times in Unix milliseconds), the workers
	// seen, and per-host request slots shared by all workers.
	`
ALTER TABLE runs ADD COLUMN config TEXT;
CREATE TABLE work_items (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	run_id      INTEGER NOT NULL REFERENCES runs(id),
	url         TEXT NOT NULL,
	page        TEXT NOT NULL DEFAULT '',
	kind        TEXT NOT NULL,
	depth       INTEGER NOT NULL,
	state       TEXT NOT NULL DEFAULT 'pending',
	attempts    INTEGER NOT NULL DEFAULT 0,
	lease_owner TEXT,
	lease_until INTEGER NOT NULL DEFAULT 0,
	error       TEXT,
	matches     INTEGER NOT NULL DEFAULT 0,
	UNIQUE (run_id, url)
);
CREATE INDEX work_items_pending ON work_items(state, id);
CREATE INDEX work_items_lease ON work_items(state, lease_until);
CREATE INDEX work_items_run ON work_items(run_id, state);
CREATE TABLE run_workers (
	run_id     INTEGER NOT NULL REFERENCES runs(id),
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
	until_ms INTEGER NOT NULL DEFAULT 0,
	next_ms  INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (host, slot)
);
`,
	// 9: a shared run's budget of stored page links, spent by all its
	// workers (plain SQL both dialects read).
	`
ALTER TABLE runs ADD COLUMN stored_link_bytes BIGINT NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN link_budget_spent INTEGER NOT NULL DEFAULT 0;
`,
	// 10: a delivery held for its scan's end is marked as such, so that
	// releasing held deliveries never touches one a worker has claimed
	// (its next attempt moved ahead as a lease).
	`
ALTER TABLE deliveries ADD COLUMN held INTEGER NOT NULL DEFAULT 0;
UPDATE deliveries SET held = 1 WHERE status = 'pending' AND attempts = 0;
`,
	// 11: when a process first delivered to an endpoint: events recorded
	// since then by a process without that endpoint are given to it
	// (AdoptEndpoints), held until the event's hold ends, which the event
	// now keeps itself (it may have no delivery of its own).
	`
ALTER TABLE endpoints ADD COLUMN first_seen TEXT;
ALTER TABLE outbox ADD COLUMN held_until TEXT;
UPDATE outbox SET held_until = (SELECT MIN(d.next_attempt) FROM deliveries d WHERE d.event_id = outbox.event_id AND d.held = 1 AND d.status = 'pending');
CREATE INDEX outbox_created ON outbox(created_at);
`,
}
