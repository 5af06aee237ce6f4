-- CaseLedger: the SQL schema of a ledger file, for auditors reading it with any SQLite client.
-- The ledger creates it through migrations (Sources/CaseLedgerStore/LedgerSchema.swift); a test
-- keeps this file and a freshly created ledger equal. GRDB adds its own `grdb_migrations` table,
-- which records the migrations applied.

-- The event log: one row per event, append-only (see docs/events.md).
--   seq             global position: 1, 2, 3 … with no gaps
--   event_id        the client's UUID (lowercase), the idempotency key
--   case_id         the stream the event belongs to
--   version         position within the case: 1, 2, 3 …
--   type            one of the catalogue (Schemas/events/)
--   schema_version  the version of the type's schema that `data` was checked against
--   occurred_at     when it happened in the world, RFC 3339 with the offset the client gave
--   recorded_at     the ledger clock at append, UTC, microseconds; never runs backwards
--   actor           kind:id of who did it
--   data            the event's data as RFC 8785 canonical JSON
--   hash            SHA-256(previous hash ‖ RFC 8785 bytes of the ten hashed members), 64 hex
CREATE TABLE events (
    seq INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    case_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    type TEXT NOT NULL,
    schema_version INTEGER NOT NULL,
    occurred_at TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    actor TEXT NOT NULL,
    data TEXT NOT NULL,
    hash TEXT NOT NULL,
    UNIQUE (case_id, version)
);

-- The audit trail by actor reads this index, never the whole log.
CREATE INDEX events_by_actor ON events (actor, seq);

-- Nothing in the log can be changed through SQL.
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the event log is append-only: UPDATE is not allowed'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'the event log is append-only: DELETE is not allowed'); END;

