-- CaseLedger: the SQL schema of a ledger file, for auditors reading it with any SQLite client.
-- The ledger creates it through migrations (Sources/CaseLedgerStore/LedgerSchema.swift); a test
-- keeps this file and a freshly created ledger equal. GRDB adds its own `grdb_migrations` table,
-- which records the migrations applied.

-- The event log: one row per event, append-only. CONTRACT §1 and §4.
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
--   hash            SHA-256(previous hash ‖ RFC 8785 bytes of the stored envelope), 64 hex
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

-- Nothing in the log can be changed through SQL.
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the event log is append-only: UPDATE is not allowed'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'the event log is append-only: DELETE is not allowed'); END;

-- The write-side state of each case: what append needs to judge the next event (its version,
-- currency, whether it is closed, its visits, plans, restrictions, complaints and voided events),
-- as JSON. Derived from the log and written in the same transaction as the events.
CREATE TABLE streams (
    case_id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    state TEXT NOT NULL
) WITHOUT ROWID;

-- Facts about the file itself: format ('caseledger'), kind ('ledger', or 'replay' for a
-- replay's output, which refuses appends), created_at.
CREATE TABLE ledger_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
