import CaseLedgerCore
import GRDB

/// Writes projection rows: the one place that turns folded state into SQL, for append and rebuild alike.
struct ProjectionWriter {
    private let saveCase: RawStatement
    private let saveMark: RawStatement
    private let dropViolations: RawStatement
    private let saveViolation: RawStatement
    private let saveComplianceCase: RawStatement

    init(_ db: Database) throws {
        saveCase = try RawStatement(db, """
            INSERT INTO case_state (case_id, version, status, escalation, last_seq, state) VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT (case_id) DO UPDATE SET version = excluded.version, status = excluded.status,
                escalation = excluded.escalation, last_seq = excluded.last_seq, state = excluded.state
            """)
        saveMark = try RawStatement(db, """
            INSERT INTO audit_voids (voided_event_id, voiding_event_id, voiding_seq, actor, occurred_at, reason) VALUES (?, ?, ?, ?, ?, ?)
            """)
        dropViolations = try RawStatement(db, "DELETE FROM violations WHERE case_id = ?")
        saveViolation = try RawStatement(db, """
            INSERT INTO violations (case_id, seq, rule, rulebook, event_id, actor, local_time, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """)
        saveComplianceCase = try RawStatement(db, "INSERT OR REPLACE INTO compliance_cases (case_id, checked, violations) VALUES (?, ?, ?)")
    }

    /// The row a case's state is stored as; `verify` compares exactly these values.
    struct CaseRow: Equatable {
        let caseID: String
        let version: Int64
        let status: String
        let escalation: String?
        let lastSeq: Int64
        let state: [UInt8]

        init(_ state: CaseState) {
            caseID = state.caseID
            version = Int64(state.version)
            status = state.status
            escalation = state.escalation
            lastSeq = state.lastSeq
            self.state = state.storedJSON
        }

        init(caseID: String, version: Int64, status: String, escalation: String?, lastSeq: Int64, state: [UInt8]) {
            self.caseID = caseID
            self.version = version
            self.status = status
            self.escalation = escalation
            self.lastSeq = lastSeq
            self.state = state
        }
    }

    func save(_ state: CaseState) throws {
        let row = CaseRow(state)
        saveCase.bind(1, row.caseID)
        saveCase.bind(2, row.version)
        saveCase.bind(3, row.status)
        if let escalation = row.escalation { saveCase.bind(4, escalation) }
        saveCase.bind(5, row.lastSeq)
        saveCase.bind(6, utf8: row.state)
        defer { saveCase.reset() }
        _ = try saveCase.step()
    }

    func save(_ mark: AuditProjection.VoidMark) throws {
        saveMark.bind(1, mark.voidedEventID)
        saveMark.bind(2, mark.voidingEventID)
        saveMark.bind(3, mark.voidingSeq)
        saveMark.bind(4, mark.actor)
        saveMark.bind(5, mark.occurredAt)
        saveMark.bind(6, mark.reason)
        defer { saveMark.reset() }
        _ = try saveMark.step()
    }

    /// Replaces a case's violations with `outcome`'s.
    func save(_ outcome: ContactRules.Outcome, caseID: String) throws {
        dropViolations.bind(1, caseID)
        _ = try dropViolations.step()
        dropViolations.reset()
        for violation in outcome.violations {
            saveViolation.bind(1, violation.caseID)
            saveViolation.bind(2, violation.seq)
            saveViolation.bind(3, violation.rule)
            saveViolation.bind(4, violation.rulebook)
            saveViolation.bind(5, violation.eventID)
            saveViolation.bind(6, violation.actor)
            saveViolation.bind(7, violation.localTime)
            saveViolation.bind(8, violation.detail)
            _ = try saveViolation.step()
            saveViolation.reset()
        }
        saveComplianceCase.bind(1, caseID)
        saveComplianceCase.bind(2, Int64(outcome.unchecked ? 0 : 1))
        saveComplianceCase.bind(3, Int64(outcome.violations.count))
        _ = try saveComplianceCase.step()
        saveComplianceCase.reset()
    }

    static func setCheckpoints(_ db: Database, seq: Int64) throws {
        try db.execute(sql: "UPDATE projections SET checkpoint_seq = ?", arguments: [seq])
    }
}