-- Facts about the file itself: format ('caseledger'), kind ('ledger', or 'replay' for a
-- replay's output, which refuses appends), created_at. A replay also holds replay_info, the
-- record of its source, and when made with --rules, rules: the rulebook it was judged by
-- (see docs/replay.md).
CREATE TABLE ledger_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- Projections: derived from the log, updated in the same transaction as every append,
-- disposable and rebuildable; each creates its own tables when it is (re)built. One row each: its code version when last built, its fingerprint
-- (what else it was built from: for compliance, a digest of the shipped rulebooks), and the last
-- seq it has folded (its checkpoint). A ledger opened by code with another version or
-- fingerprint rebuilds it.
CREATE TABLE projections (
    name TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    checkpoint_seq INTEGER NOT NULL
) WITHOUT ROWID;

-- Projection `case_state`: each case's current state (see docs/domain.md).
--   status, escalation  for `case list --status/--escalation`
--   last_seq            the last event of the case folded in
--   state               the fold itself (the events the case remembers), JSON; `case show`
--                       derives the view from it
CREATE TABLE case_state (
    case_id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    status TEXT NOT NULL,
    escalation TEXT,
    last_seq INTEGER NOT NULL,
    state TEXT NOT NULL
);
CREATE INDEX case_state_by_status ON case_state (status, case_id);
CREATE INDEX case_state_by_escalation ON case_state (escalation, case_id);

-- Projection `audit`: which events were voided, by which event (and its seq), who, when, why.
-- Audit entries are the events themselves, read through events_by_actor or (case_id, version).
CREATE TABLE audit_voids (
    voided_event_id TEXT PRIMARY KEY,
    voiding_event_id TEXT NOT NULL,
    voiding_seq INTEGER NOT NULL,
    actor TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    reason TEXT NOT NULL
) WITHOUT ROWID;

-- Projection `compliance`: every violation of the rulebooks in force (see docs/compliance.md), judged
-- per case in the debtor's local time, contacts in occurred_at order, by every rulebook in force
-- for the case's region on the contact's day. A case's rows are replaced whenever one of its
-- events arrives (a late contact can change what breaks a limit).
--   rule        the rule id (contact_hours, calls_per_day, …)
--   rule_limit  the rulebook field exceeded (max_calls_per_day, max_connected_calls_per_day, …)
CREATE TABLE violations (
    case_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    rule TEXT NOT NULL,
    rule_limit TEXT NOT NULL,
    rulebook TEXT NOT NULL,
    event_id TEXT NOT NULL,
    actor TEXT NOT NULL,
    local_time TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX violations_by_case ON violations (case_id, seq);
CREATE INDEX violations_by_actor ON violations (actor, seq);

-- Every case the compliance projection has judged: its region, its outbound contacts (voided ones
-- excluded), how many some rulebook judged, its violations, and why a contact was not judged
-- (the first such: no rulebook in force for the region on that day).
CREATE TABLE compliance_cases (
    case_id TEXT PRIMARY KEY,
    region TEXT,
    contacts INTEGER NOT NULL,
    contacts_judged INTEGER NOT NULL,
    violations INTEGER NOT NULL,
    not_judged TEXT
) WITHOUT ROWID;
CREATE INDEX compliance_cases_by_region ON compliance_cases (region, case_id);

-- Projection `complaints`: every complaint filed (voided filings excluded), open or resolved,
-- for `caseledger complaint list` and the console. filed_local is the filing on the debtor's clock.
CREATE TABLE complaints (
    complaint_id TEXT NOT NULL,
    case_id TEXT NOT NULL,
    filed_seq INTEGER NOT NULL,
    filed_at TEXT NOT NULL,
    filed_local TEXT NOT NULL,
    channel TEXT NOT NULL,
    category TEXT NOT NULL,
    region TEXT,
    status TEXT NOT NULL,
    resolved_at TEXT,
    finding TEXT,
    PRIMARY KEY (complaint_id, case_id)
) WITHOUT ROWID;
CREATE INDEX complaints_by_status ON complaints (status, filed_at);
CREATE INDEX complaints_by_case ON complaints (case_id);

-- Projection `case_index`: find a case from what the debtor gives (`caseledger case find`):
-- kind is 'account_ref', 'debtor_ref' or 'region' (a regulator's scope is applied through it, inside
-- the query), ref its value, one row per case and kind.
CREATE TABLE case_index (
    kind TEXT NOT NULL,
    ref TEXT NOT NULL,
    case_id TEXT NOT NULL,
    PRIMARY KEY (kind, ref, case_id)
) WITHOUT ROWID;

-- Only in a replay's output (`caseledger replay`), which holds a selection of a log: for each
-- kept event whose predecessor in the source was left out, the hash it chains from, so that
-- `verify` can still check every kept event's hash. Empty in a live ledger.
CREATE TABLE replay_links (
    seq INTEGER PRIMARY KEY,
    previous_hash TEXT NOT NULL
);

-- The RFC 9162 Merkle tree over the log (leaf index = seq − 1, leaf = SHA-256(0x00 ‖ the
-- event's canonical bytes)), kept in tiles of 16 hashes: tile (level, idx) holds the hashes of
-- tree level 4·level at indices 16·idx … 16·idx+15, as 16 × 32 bytes. A live ledger writes a
-- tile once it is complete, in the same transaction as the events that complete it; what no
-- complete tile holds yet is recomputed from the events. A replay also stores its source's
-- partial tiles at the source's size (shorter blobs), so its proofs need no left-out event.
CREATE TABLE merkle_tiles (
    level INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    hashes BLOB NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;
CREATE TRIGGER merkle_tiles_no_update BEFORE UPDATE ON merkle_tiles
BEGIN SELECT RAISE(ABORT, 'the Merkle tree is append-only: UPDATE is not allowed'); END;
CREATE TRIGGER merkle_tiles_no_delete BEFORE DELETE ON merkle_tiles
BEGIN SELECT RAISE(ABORT, 'the Merkle tree is append-only: DELETE is not allowed'); END;

-- Every signed checkpoint the ledger holds (C2SP tlog-checkpoint notes): those it signed with
-- `caseledger checkpoint`, and cosigned copies brought back from witnesses with
-- `caseledger checkpoint import`. root_hash is base64, as in the note; stored_at is the ledger
-- clock when it was stored. Append-only, like the log.
CREATE TABLE checkpoints (
    id INTEGER PRIMARY KEY,
    origin TEXT NOT NULL,
    tree_size INTEGER NOT NULL,
    root_hash TEXT NOT NULL,
    note TEXT NOT NULL,
    stored_at TEXT NOT NULL
);
CREATE INDEX checkpoints_by_origin ON checkpoints (origin, tree_size);
CREATE TRIGGER checkpoints_no_update BEFORE UPDATE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only: UPDATE is not allowed'); END;
CREATE TRIGGER checkpoints_no_delete BEFORE DELETE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only: DELETE is not allowed'); END;

-- Server tokens (`caseledger token create|list|revoke`): only the SHA-256 of each bearer token is
-- kept. role: writer, reader, auditor, regulator or admin; actor_prefix: a writer may append only
-- events whose actor starts with it; scopes: a JSON array of "region:R" and "case:ID" (a
-- regulator sees only these); revoked_at: set when revoked (the row stays, for the record).
CREATE TABLE tokens (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    token_sha256 TEXT NOT NULL UNIQUE,
    actor_prefix TEXT,
    scopes TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
) WITHOUT ROWID;

-- The access log: every request that read a case's data, and every token change. when (at),
-- who (token name and role), what (method, path), which cases were returned (case_ids, a JSON
-- array; access_log_cases indexes them), and the status. Append-only.
CREATE TABLE access_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    token_name TEXT NOT NULL,
    role TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    case_ids TEXT NOT NULL,
    status INTEGER NOT NULL
);
CREATE INDEX access_log_by_at ON access_log (at);
CREATE INDEX access_log_by_token ON access_log (token_name, id);
CREATE TABLE access_log_cases (
    access_id INTEGER NOT NULL,
    case_id TEXT NOT NULL,
    PRIMARY KEY (case_id, access_id)
) WITHOUT ROWID;
CREATE TRIGGER access_log_no_update BEFORE UPDATE ON access_log
BEGIN SELECT RAISE(ABORT, 'the access log is append-only: UPDATE is not allowed'); END;
CREATE TRIGGER access_log_no_delete BEFORE DELETE ON access_log
BEGIN SELECT RAISE(ABORT, 'the access log is append-only: DELETE is not allowed'); END;
CREATE TRIGGER access_log_cases_no_update BEFORE UPDATE ON access_log_cases
BEGIN SELECT RAISE(ABORT, 'the access log is append-only: UPDATE is not allowed'); END;
CREATE TRIGGER access_log_cases_no_delete BEFORE DELETE ON access_log_cases
BEGIN SELECT RAISE(ABORT, 'the access log is append-only: DELETE is not allowed'); END;
