import CaseLedgerCore
import GRDB

/// The ledger file's tables, created through GRDB migrations: frozen SQL, never edited once
/// released, and never dependent on application types. Projections create their own tables
/// when they are (re)built (`Projections/`). `Schemas/sql/ledger.sql` documents the whole schema
/// for auditors; a test keeps the two equal.
enum LedgerSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-event-log") { db in
            try db.execute(sql: """
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
                CREATE INDEX events_by_actor ON events (actor, seq);
                CREATE TRIGGER events_no_update BEFORE UPDATE ON events
                BEGIN SELECT RAISE(ABORT, 'the event log is append-only: UPDATE is not allowed'); END;
                CREATE TRIGGER events_no_delete BEFORE DELETE ON events
                BEGIN SELECT RAISE(ABORT, 'the event log is append-only: DELETE is not allowed'); END;
                CREATE TABLE ledger_meta (
                    key TEXT PRIMARY KEY,
                    value TEXT NOT NULL
                ) WITHOUT ROWID;
                CREATE TABLE projections (
                    name TEXT PRIMARY KEY,
                    version INTEGER NOT NULL,
                    fingerprint TEXT NOT NULL,
                    checkpoint_seq INTEGER NOT NULL
                ) WITHOUT ROWID;
                """)
            // Frozen as first released: the projections' tables as they were then (a projection's
            // rebuild drops and recreates its own tables in their current shape), and their rows
            // with no fingerprint, so the first opening builds them from the log.
            try db.execute(sql: """
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
                CREATE TABLE violations (
                    case_id TEXT NOT NULL,
                    seq INTEGER NOT NULL,
                    rule TEXT NOT NULL,
                    rulebook TEXT NOT NULL,
                    event_id TEXT NOT NULL,
                    actor TEXT NOT NULL,
                    local_time TEXT NOT NULL,
                    detail TEXT NOT NULL
                );
                CREATE INDEX violations_by_case ON violations (case_id, seq);
                CREATE INDEX violations_by_actor ON violations (actor, seq);
                CREATE TABLE compliance_cases (
                    case_id TEXT PRIMARY KEY,
                    checked INTEGER NOT NULL,
                    violations INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE TABLE audit_voids (
                    voided_event_id TEXT PRIMARY KEY,
                    voiding_event_id TEXT NOT NULL,
                    voiding_seq INTEGER NOT NULL,
                    actor TEXT NOT NULL,
                    occurred_at TEXT NOT NULL,
                    reason TEXT NOT NULL
                ) WITHOUT ROWID;
                INSERT INTO projections (name, version, fingerprint, checkpoint_seq)
                VALUES ('case_state', 1, '', 0), ('audit', 1, '', 0), ('compliance', 1, '', 0);
                """)
        }
        migrator.registerMigration("v2-replay-links") { db in
            try db.execute(sql: """
                CREATE TABLE replay_links (
                    seq INTEGER PRIMARY KEY,
                    previous_hash TEXT NOT NULL
                )
                """)
        }
        migrator.registerMigration("v3-merkle-tree-and-checkpoints") { db in
            try db.execute(sql: """
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
                """)
        }
        migrator.registerMigration("v4-tokens-and-access-log") { db in
            try db.execute(sql: """
                CREATE TABLE tokens (
                    name TEXT PRIMARY KEY,
                    role TEXT NOT NULL,
                    token_sha256 TEXT NOT NULL UNIQUE,
                    actor_prefix TEXT,
                    scopes TEXT NOT NULL,
                    created_at TEXT NOT NULL,
                    revoked_at TEXT
                ) WITHOUT ROWID;
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
                """)
        }
        return migrator
    }
}
