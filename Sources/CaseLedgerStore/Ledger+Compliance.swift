import CaseLedgerCore
import Foundation
import GRDB

/// What `caseledger compliance` reports.
public struct ComplianceReport: Sendable {
    public enum Mode: String, Sendable {
        /// The compliance projection: each contact judged by the rulebook in force on its day.
        case inForce = "in_force"
        /// One rulebook given for everything, judged on the fly (what-if).
        case given
    }

    public let mode: Mode
    public let rulebooks: [Rulebook]
    public let violations: [Violation]
    public let notices: [VoidNotice]
    public let casesJudged: Int
    public let uncheckedCases: [String]

    /// Counts by rule and by actor, largest first.
    public func counts(by key: (Violation) -> String) -> [(key: String, count: Int)] {
        var counts: [String: Int] = [:]
        for violation in violations { counts[key(violation), default: 0] += 1 }
        return counts.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.map { ($0.key, $0.value) }
    }

    public var json: JSONValue {
        func table(_ rows: [(key: String, count: Int)]) -> JSONValue {
            .object(JSONObject(rows.map { ($0.key, JSONValue.int(Int64($0.count))) }))
        }
        let casesWithViolations = Set(violations.map(\.caseID)).count
        return .object(JSONObject([
            ("mode", .string(mode.rawValue)),
            ("rulebooks", .array(rulebooks.map { .string($0.id) })),
            ("summary", .object(JSONObject([
                ("violations", .int(Int64(violations.count))), ("cases_judged", .int(Int64(casesJudged))),
                ("cases_with_violations", .int(Int64(casesWithViolations))),
                ("by_rule", table(counts { $0.rule })), ("by_actor", table(counts { $0.actor })),
                ("notices", .int(Int64(notices.count))), ("unchecked_cases", .array(uncheckedCases.map { .string($0) })),
            ]))),
            ("violations", .array(violations.map(\.json))),
            ("notices", .array(notices.map(\.json))),
        ]))
    }
}

extension Ledger {
    /// Violations under the rulebooks in force (from the compliance projection), or under
    /// `rulebook` when one is given (judged on the fly from the log); for one case or all.
    public func compliance(rulebook: Rulebook? = nil, caseID: String? = nil) throws -> ComplianceReport {
        try database.read { db in
            if let caseID, try Int.fetchOne(db, sql: "SELECT count(*) FROM case_state WHERE case_id = ?", arguments: [caseID]) == 0 {
                throw LedgerError.notFound("no case \(caseID) in \(path)")
            }
            let choice: RulebookChoice = try rulebook.map { .given($0) } ?? Self.rules(db)
            var outcomes: [ContactRules.Outcome] = []
            var judged = 0
            var unchecked: [String] = []
            if rulebook == nil, caseID == nil {
                // The projection holds the violations; notices need each case's history only for voided contacts.
                return try self.storedCompliance(db)
            }
            let judge = { (box: CaseBox) in
                guard let record = box.compliance else { return }
                let outcome = ContactRules.judge(record, by: choice)
                outcomes.append(outcome)
                judged += 1
                if outcome.unchecked { unchecked.append(record.caseID) }
            }
            if let caseID {
                var box = CaseBox()
                try Self.feedCase(db, caseID: caseID) { event, target, data in
                    ComplianceProjection.apply(event, to: &box.compliance, target: target, data: data ?? "{}")
                }
                try judge(box)
                box = CaseBox()
            } else {
                _ = try Self.foldProjections(db, finished: judge)
            }
            return ComplianceReport(mode: rulebook == nil ? .inForce : .given, rulebooks: choice.rulebooks,
                                    violations: outcomes.flatMap(\.violations).sorted { ($0.caseID, $0.seq) < ($1.caseID, $1.seq) },
                                    notices: outcomes.flatMap(\.notices).sorted { ($0.caseID, $0.seq) < ($1.caseID, $1.seq) },
                                    casesJudged: judged, uncheckedCases: unchecked.sorted())
        }
    }

    /// The whole ledger's report from the compliance projection.
    private func storedCompliance(_ db: Database) throws -> ComplianceReport {
        var violations: [Violation] = []
        let rows = try RawStatement(db, "SELECT case_id, seq, rule, rulebook, event_id, actor, local_time, detail FROM violations ORDER BY case_id, seq, rowid")
        while try rows.step() {
            violations.append(Violation(rule: rows.text(2), rulebook: rows.text(3), eventID: rows.text(4), seq: rows.int64(1),
                                        caseID: rows.text(0), actor: rows.text(5), localTime: rows.text(6), detail: rows.text(7)))
        }
        rows.reset()
        // Voided contacts: few, so each is placed on its debtor's clock from its case's opening.
        var notices: [VoidNotice] = []
        let voided = try RawStatement(db, """
            SELECT e.event_id, e.seq, e.type, e.case_id, e.actor, e.occurred_at, v.voiding_event_id, v.voiding_seq, v.actor, v.occurred_at, v.reason
            FROM audit_voids v JOIN events e ON e.event_id = v.voided_event_id
            WHERE e.type IN ('call.placed', 'message.sent', 'visit.completed') ORDER BY e.case_id, e.seq
            """)
        while try voided.step() {
            let caseID = voided.text(3)
            let zone = try Self.debtorTimeZone(db, caseID: caseID)
            notices.append(VoidNotice(
                eventID: voided.text(0), seq: voided.int64(1), type: voided.text(2), caseID: caseID, actor: voided.text(4),
                localTime: Self.localTime(voided.text(5), zone: zone),
                voidedBy: AuditProjection.VoidMark(voidedEventID: voided.text(0), voidingEventID: voided.text(6), voidingSeq: voided.int64(7),
                                                   actor: voided.text(8), occurredAt: voided.text(9), reason: voided.text(10))))
        }
        voided.reset()
        let judged = try Int.fetchOne(db, sql: "SELECT count(*) FROM compliance_cases") ?? 0
        let unchecked = try String.fetchAll(db, sql: "SELECT case_id FROM compliance_cases WHERE checked = 0 ORDER BY case_id")
        let stored = try Self.rules(db)
        let mode: ComplianceReport.Mode = if case .given = stored { .given } else { .inForce }
        return ComplianceReport(mode: mode, rulebooks: stored.rulebooks, violations: violations,
                                notices: notices, casesJudged: judged, uncheckedCases: unchecked)
    }

