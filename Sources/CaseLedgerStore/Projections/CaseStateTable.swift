import CaseLedgerCore
import GRDB

/// `case_state`: every case's fold (docs/compliance.md, `case show`, `case list`), one row per case, with
/// its status and escalation beside it for the listings' filters.
final class CaseStateTable: StoredProjection {
    static let name = CaseStateProjection.name
    static let version = CaseStateProjection.version
    static let tables = ["case_state"]
    static let schema = [
        """
        CREATE TABLE case_state (
            case_id TEXT PRIMARY KEY,
            version INTEGER NOT NULL,
            status TEXT NOT NULL,
            escalation TEXT,
            last_seq INTEGER NOT NULL,
            state TEXT NOT NULL
        )
        """,
        "CREATE INDEX case_state_by_status ON case_state (status, case_id)",
        "CREATE INDEX case_state_by_escalation ON case_state (escalation, case_id)",
    ]

    private let upsert: RawStatement
    /// For a stored case whose status and escalation did not change: the indexes on them are left alone.
    private let update: RawStatement
    private let select: RawStatement
    private let db: Database

    init(_ db: Database, rules: RulebookChoice) throws {
        self.db = db
        upsert = try RawStatement(db, """
            INSERT INTO case_state (case_id, version, status, escalation, last_seq, state) VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT (case_id) DO UPDATE SET version = excluded.version, status = excluded.status,
                escalation = excluded.escalation, last_seq = excluded.last_seq, state = excluded.state
            """)
        update = try RawStatement(db, "UPDATE case_state SET version = ?, last_seq = ?, state = ? WHERE case_id = ?")
        select = try RawStatement(db, "SELECT version, status, escalation, last_seq, state FROM case_state WHERE case_id = ?")
    }

    /// The row a case's state is stored as; `verify` compares exactly these values. The state's
    /// JSON, most of a row (kilobytes for a long case), is written into `stateText`, kept from
    /// one case to the next.
    struct Row {
        let version: Int64
        let status: String
        let escalation: String?
        let lastSeq: Int64

        init(_ state: CaseState, writingStateInto stateText: inout TextBuffer) {
            version = Int64(state.version)
            status = state.status.rawValue
            escalation = state.escalation?.rawValue
            lastSeq = state.lastSeq
            state.writeStoredJSON(into: &stateText)
        }
    }

    private var stateText = TextBuffer()

    func save(_ box: CaseBox) throws {
        guard let state = box.state else { return }
        let row = Row(state, writingStateInto: &stateText)
        if let stored = box.stored, stored.status == row.status, stored.escalation == row.escalation {
            update.bind(1, row.version)
            update.bind(2, row.lastSeq)
            update.bind(3, utf8: stateText)
            update.bind(4, state.caseID)
            defer { update.reset() }
            _ = try update.step()
            return
        }
        upsert.bind(1, state.caseID)
        upsert.bind(2, row.version)
        upsert.bind(3, row.status)
        if let escalation = row.escalation { upsert.bind(4, escalation) }
        upsert.bind(5, row.lastSeq)
        upsert.bind(6, utf8: stateText)
        defer { upsert.reset() }
        _ = try upsert.step()
    }

    func verify(_ box: CaseBox) throws {
        guard let state = box.state else { return }
        select.bind(1, state.caseID)
        defer { select.reset() }
        guard try select.step() else {
            throw LedgerError.verificationFailed(seq: nil, reason: "projection case_state: case \(state.caseID) is missing")
        }
        // Compared in place, column by column: the state's JSON is most of a row, kilobytes for a long case.
        let rebuilt = Row(state, writingStateInto: &stateText)
        let escalationSame = rebuilt.escalation.map { !select.isNull(2) && select.text(2, equals: $0) } ?? select.isNull(2)
        let field = !select.text(1, equals: rebuilt.status) ? "status" : select.int64(0) != rebuilt.version ? "version"
            : !escalationSame ? "escalation" : select.int64(3) != rebuilt.lastSeq ? "last_seq" : !select.text(4, equals: stateText) ? "state" : nil
        guard let field else { return }
        throw LedgerError.verificationFailed(seq: nil, reason: "projection case_state differs from a rebuild for case \(state.caseID) (\(field))")
    }

    func verifyFinish(_ fold: ProjectionFold) throws {
        let stored = try Int.fetchOne(db, sql: "SELECT count(*) FROM case_state") ?? 0
        if stored != fold.caseCount {
            throw LedgerError.verificationFailed(seq: nil, reason: "projection case_state holds \(stored) cases, the log \(fold.caseCount)")
        }
    }
}
