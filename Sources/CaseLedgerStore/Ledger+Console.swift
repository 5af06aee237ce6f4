import CaseLedgerCore
import GRDB

/// Which cases the console's case list shows: a search, filters, and a page.
public struct CaseQuery: Sendable {
    /// A case id (or its beginning), an `account_ref` or a `debtor_ref`.
    public var text: String?
    public var status: CaseStatus?
    public var escalation: EscalationFilter?
    /// This region or under it (`US` covers `US-NY`).
    public var region: String?
    public var withViolations = false
    public var withOpenComplaints = false
    /// Cases whose id sorts after this one (the next page).
    public var after: String?
    public var limit = 50
    public var scope: ReadScope = .everything

    public init() {}
}

/// One line of the case list.
public struct CaseSummary: Sendable {
    public let caseID: String
    public let status: String
    public let escalation: String?
    public let region: String?
    public let balanceMinor: Int64
    public let currency: String
    public let lastEventAt: String
    public let violations: Int
    public let openComplaints: Int
}

/// The compliance projection, counted: what the console's compliance page draws.
public struct ComplianceOverview: Sendable {
    public let byRule: [(key: String, count: Int)]
    public let byActor: [(key: String, count: Int)]
    public let byRegion: [(key: String, count: Int)]
    /// Violations per month of the debtor's clock ("2024-06"), oldest first.
    public let byMonth: [(key: String, count: Int)]
    public let cases: Int
    public let casesWithViolations: Int
    public let contacts: Int
    public let contactsJudged: Int
}

extension Ledger {
    /// The console's case list: every filter inside one SQL query (a regulator's scope too), in
    /// case_id order from `after`, at most `limit` (an index walk, however many cases there are).
    public func caseSummaries(_ query: CaseQuery) throws -> [CaseSummary] {
        try database.read { db in
            var conditions: [String] = []
            var arguments: [DatabaseValueConvertible] = []
            if !query.scope.isEverything {
                let (inScope, scoped) = query.scope.condition(on: "s.case_id")
                conditions.append(inScope)
                arguments += scoped as [DatabaseValueConvertible]
            }
            if let text = query.text?.trimmingCharacters(in: .whitespaces), !text.isEmpty {
                conditions.append("""
                    (s.case_id = ? OR (s.case_id >= ? AND s.case_id < ?)
                     OR s.case_id IN (SELECT case_id FROM case_index WHERE kind IN ('account_ref', 'debtor_ref') AND ref = ?))
                    """)
                arguments += [text, text, text + "\u{10FFFF}", text]
            }
            if let status = query.status {
                conditions.append("s.status = ?")
                arguments.append(status.rawValue)
            }
            if let escalation = query.escalation {
                if escalation == .none { conditions.append("s.escalation IS NULL") } else {
                    conditions.append("s.escalation = ?")
                    arguments.append(escalation.rawValue)
                }
            }
            if let region = query.region, !region.isEmpty {
                let (inRegion, regional) = ReadScope.only([.region(region)]).condition(on: "s.case_id")
                conditions.append(inRegion)
                arguments += regional as [DatabaseValueConvertible]
            }
            if query.withViolations { conditions.append("c.violations > 0") }
            if query.withOpenComplaints {
                conditions.append("EXISTS (SELECT 1 FROM complaints k WHERE k.case_id = s.case_id AND k.status = 'open')")
            }
            if let after = query.after {
                conditions.append("s.case_id > ?")
                arguments.append(after)
            }
            arguments.append(query.limit)
            let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            let rows = try Row.fetchAll(db, sql: """
                SELECT s.case_id, s.state, coalesce(c.violations, 0) AS violations,
                       (SELECT count(*) FROM complaints k WHERE k.case_id = s.case_id AND k.status = 'open') AS open_complaints
                FROM case_state s LEFT JOIN compliance_cases c ON c.case_id = s.case_id
                \(filter) ORDER BY s.case_id LIMIT ?
                """, arguments: StatementArguments(arguments))
            return try rows.map { row in
                let caseID: String = row["case_id"]
                guard let state = CaseState(storedJSON: row["state"]) else { throw Self.unreadableState(caseID) }
                return CaseSummary(caseID: caseID, status: state.status.rawValue, escalation: state.escalation?.rawValue,
                                   region: state.opening.region, balanceMinor: state.balanceMinor, currency: state.opening.currency,
                                   lastEventAt: state.lastEventAt, violations: row["violations"],
                                   openComplaints: row["open_complaints"])
            }
        }
    }

    /// Every contact of one case judged as the compliance projection judges it, with the reason
    /// for those no rulebook judged (the case page marks them "not judged").
    public func caseJudgements(_ caseID: String, scope: ReadScope = .everything) throws -> ContactRules.Outcome {
        try database.read { db in
            guard try Self.isVisible(db, caseID: caseID, scope: scope) else { throw LedgerError.notFound("no case \(JSONText.shown(caseID))") }
            var record: ComplianceCase?
            try Self.feedCase(db, caseID: caseID, types: ComplianceProjection.eventTypes) { event, target, data in
                ComplianceProjection.apply(event, to: &record, target: target, data: data ?? "{}")
            }
            guard let record else { return ContactRules.Outcome() }
            return ContactRules.judge(record, by: try Self.rules(db))
        }
    }

    /// The compliance projection counted by rule, actor, region and month, and the judged share:
    /// SQL over the projection's tables, never a pass over the log.
    public func complianceOverview(scope: ReadScope = .everything) throws -> ComplianceOverview {
        try database.read { db in
            let (inScope, scoped) = scope.condition(on: "case_id")
            let arguments = StatementArguments(scoped)
            func counts(_ sql: String) throws -> [(key: String, count: Int)] {
                try Row.fetchAll(db, sql: sql, arguments: arguments).map { ($0[0] ?? "", $0[1]) }
            }
            let byRule = try counts("SELECT rule, count(*) FROM violations WHERE \(inScope) GROUP BY rule ORDER BY 2 DESC, 1")
            let byActor = try counts("SELECT actor, count(*) FROM violations WHERE \(inScope) GROUP BY actor ORDER BY 2 DESC, 1 LIMIT 12")
            let byMonth = try counts("SELECT substr(local_time, 1, 7), count(*) FROM violations WHERE \(inScope) GROUP BY 1 ORDER BY 1")
            let byRegion = try counts("""
                SELECT coalesce(region, '(none)'), sum(violations) FROM compliance_cases WHERE \(inScope) AND violations > 0
                GROUP BY 1 ORDER BY 2 DESC, 1
                """)
            let totals = try Row.fetchOne(db, sql: """
                SELECT count(*), coalesce(sum(violations > 0), 0), coalesce(sum(contacts), 0), coalesce(sum(contacts_judged), 0)
                FROM compliance_cases WHERE \(inScope)
                """, arguments: arguments)
            return ComplianceOverview(byRule: byRule, byActor: byActor, byRegion: byRegion, byMonth: byMonth,
                                      cases: totals?[0] ?? 0, casesWithViolations: totals?[1] ?? 0,
                                      contacts: totals?[2] ?? 0, contactsJudged: totals?[3] ?? 0)
        }
    }

    /// The rulebooks this ledger judges by (those in force for some case, with their sources).
    public func rulebooksInForce() throws -> [Rulebook] {
        try database.read { db in try Self.rules(db).rulebooks }
    }
}
