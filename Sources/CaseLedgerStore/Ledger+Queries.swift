import CaseLedgerCore
import GRDB

/// One entry of the audit trail (docs/compliance.md).
public struct AuditEntry: Sendable {
    public let seq: Int64
    public let eventID: String
    public let caseID: String
    public let type: String
    public let occurredAt: String
    public let recordedAt: String
    public let actor: String
    public let summary: String
    /// The debtor's wall-clock time of `occurred_at`.
    public let localTime: String
    /// The void that made this event void, when one did.
    public let voidedBy: AuditProjection.VoidMark?
    /// The rules this event broke, as the compliance projection holds them (rule and rulebook).
    public let violations: [(rule: RuleID, rulebook: String)]

    public var json: JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            ("actor", .string(actor)), ("case_id", .string(caseID)), ("event_id", .string(eventID)), ("local_time", .string(localTime)),
            ("occurred_at", .string(occurredAt)), ("recorded_at", .string(recordedAt)), ("seq", .int(seq)), ("summary", .string(summary)),
            ("type", .string(type)),
            ("violations", .array(violations.map { .object(JSONObject([("rule", .string($0.rule.rawValue)), ("rulebook", .string($0.rulebook))])) })),
            ("voided", .bool(voidedBy != nil)),
        ]
        if let voidedBy { members.append(("voided_by", voidedBy.json)) }
        return .object(JSONObject(members))
    }
}

/// Whose audit trail: one case, or one actor across cases.
public enum AuditSubject: Sendable {
    case caseID(String)
    case actor(String)
}

extension Ledger {
    /// A case's current state as `case show --json` prints it, or `notFound`.
    public func caseView(_ caseID: String, scope: ReadScope = .everything) throws -> JSONValue {
        try database.read { db in
            let (inScope, scoped) = scope.condition(on: "case_id")
            guard let text = try String.fetchOne(db, sql: "SELECT state FROM case_state WHERE case_id = ? AND \(inScope)",
                                                 arguments: StatementArguments([caseID] + scoped)) else {
                throw LedgerError.notFound("no case \(JSONText.shown(caseID)) in \(path)")
            }
            return try Self.view(ofStored: text, caseID: caseID)
        }
    }

    static func view(ofStored text: String, caseID: String) throws -> JSONValue {
        guard let state = CaseState(storedJSON: text) else { throw unreadableState(caseID) }
        return state.view
    }

    static func unreadableState(_ caseID: String) -> LedgerError {
        .storage("the stored state of case \(caseID) is unreadable (not a state this code wrote); `caseledger verify` compares it with the log, `caseledger rebuild` rewrites it from the log")
    }

    /// Every case (or those with `status` / `escalation`), in case_id order, as views.
    /// `escalation` "none" selects cases never escalated. A case whose stored state cannot be
    /// read does not stop the listing: it is handed to `unreadable` and the rest follow.
    /// `after` and `limit` page through them: cases whose id sorts after `after`, at most `limit`.
    public func caseViews(status: String? = nil, escalation: String? = nil, scope: ReadScope = .everything, after: String? = nil,
                          limit: Int? = nil, unreadable: (String, LedgerError) -> Void = { _, _ in }, _ body: (JSONValue) throws -> Void) throws {
        try database.read { db in
            var conditions: [String] = []
            var arguments: [String] = []
            if !scope.isEverything {
                let (inScope, scoped) = scope.condition(on: "case_id")
                conditions.append(inScope)
                arguments += scoped
            }
            if let status {
                conditions.append("status = ?")
                arguments.append(status)
            }
            if let escalation {
                if escalation == "none" { conditions.append("escalation IS NULL") } else {
                    conditions.append("escalation = ?")
                    arguments.append(escalation)
                }
            }
            if let after {
                conditions.append("case_id > ?")
                arguments.append(after)
            }
            let filter = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
            let rows = try RawStatement(db, "SELECT case_id, state FROM case_state\(filter) ORDER BY case_id LIMIT \(limit ?? -1)")
            for (index, argument) in arguments.enumerated() { rows.bind(Int32(index + 1), argument) }
            defer { rows.reset() }
            while try rows.step() {
                let caseID = rows.text(0)
                guard let state = CaseState(storedJSON: rows.text(1)) else {
                    unreadable(caseID, Self.unreadableState(caseID))
                    continue
                }
                try body(state.view)
            }
        }
    }