    static func debtorTimeZone(_ db: Database, caseID: String) throws -> String {
        guard let text = try String.fetchOne(db, sql: "SELECT state FROM case_state WHERE case_id = ?", arguments: [caseID]),
            let state = CaseState(storedJSON: text)
        else { return "UTC" }
        return state.opening.debtorTimeZone
    }

    /// An RFC 3339 time rewritten on the debtor's clock (`zone`), with the debtor's offset.
    static func localTime(_ occurredAt: String, zone: String) -> String {
        guard let time = Timestamp(rfc3339: occurredAt), let timeZone = TimeZoneCache.zone(zone) else { return occurredAt }
        let offset = timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(time.epochMicros / 1_000_000)))
        return time.string(offsetMinutes: offset / 60)
    }
}

/// What changes when one rulebook replaces another: violations that appear and disappear.
public struct ComplianceDiff: Sendable {
    public let before: Rulebook
    public let after: Rulebook
    public let filter: ReplayFilter
    public let casesJudged: Int
    public let beforeCount: Int
    public let afterCount: Int
    public let appeared: [Violation]
    public let disappeared: [Violation]

    /// The same breach under two rulebooks: the contact, the rule, and whether the limit was on connected calls.
    static func key(_ v: Violation) -> String { "\(v.eventID)|\(v.rule)|\(v.detail.contains("connected call") ? "connected" : "")" }

    public var json: JSONValue {
        func tally(_ key: (Violation) -> String) -> JSONValue {
            var counts: [String: (Int, Int)] = [:]
            for v in appeared { counts[key(v), default: (0, 0)].0 += 1 }
            for v in disappeared { counts[key(v), default: (0, 0)].1 += 1 }
            return .object(JSONObject(counts.keys.sorted().map { name in
                (name, .object(JSONObject([("appeared", .int(Int64(counts[name]!.0))), ("disappeared", .int(Int64(counts[name]!.1)))])))
            }))
        }
        return .object(JSONObject([
            ("before", .string(before.id)), ("after", .string(after.id)), ("filters", filter.json),
            ("summary", .object(JSONObject([
                ("cases_judged", .int(Int64(casesJudged))), ("violations_before", .int(Int64(beforeCount))),
                ("violations_after", .int(Int64(afterCount))), ("appeared", .int(Int64(appeared.count))),
                ("disappeared", .int(Int64(disappeared.count))),
                ("by_rule", tally { $0.rule }), ("by_actor", tally { $0.actor }), ("by_case", tally { $0.caseID }),
            ]))),
            ("appeared", .array(appeared.map(\.json))), ("disappeared", .array(disappeared.map(\.json))),
        ]))
    }
}

extension Ledger {
    /// The rule-change impact report: every case judged under `before` and under `after`, on the
    /// events `filter` keeps, in one pass over the log.
    public func complianceDiff(before: Rulebook, after: Rulebook, filter: ReplayFilter = ReplayFilter(),
                               caseID: String? = nil) throws -> ComplianceDiff {
        try database.read { db in
            // A violation belongs to one contact of one case, so each case is compared as it
            // finishes and only what differs is kept: memory stays that of the fold.
            var judged = 0
            var beforeCount = 0
            var afterCount = 0
            var appeared: [Violation] = []
            var disappeared: [Violation] = []
            _ = try Self.foldProjections(db, include: { row in
                (caseID == nil || row.caseID == caseID!) && filter.keeps(seq: row.seq, occurredMicros: row.occurredMicros, recordedAt: row.recordedAt)
            }) { box in
                guard let record = box.compliance else { return }
                judged += 1
                let was = ContactRules.judge(record, by: .given(before)).violations
                let is_ = ContactRules.judge(record, by: .given(after)).violations
                beforeCount += was.count
                afterCount += is_.count
                let wasKeys = Set(was.map(ComplianceDiff.key))
                let isKeys = Set(is_.map(ComplianceDiff.key))
                appeared += is_.filter { !wasKeys.contains(ComplianceDiff.key($0)) }
                disappeared += was.filter { !isKeys.contains(ComplianceDiff.key($0)) }
            }
            func ordered(_ list: [Violation]) -> [Violation] { list.sorted { ($0.caseID, $0.seq, $0.rule) < ($1.caseID, $1.seq, $1.rule) } }
            return ComplianceDiff(before: before, after: after, filter: filter, casesJudged: judged,
                                  beforeCount: beforeCount, afterCount: afterCount,
                                  appeared: ordered(appeared), disappeared: ordered(disappeared))
        }
    }
}
