import CaseLedgerCore
import GRDB

/// `violations` and `compliance_cases`: each case's contacts judged by the rulebooks in force
/// (docs/compliance.md). A case's rows are replaced whenever one of its events arrives, since a late
/// contact can change what breaks a limit; rebuilt when the rulebooks change (its fingerprint).
final class ComplianceTable: StoredProjection {
    static let name = ComplianceProjection.name
    static let version = ComplianceProjection.version
    static let tables = ["violations", "compliance_cases"]
    /// One row per violation (a what-if report keeps its own, in a `ViolationSpill`).
    static let violationsTable = """
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
        )
        """
    static let schema = [
        violationsTable,
        "CREATE INDEX violations_by_case ON violations (case_id, seq)",
        "CREATE INDEX violations_by_actor ON violations (actor, seq)",
        """
        CREATE TABLE compliance_cases (
            case_id TEXT PRIMARY KEY,
            region TEXT,
            contacts INTEGER NOT NULL,
            contacts_judged INTEGER NOT NULL,
            violations INTEGER NOT NULL,
            not_judged TEXT
        ) WITHOUT ROWID
        """,
        "CREATE INDEX compliance_cases_by_region ON compliance_cases (region, case_id)",
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
    /// Whether a case's old violations are deleted before its new ones are written (not in a rebuild).
    private var replacesRows = true

    init(_ db: Database, rules: RulebookChoice) throws {
        self.db = db
        self.rules = rules
        drop = try RawStatement(db, "DELETE FROM violations WHERE case_id = ?")
        insert = try RawStatement(db, Self.insertViolation)
        saveCase = try RawStatement(db, """
            INSERT OR REPLACE INTO compliance_cases (case_id, region, contacts, contacts_judged, violations, not_judged) VALUES (?, ?, ?, ?, ?, ?)
            """)
        // In the order reports show a case's violations, (seq, then as inserted): the order of the
        // (case_id, seq) index, which ends in the rowid, so SQLite reads it without a sort.
        // `ORDER BY rowid` made SQLite build and sort a temporary b-tree for every case.
        select = try RawStatement(db, "SELECT \(Self.violationColumns), rule FROM violations WHERE case_id = ? ORDER BY seq, rowid")
    }

    func fillsEmptyTables() { replacesRows = false }

    /// When set, cases are judged on a second thread and written as their outcomes come back.
    private var background: BackgroundJudge?

    func save(_ box: CaseBox) throws {
        guard box.complianceChanged, let record = box.compliance else { return }
        if let background {
            try handle(background.submit(record))
        } else {
            try write(record, ContactRules.judge(record, by: rules))
        }
    }

    /// Whether the background outcomes are checked against what is stored (verify) or written (rebuild).
    private var verifying = false

    /// Judges on a second thread from now on, until `finishJudging` (or `cancelJudging`): for a
    /// rebuild (`save`) or for `verify`.
    func judgeInBackground(verifying: Bool = false) {
        self.verifying = verifying
        background = BackgroundJudge(rules: rules)
    }

    /// Writes (or checks) the outcomes still to come; judging is inline again.
    func finishJudging() throws {
        guard let background else { return }
        self.background = nil
        try background.finish { try handle($0) }
    }

    private func handle(_ judged: [BackgroundJudge.Judged]) throws {
        for (record, outcome) in judged {
            if verifying { try compare(record, outcome.violations) } else { try write(record, outcome) }
        }
        background?.discard(judged)
    }

    /// A retired case the caller is done with: freed on the judge's thread while there is one.
    func discard(_ box: CaseBox) {
        background?.discard(box)
    }

    func cancelJudging() {
        background?.cancel()
        background = nil
    }

    private func write(_ record: ComplianceCase, _ outcome: ContactRules.Outcome) throws {
        if replacesRows {
            drop.bind(1, record.caseID)
            _ = try drop.step()
            drop.reset()
        }
        for violation in outcome.violations {
            Self.bind(violation, to: insert)
            _ = try insert.step()
            insert.reset()
        }
        saveCase.bind(1, record.caseID)
        if let region = record.region { saveCase.bind(2, region) }
        saveCase.bind(3, Int64(outcome.contacts.count))
        saveCase.bind(4, Int64(outcome.contactsJudged))
        saveCase.bind(5, Int64(outcome.violations.count))
        if let reason = outcome.contacts.first(where: { !$0.judged })?.notJudged { saveCase.bind(6, reason) }
        _ = try saveCase.step()
        saveCase.reset()
    }

    static let insertViolation = """
        INSERT INTO violations (case_id, seq, rule, rule_limit, rulebook, event_id, actor, local_time, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
        """

    /// Binds a violation's columns to `insertViolation`.
    static func bind(_ violation: Violation, to insert: RawStatement) {
        insert.bind(1, violation.caseID)
        insert.bind(2, violation.seq)
        insert.bind(3, violation.rule.rawValue)
        insert.bind(4, violation.limit.rawValue)
        insert.bind(5, violation.rulebook)
        insert.bind(6, violation.eventID)
        insert.bind(7, violation.actor)
        insert.bind(8, violation.localTime)
        insert.bind(9, violation.detail)
    }

    /// The columns `violation(_:)` reads, in order.
    static let violationColumns = "rule_limit, rulebook, event_id, seq, actor, local_time, detail, case_id"

    /// A stored violation row (read with `violationColumns`).
    static func violation(_ row: RawStatement) -> Violation {
        Violation(limit: RuleLimit(rawValue: row.text(0)) ?? .contactHours, rulebook: row.text(1), eventID: row.text(2), seq: row.int64(3),
                  caseID: row.text(7), actor: row.text(4), localTime: row.text(5), detail: row.text(6))
    }

    func verify(_ box: CaseBox) throws {
        guard let record = box.compliance else { return }
        if let background {
            try handle(background.submit(record))
        } else {
            try compare(record, ContactRules.judge(record, by: rules).violations)
        }
    }

    private func compare(_ record: ComplianceCase, _ judged: [Violation]) throws {
        rebuiltViolations += judged.count
        let rebuilt = Self.inReportOrder(judged)
        select.bind(1, record.caseID)
        defer { select.reset() }
        // Each stored row against the rebuilt violation in its place, column by column and in
        // place: verify reads every violation, and making its Strings cost more than the rest.
        var stored = 0
        var same = true
        while try select.step() {
            if same { same = stored < rebuilt.count && Self.row(select, holds: rebuilt[stored]) }
            stored += 1
        }
        if !same || stored != rebuilt.count {
            throw LedgerError.verificationFailed(seq: nil, reason: "projection compliance differs from a rebuild for case \(record.caseID) (\(stored) violations stored, \(rebuilt.count) rebuilt)")
        }
    }

    /// Violations as judged (in the order contacts occurred) put in the order `select` reads
    /// stored ones: by seq, and in the judged (inserted) order within a seq.
    static func inReportOrder(_ violations: [Violation]) -> [Violation] {
        guard violations.indices.dropFirst().contains(where: { violations[$0 - 1].seq > violations[$0].seq }) else { return violations }
        return violations.enumerated().sorted { ($0.element.seq, $0.offset) < ($1.element.seq, $1.offset) }.map(\.element)
    }

    /// Whether a row read by `select` (`violationColumns`, then `rule`) stores `violation`: every
    /// column, the rule too (it is the limit's rule, and an edited one would otherwise go unread).
    private static func row(_ row: RawStatement, holds violation: Violation) -> Bool {
        row.int64(3) == violation.seq && row.text(0, equals: violation.limit.rawValue) && row.text(8, equals: violation.rule.rawValue)
            && row.text(1, equals: violation.rulebook) && row.text(2, equals: violation.eventID) && row.text(7, equals: violation.caseID)
            && row.text(4, equals: violation.actor) && row.text(5, equals: violation.localTime) && row.text(6, equals: violation.detail)
    }

    func verifyFinish(_ fold: ProjectionFold) throws {
        try finishJudging()
        let stored = try Int.fetchOne(db, sql: "SELECT count(*) FROM violations") ?? 0
        if stored != rebuiltViolations {
            throw LedgerError.verificationFailed(seq: nil, reason: "projection compliance holds \(stored) violations, a rebuild \(rebuiltViolations)")
        }
    }
}