    /// The audit trail of a case or an actor, in `seq` order, voided events included and marked,
    /// each on its debtor's clock with the rules it broke; optionally only events that occurred in
    /// [from, to] (a date alone: that day on each debtor's clock).
    /// `limit` stops after that many entries, and `afterSeq` starts after that seq (pages of a busy
    /// actor's trail).
    public func auditTrail(_ subject: AuditSubject, from: TimeBound? = nil, to: TimeBound? = nil, scope: ReadScope = .everything,
                           limit: Int? = nil, afterSeq: Int64? = nil, _ body: (AuditEntry) throws -> Void) throws {
        try database.read { db in
            let (inScope, scoped) = scope.condition(on: "e.case_id")
            let filter: String
            let key: String
            // An Int64 written into the SQL (it cannot carry anything else).
            let after = afterSeq.map { "e.seq > \($0) AND " } ?? ""
            switch subject {
            case .caseID(let id): (filter, key) = ("e.case_id = ? AND \(after)\(inScope) ORDER BY e.version", id)
            case .actor(let actor): (filter, key) = ("e.actor = ? AND \(after)\(inScope) ORDER BY e.seq", actor)
            }
            let rows = try RawStatement(db, """
                SELECT e.seq, e.event_id, e.case_id, e.type, e.occurred_at, e.recorded_at, e.actor, e.data,
                       v.voiding_event_id, v.voiding_seq, v.actor, v.occurred_at, v.reason
                FROM events e LEFT JOIN audit_voids v ON v.voided_event_id = e.event_id
                WHERE \(filter)
                """)
            let broken = try RawStatement(db, "SELECT rule, rulebook FROM violations WHERE case_id = ? AND seq = ? ORDER BY rowid")
            var cases = CaseClocks(db)
            rows.bind(1, key)
            for (index, argument) in scoped.enumerated() { rows.bind(Int32(index + 2), argument) }
            defer { rows.reset() }
            var given = 0
            while try rows.step() {
                if let limit, given >= limit { break }
                let occurredAt = rows.text(4)
                let caseID = rows.text(2)
                let (zone, currency) = try cases.zoneAndCurrency(caseID)
                let localTime = LocalClock.rewrite(occurredAt, zone: zone)
                if from != nil || to != nil {
                    guard let occurred = Timestamp(rfc3339: occurredAt), let local = Timestamp(rfc3339: localTime) else { continue }
                    if let from, !from.admitsFrom(micros: occurred.epochMicros, localDay: local.localDay) { continue }
                    if let to, !to.admitsUntil(micros: occurred.epochMicros, localDay: local.localDay) { continue }
                }
                let type = rows.text(3)
                let actor = rows.text(6)
                let summary = EventType(rawValue: type).map {
                    AuditSummary.sentence(type: $0, actor: actor, data: (try? JSONParser.parse(rows.text(7))) ?? .null, currency: currency)
                } ?? type
                let mark = rows.isNull(8) ? nil : AuditProjection.VoidMark(
                    voidedEventID: rows.text(1), voidingEventID: rows.text(8), voidingSeq: rows.int64(9), actor: rows.text(10),
                    occurredAt: rows.text(11), reason: rows.text(12))
                var violations: [(RuleID, String)] = []
                broken.bind(1, caseID)
                broken.bind(2, rows.int64(0))
                while try broken.step() { if let rule = RuleID(rawValue: broken.text(0)) { violations.append((rule, broken.text(1))) } }
                broken.reset()
                try body(AuditEntry(seq: rows.int64(0), eventID: rows.text(1), caseID: caseID, type: type,
                                    occurredAt: occurredAt, recordedAt: rows.text(5), actor: actor, summary: summary,
                                    localTime: localTime, voidedBy: mark, violations: violations))
                given += 1
            }
        }
    }

    /// The actors whose id is `id`, whatever their kind (for `audit --actor zhang.wei` without one).
    public func actors(withID id: String) throws -> [String] {
        try database.read { db in
            try EventSubmission.actorKinds.sorted().compactMap { kind in
                try String.fetchOne(db, sql: "SELECT actor FROM events WHERE actor = ? LIMIT 1", arguments: ["\(kind):\(id)"])
            }
        }
    }
}

/// Each case's time zone and currency, read once from its stored state.
struct CaseClocks {
    let statement: RawStatement?
    var known: [String: (String, String?)] = [:]

    init(_ db: Database) {
        statement = try? RawStatement(db, "SELECT state FROM case_state WHERE case_id = ?")
    }

    mutating func zoneAndCurrency(_ caseID: String) throws -> (zone: String, currency: String?) {
        if let hit = known[caseID] { return hit }
        var found: (String, String?) = ("UTC", nil)
        if let statement {
            statement.bind(1, caseID)
            if try statement.step(), let state = CaseState(storedJSON: statement.text(0)) {
                found = (state.opening.debtorTimeZone, state.opening.currency)
            }
            statement.reset()
        }
        if known.count > 10_000 { known.removeAll() }
        known[caseID] = found
        return found
    }
}
