import CaseLedgerCore
import GRDB

/// `violations` and `compliance_cases`: each case's contacts judged by the rulebooks in force
/// (CONTRACT §6, §7). A case's rows are replaced whenever one of its events arrives, since a late
/// contact can change what breaks a limit; rebuilt when the rulebooks change (its fingerprint).
final class ComplianceTable: StoredProjection {
    static let name = ComplianceProjection.name
    static let version = ComplianceProjection.version
    static let tables = ["violations", "compliance_cases"]
    static let schema = [
        """
        CREATE TABLE violations (
            case_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            rule TEXT NOT NULL,
            rulebook TEXT NOT NULL,
            event_id TEXT NOT NULL,
            actor TEXT NOT NULL,
            local_time TEXT NOT NULL,
            detail TEXT NOT NULL
        )
        """,
        "CREATE INDEX violations_by_case ON violations (case_id, seq)",
        "CREATE INDEX violations_by_actor ON violations (actor, seq)",
        """
        CREATE TABLE compliance_cases (
            case_id TEXT PRIMARY KEY,
            checked INTEGER NOT NULL,
            violations INTEGER NOT NULL
        ) WITHOUT ROWID
        """,
    ]

    static func fingerprint(_ rules: RulebookChoice) -> String {
        switch rules {
        case .inForce(let library): library.fingerprint
        case .given(let rulebook): RulebookLibrary(rulebooks: [rulebook]).fingerprint
        }
    }

    private let rules: RulebookChoice
    private let db: Database
    private let drop: RawStatement
    private let insert: RawStatement
    private let saveCase: RawStatement
    private let select: RawStatement
    private var rebuiltViolations = 0

    init(_ db: Database, rules: RulebookChoice) throws {
        self.db = db
        self.rules = rules
        drop = try RawStatement(db, "DELETE FROM violations WHERE case_id = ?")
        insert = try RawStatement(db, """
            INSERT INTO violations (case_id, seq, rule, rulebook, event_id, actor, local_time, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """)
        saveCase = try RawStatement(db, "INSERT OR REPLACE INTO compliance_cases (case_id, checked, violations) VALUES (?, ?, ?)")
        select = try RawStatement(db, "SELECT rule, rulebook, event_id, seq, actor, local_time, detail FROM violations WHERE case_id = ? ORDER BY rowid")
    }

    func save(_ box: CaseBox) throws {
        guard let record = box.compliance else { return }
        let outcome = ContactRules.judge(record, by: rules)
        drop.bind(1, record.caseID)
        _ = try drop.step()
        drop.reset()
        for violation in outcome.violations {
            insert.bind(1, violation.caseID)
            insert.bind(2, violation.seq)
            insert.bind(3, violation.rule)
            insert.bind(4, violation.rulebook)
            insert.bind(5, violation.eventID)
            insert.bind(6, violation.actor)
            insert.bind(7, violation.localTime)
            insert.bind(8, violation.detail)
            _ = try insert.step()
            insert.reset()
        }
        saveCase.bind(1, record.caseID)
        saveCase.bind(2, Int64(outcome.unchecked ? 0 : 1))
        saveCase.bind(3, Int64(outcome.violations.count))
        _ = try saveCase.step()
        saveCase.reset()
    }

    func verify(_ box: CaseBox) throws {
        guard let record = box.compliance else { return }
        let rebuilt = ContactRules.judge(record, by: rules).violations
        rebuiltViolations += rebuilt.count
        select.bind(1, record.caseID)
        defer { select.reset() }
        var stored: [Violation] = []
        while try select.step() {
            stored.append(Violation(rule: select.text(0), rulebook: select.text(1), eventID: select.text(2), seq: select.int64(3),
                                    caseID: record.caseID, actor: select.text(4), localTime: select.text(5), detail: select.text(6)))
        }
        if stored != rebuilt {
            throw LedgerError.verificationFailed(seq: nil, reason: "projection compliance differs from a rebuild for case \(record.caseID) (\(stored.count) violations stored, \(rebuilt.count) rebuilt)")
        }
    }

    func verifyFinish(_ fold: ProjectionFold) throws {
        let stored = try Int.fetchOne(db, sql: "SELECT count(*) FROM violations") ?? 0
        if stored != rebuiltViolations {
            throw LedgerError.verificationFailed(seq: nil, reason: "projection compliance holds \(stored) violations, a rebuild \(rebuiltViolations)")
        }
    }
}
