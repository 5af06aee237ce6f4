import CaseLedgerCore
import Foundation
import GRDB

/// Which contacts and cases a compliance report or diff looks at. Combined, they narrow.
public struct ComplianceFilter: Sendable {
    public var caseID: String?
    /// Cases whose region is this one or under it ("US" covers "US-MA"), as jurisdictions match.
    public var region: String?
    /// Violations (and judged contacts) of this actor (`kind:id`).
    public var actor: String?
    /// Contacts from / up to these times (a date alone: that day on the debtor's clock).
    public var from: TimeBound?
    public var to: TimeBound?
    /// Only cases a reader may see (a regulator's scopes), applied in SQL.
    public var scope: ReadScope = .everything

    public init(caseID: String? = nil, region: String? = nil, actor: String? = nil, from: TimeBound? = nil, to: TimeBound? = nil,
                scope: ReadScope = .everything) {
        self.scope = scope
        self.caseID = caseID
        self.region = region
        self.actor = actor
        self.from = from
        self.to = to
    }

    func covers(region caseRegion: String?) -> Bool {
        guard let region else { return true }
        guard let caseRegion else { return false }
        return RegionCode.covers(region, caseRegion)
    }

    /// Whether a contact at `localTime` (RFC 3339 on the debtor's clock) by `actor` is in the window.
    func admits(localTime: @autoclosure () -> String, actor contactActor: String) -> Bool {
        if let actor, contactActor != actor { return false }
        guard from != nil || to != nil else { return true }
        guard let time = Timestamp(rfc3339: localTime()) else { return false }
        if let from, !from.admitsFrom(micros: time.epochMicros, localDay: time.localDay) { return false }
        if let to, !to.admitsUntil(micros: time.epochMicros, localDay: time.localDay) { return false }
        return true
    }

    var isEmpty: Bool { caseID == nil && region == nil && actor == nil && from == nil && to == nil }
    var needsContactsOfTheLog: Bool { from != nil || to != nil || actor != nil }

    var json: JSONValue {
        .object(JSONObject([("case", caseID.map { .string($0) } ?? .null), ("region", region.map { .string($0) } ?? .null),
                            ("actor", actor.map { .string($0) } ?? .null), ("from", from?.json ?? .null), ("to", to?.json ?? .null)]))
    }
}

/// What `caseledger compliance` reports, but for the list of violations itself: how many there
/// are, by rule, rulebook and actor, the contacts judged, the cases no rulebook judged, and the
/// voided contacts. `ComplianceReport` adds the list; `Ledger.compliance(rulebook:filter:reading:)`
/// hands it over a violation at a time instead, for a portfolio with millions of them.
public struct ComplianceSummary: Sendable {
    public enum Mode: String, Sendable {
        /// The compliance projection: each contact judged by every rulebook in force on its day.
        case inForce = "in_force"
        /// One rulebook given for everything, judged on the fly (what-if).
        case given
    }

    public let mode: Mode
    public let rulebooks: [Rulebook]
    public let filter: ComplianceFilter
    public let notices: [VoidNotice]
    /// Cases looked at, and how many of their outbound contacts some rulebook judged.
    public let cases: Int
    public let contacts: Int
    public let contactsJudged: Int
    /// Cases with outbound contacts of which none was judged, and why (the first such contact's reason).
    public let notJudgedCases: [(caseID: String, reason: String)]
    /// Cases with at least one judged contact.
    public let casesJudged: Int
    /// The violations: how many, in how many cases, and counted by rule, rulebook and actor
    /// (largest first, then by name).
    public let violationCount: Int
    public let casesWithViolations: Int
    public let byRule: [(key: String, count: Int)]
    public let byRulebook: [(key: String, count: Int)]
    public let byActor: [(key: String, count: Int)]
    /// Rulebooks applied to contacts before their `effective_from` (only possible with `--rules`).
    public let appliedEarly: [(rulebook: String, effectiveFrom: String, contacts: Int)]

    public var contactsNotJudged: Int { contacts - contactsJudged }

    /// Counts by name, largest first, then by name.
    static func ranked(_ counts: [String: Int]) -> [(key: String, count: Int)] {
        counts.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.map { ($0.key, $0.value) }
    }

    /// The report's JSON object but its `violations` member.
    private var members: [(String, JSONValue)] {
        func table(_ rows: [(key: String, count: Int)]) -> JSONValue {
            .object(JSONObject(rows.map { ($0.key, JSONValue.int(Int64($0.count))) }))
        }
        return [
            ("mode", .string(mode.rawValue)),
            ("rulebooks", .array(rulebooks.map { .string($0.id) })),
            ("filters", filter.json),
            ("summary", .object(JSONObject([
                ("violations", .int(Int64(violationCount))), ("cases", .int(Int64(cases))),
                ("cases_judged", .int(Int64(casesJudged))), ("cases_not_judged", .int(Int64(notJudgedCases.count))),
                ("cases_with_violations", .int(Int64(casesWithViolations))),
                ("contacts", .int(Int64(contacts))), ("contacts_judged", .int(Int64(contactsJudged))),
                ("contacts_not_judged", .int(Int64(contactsNotJudged))),
                ("by_rule", table(byRule)), ("by_rulebook", table(byRulebook)), ("by_actor", table(byActor)),
                ("notices", .int(Int64(notices.count))),
                ("not_judged_cases", .array(notJudgedCases.map { .object(JSONObject([("case_id", .string($0.caseID)), ("reason", .string($0.reason))])) })),
                ("applied_before_effective_from", .array(appliedEarly.map {
                    .object(JSONObject([("rulebook", .string($0.rulebook)), ("effective_from", .string($0.effectiveFrom)), ("contacts", .int(Int64($0.contacts)))]))
                })),
            ]))),
            ("notices", .array(notices.map(\.json))),
        ]
    }

    /// The report as JSON, with these violations as its list.
    func json(violations: [Violation]) -> JSONValue {
        .object(JSONObject(members + [("violations", .array(violations.map(\.json)))]))
    }

    /// `CanonicalJSON.bytes` of the whole report, handed to `write` a piece at a time, the
    /// violations taken from `forEachViolation` as it goes: only the current piece is held.
    public func writeCanonicalJSON(pieceBytes: Int = 1 << 16, violations forEachViolation: ForEachViolation,
                                   _ write: ([UInt8]) -> Void) throws {
        try withoutActuallyEscaping(write) { write in
            var pieces = CanonicalPieces(pieceBytes: pieceBytes, write: write)
            // "violations" sorts after every other member.
            for (key, value) in members.sorted(by: { CanonicalJSON.precedes($0.0, $1.0) }) { pieces.member(key, value) }
            pieces.beginList("violations")
            try forEachViolation { pieces.item($0.json) }
            pieces.endList()
            pieces.finish()
        }
    }
}

/// A report's violations, handed one at a time to the function given, in (case_id, seq) order.
public typealias ForEachViolation = ((Violation) throws -> Void) throws -> Void

/// What `caseledger compliance` reports: the summary and every violation, in (case_id, seq) order.
@dynamicMemberLookup
public struct ComplianceReport: Sendable {
    public let summary: ComplianceSummary
    public let violations: [Violation]

    public subscript<T>(dynamicMember path: KeyPath<ComplianceSummary, T>) -> T { summary[keyPath: path] }

    public var json: JSONValue { summary.json(violations: violations) }
}

/// A JSON object written in canonical form (RFC 8785) a piece at a time, for reports whose lists
/// are too long to hold as a tree: members must be given in canonical key order; a piece is
/// handed to `write` once it holds `pieceBytes` or more.
struct CanonicalPieces {
    private var bytes: [UInt8] = [UInt8(ascii: "{")]
    private var members = 0
    private var items = 0
    let pieceBytes: Int
    let write: ([UInt8]) -> Void

    init(pieceBytes: Int, write: @escaping ([UInt8]) -> Void) {
        self.pieceBytes = pieceBytes
        self.write = write
    }

    private mutating func key(_ key: String) {
        if members > 0 { bytes.append(UInt8(ascii: ",")) }
        members += 1
        CanonicalJSON.writeString(key, into: &bytes)
        bytes.append(UInt8(ascii: ":"))
    }

    mutating func member(_ name: String, _ value: JSONValue) {
        key(name)
        CanonicalJSON.write(value, into: &bytes)
    }

    /// A member whose value is a list: its items follow with `item`, then `endList`.
    mutating func beginList(_ name: String) {
        key(name)
        bytes.append(UInt8(ascii: "["))
        items = 0
    }

    mutating func item(_ value: JSONValue) {
        if items > 0 { bytes.append(UInt8(ascii: ",")) }
        items += 1
        CanonicalJSON.write(value, into: &bytes)
        if bytes.count >= pieceBytes {
            write(bytes)
            bytes.removeAll(keepingCapacity: true)
        }
    }

    mutating func endList() { bytes.append(UInt8(ascii: "]")) }

    /// Closes the object and hands over the last piece.
    mutating func finish() {
        bytes.append(UInt8(ascii: "}"))
        write(bytes)
        bytes.removeAll()
    }
}

extension Ledger {
    /// Violations under the rulebooks in force (from the compliance projection), or under
    /// `rulebook` when one is given (judged on the fly from the log), narrowed by `filter`.
    public func compliance(rulebook: Rulebook? = nil, filter: ComplianceFilter = ComplianceFilter()) throws -> ComplianceReport {
        try compliance(rulebook: rulebook, filter: filter) { summary, forEachViolation in
            var violations: [Violation] = []
            try forEachViolation { violations.append($0) }
            return ComplianceReport(summary: summary, violations: violations)
        }
    }

    /// The same report with its violations handed over as they are read, not held: `body` gets
    /// the summary and a function that walks the violations, valid only while `body` runs (one
    /// snapshot for both). From the compliance projection, memory stays the same however many
    /// violations there are: a portfolio of 10^7 events has a million.
    public func compliance<T>(rulebook: Rulebook? = nil, filter: ComplianceFilter = ComplianceFilter(),
                              reading body: (ComplianceSummary, ForEachViolation) throws -> T) throws -> T {
        try database.read { db in
            if let caseID = filter.caseID, try !Self.isVisible(db, caseID: caseID, scope: filter.scope) {
                throw LedgerError.notFound("no case \(JSONText.shown(caseID)) in \(path)")
            }
            let choice: RulebookChoice = try rulebook.map { .given($0) } ?? Self.rules(db)
            if rulebook == nil, !filter.needsContactsOfTheLog {
                return try self.storedCompliance(db, filter: filter, body)
            }
            // Judged on the fly, the violations wait in a spill (not in memory) until they are written.
            return try ViolationSpill.using { spill in
                var tally = ComplianceTally(spill: spill)
                let judge = { (record: ComplianceCase) in
                    guard filter.covers(region: record.region) else { return }
                    try tally.add(ContactRules.judge(record, by: choice), caseID: record.caseID, filter: filter)
                }
                // One case, or (for a scoped reader) only the cases in scope, each folded from its own events.
                let only: [String]? = if let caseID = filter.caseID { [caseID] } else if !filter.scope.isEverything {
                    try Self.caseIDs(db, scope: filter.scope)
                } else { nil }
                if let only {
                    for caseID in only {
                        var record: ComplianceCase?
                        try Self.feedCase(db, caseID: caseID, types: ComplianceProjection.eventTypes) { event, target, data in
                            ComplianceProjection.apply(event, to: &record, target: target, data: data ?? "{}")
                        }
                        if let record { try judge(record) }
                    }
                } else {
                    try Self.foldCompliance(db, finished: judge)
                }
                return try body(tally.summary(mode: rulebook == nil ? .inForce : .given, rulebooks: choice.rulebooks, filter: filter),
                                { try spill.forEach($0) })
            }
        }
    }

    /// The report from the compliance projection, filtered by case and region in SQL: the
    /// violations counted in SQL first, then read in order as `body` walks them.
    private func storedCompliance<T>(_ db: Database, filter: ComplianceFilter,
                                     _ body: (ComplianceSummary, ForEachViolation) throws -> T) throws -> T {
        // Each violation is read once, in order: a big page cache would only fill up with them.
        try db.execute(sql: "PRAGMA cache_size = -\(Self.scanCacheKiB)")
        defer { try? db.execute(sql: "PRAGMA cache_size = -\(Self.cacheKiB)") }
        var conditions: [String] = []
        var arguments: [String] = []
        if !filter.scope.isEverything {
            let (inScope, scoped) = filter.scope.condition(on: "c.case_id")
            conditions.append(inScope)
            arguments += scoped
        }
        if let caseID = filter.caseID {
            conditions.append("c.case_id = ?")
            arguments.append(caseID)
        }
        if let region = filter.region {
            conditions.append("(c.region = ? OR c.region LIKE ? ESCAPE '\\')")
            arguments += [region, region.replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_") + "-%"]
        }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let violationsJoined = "FROM violations v JOIN compliance_cases c ON c.case_id = v.case_id \(whereClause)"
        func statement(_ sql: String) throws -> RawStatement {
            let statement = try RawStatement(db, sql)
            for (index, argument) in arguments.enumerated() { statement.bind(Int32(index + 1), argument) }
            return statement
        }

        var byRule: [String: Int] = [:], byRulebook: [String: Int] = [:], byActor: [String: Int] = [:]
        var violationCount = 0
        // One scan counts them three ways: (rule, rulebook, actor) groups are few.
        let groups = try statement("SELECT v.rule, v.rulebook, v.actor, count(*) \(violationsJoined) GROUP BY v.rule, v.rulebook, v.actor")
        while try groups.step() {
            let count = Int(groups.int64(3))
            violationCount += count
            byRule[groups.text(0), default: 0] += count
            byRulebook[groups.text(1), default: 0] += count
            byActor[groups.text(2), default: 0] += count
        }
        groups.reset()

        var cases = 0, contacts = 0, judged = 0, casesJudged = 0, casesWithViolations = 0
        var notJudged: [(String, String)] = []
        let counts = try statement("SELECT c.case_id, c.contacts, c.contacts_judged, c.not_judged, c.violations FROM compliance_cases c \(whereClause) ORDER BY c.case_id")
        while try counts.step() {
            cases += 1
            if counts.int64(4) > 0 { casesWithViolations += 1 }
            contacts += Int(counts.int64(1))
            judged += Int(counts.int64(2))
            if counts.int64(2) > 0 { casesJudged += 1 } else if counts.int64(1) > 0 { notJudged.append((counts.text(0), counts.text(3))) }
        }
        counts.reset()

        // Voided contacts: few, so each is placed on its debtor's clock from its case's opening.
        // Read from the voids to their events (a CROSS JOIN keeps that order): left to itself,
        // SQLite walked the whole log in (case_id, version) order to spare the few voids a sort,
        // a seek into the events table for every event (4.0 s of a 7.0 s report at 10^6 events).
        var notices: [VoidNotice] = []
        let voided = try RawStatement(db, """
            SELECT e.event_id, e.seq, e.type, e.case_id, e.actor, e.occurred_at, v.voiding_event_id, v.voiding_seq, v.actor, v.occurred_at, v.reason
            FROM audit_voids v CROSS JOIN events e ON e.event_id = v.voided_event_id
            WHERE e.type IN ('call.placed', 'message.sent', 'visit.completed') AND \(filter.scope.condition(on: "e.case_id").sql)
            ORDER BY e.case_id, e.seq
            """)
        for (index, argument) in filter.scope.condition(on: "e.case_id").arguments.enumerated() { voided.bind(Int32(index + 1), argument) }
        while try voided.step() {
            let caseID = voided.text(3)
            if let only = filter.caseID, only != caseID { continue }
            let (zone, region) = try Self.debtorZoneAndRegion(db, caseID: caseID)
            guard filter.covers(region: region) else { continue }
            notices.append(VoidNotice(
                eventID: voided.text(0), seq: voided.int64(1), type: voided.text(2), caseID: caseID, actor: voided.text(4),
                localTime: LocalClock.rewrite(voided.text(5), zone: zone),
                voidedBy: AuditProjection.VoidMark(voidedEventID: voided.text(0), voidingEventID: voided.text(6), voidingSeq: voided.int64(7),
                                                   actor: voided.text(8), occurredAt: voided.text(9), reason: voided.text(10))))
        }
        voided.reset()
        let stored = try Self.rules(db)
        let mode: ComplianceSummary.Mode = if case .given = stored { .given } else { .inForce }

        // A replay judged by one rulebook may apply it before its effective date: the contacts it
        // did so for, counted by their debtor-local date (the first ten characters of local_time).
        var appliedEarly: [(String, String, Int)] = []
        if mode == .given, let rulebook = stored.rulebooks.first {
            let early = try statement("SELECT count(DISTINCT v.event_id) \(violationsJoined) \(whereClause.isEmpty ? "WHERE" : "AND") substr(v.local_time, 1, 10) < ?")
            early.bind(Int32(arguments.count + 1), rulebook.effectiveFrom)
            _ = try early.step()
            if early.int64(0) > 0 { appliedEarly = [(rulebook.id, rulebook.effectiveFrom, Int(early.int64(0)))] }
            early.reset()
        }

        let summary = ComplianceSummary(
            mode: mode, rulebooks: stored.rulebooks, filter: filter, notices: notices, cases: cases, contacts: contacts, contactsJudged: judged,
            notJudgedCases: notJudged, casesJudged: casesJudged, violationCount: violationCount, casesWithViolations: casesWithViolations,
            byRule: ComplianceSummary.ranked(byRule), byRulebook: ComplianceSummary.ranked(byRulebook), byActor: ComplianceSummary.ranked(byActor),
            appliedEarly: appliedEarly)
        let rows = try statement("""
            SELECT \(ComplianceTable.violationColumns.split(separator: ",").map { "v." + $0.trimmingCharacters(in: .whitespaces) }.joined(separator: ", "))
            \(violationsJoined) ORDER BY v.case_id, v.seq, v.rowid
            """)
        defer { rows.reset() }
        return try body(summary) { each in
            while try rows.step() { try each(ComplianceTable.violation(rows)) }
        }
    }

    static func debtorZoneAndRegion(_ db: Database, caseID: String) throws -> (zone: String, region: String?) {
        guard let text = try String.fetchOne(db, sql: "SELECT state FROM case_state WHERE case_id = ?", arguments: [caseID]),
            let state = CaseState(storedJSON: text)
        else { return ("UTC", nil) }
        return (state.opening.debtorTimeZone, state.opening.region)
    }
}

/// Judged cases added up into a report, keeping only what the filter admits: the violations
/// go to a spill and are counted here as they pass.
struct ComplianceTally {
    let spill: ViolationSpill
    var notices: [VoidNotice] = []
    var cases = 0, contacts = 0, judged = 0, casesJudged = 0
    var notJudged: [(String, String)] = []
    var violationCount = 0, casesWithViolations = 0
    var byRule: [String: Int] = [:], byRulebook: [String: Int] = [:], byActor: [String: Int] = [:]

    init(spill: ViolationSpill) {
        self.spill = spill
    }

    /// One case's outcome (each case is added once).
    mutating func add(_ outcome: ContactRules.Outcome, caseID: String, filter: ComplianceFilter) throws {
        cases += 1
        let kept = outcome.contacts.filter { filter.admits(localTime: $0.localTime, actor: $0.actor) }
        contacts += kept.count
        let keptJudged = kept.filter(\.judged).count
        judged += keptJudged
        if keptJudged > 0 { casesJudged += 1 } else if let reason = kept.first?.notJudged { notJudged.append((caseID, reason)) }
        var violations = 0
        for violation in outcome.violations where filter.admits(localTime: violation.localTime, actor: violation.actor) {
            try spill.add(violation)
            violations += 1
            byRule[violation.rule.rawValue, default: 0] += 1
            byRulebook[violation.rulebook, default: 0] += 1
            byActor[violation.actor, default: 0] += 1
        }
        violationCount += violations
        if violations > 0 { casesWithViolations += 1 }
        notices += outcome.notices.filter { filter.admits(localTime: $0.localTime, actor: $0.actor) }
    }

    func summary(mode: ComplianceSummary.Mode, rulebooks: [Rulebook], filter: ComplianceFilter) throws -> ComplianceSummary {
        var appliedEarly: [(String, String, Int)] = []
        if mode == .given, let rulebook = rulebooks.first {
            let early = try spill.contacts(before: rulebook.effectiveFrom)
            if early > 0 { appliedEarly = [(rulebook.id, rulebook.effectiveFrom, early)] }
        }
        return ComplianceSummary(
            mode: mode, rulebooks: rulebooks, filter: filter, notices: notices.sorted { ($0.caseID, $0.seq) < ($1.caseID, $1.seq) },
            cases: cases, contacts: contacts, contactsJudged: judged, notJudgedCases: notJudged.sorted { $0.0 < $1.0 }, casesJudged: casesJudged,
            violationCount: violationCount, casesWithViolations: casesWithViolations,
            byRule: ComplianceSummary.ranked(byRule), byRulebook: ComplianceSummary.ranked(byRulebook), byActor: ComplianceSummary.ranked(byActor),
            appliedEarly: appliedEarly)
    }
}

/// What changes when one rulebook replaces another, without the lists: how many violations each
/// side has, how many appear and disappear, and those changes ranked by rule, actor and case.
/// `Ledger.complianceDiff(before:after:selection:filter:listing:reading:)` hands the lists over beside it
/// a violation at a time; `ComplianceDiff` holds them.
public struct ComplianceDiffSummary: Sendable {
    public let before: Rulebook
    public let after: Rulebook
    public let selection: ReplayFilter
    public let filter: ComplianceFilter
    public let casesJudged: Int
    public let beforeCount: Int
    public let afterCount: Int
    public let appearedCount: Int
    public let disappearedCount: Int
    /// Appeared and disappeared counted by rule, actor and case, ranked by the size of the change.
    public let byRule: [(key: String, appeared: Int, disappeared: Int)]
    public let byActor: [(key: String, appeared: Int, disappeared: Int)]
    public let byCase: [(key: String, appeared: Int, disappeared: Int)]

    /// Largest change first (appeared and disappeared together), then by name.
    static func ranked(_ counts: [String: (appeared: Int, disappeared: Int)]) -> [(key: String, appeared: Int, disappeared: Int)] {
        counts.map { ($0.key, $0.value.appeared, $0.value.disappeared) }
            .sorted { ($1.appeared + $1.disappeared, $0.key) < ($0.appeared + $0.disappeared, $1.key) }
    }

    /// `CanonicalJSON.bytes` of the whole report (`ComplianceDiff.json`), handed to `write` a piece
    /// at a time, the lists taken from `appeared` and `disappeared` as it goes. A diff over a large
    /// ledger can list a violation for most contacts: at 10^7 events a tree of them and the whole
    /// text took the command past its 256 MiB budget (BENCHMARKS.md). The members go out in RFC 8785
    /// order (a test holds this to `json`, the report's reference form). A piece is handed over once
    /// it holds `pieceBytes` or more.
    public func writeCanonicalJSON(pieceBytes: Int = 1 << 16, appeared: ForEachViolation, disappeared: ForEachViolation,
                                   _ write: ([UInt8]) -> Void) throws {
        try withoutActuallyEscaping(write) { write in
            var pieces = CanonicalPieces(pieceBytes: pieceBytes, write: write)
            pieces.member("after", .string(after.id))
            pieces.beginList("appeared")
            try appeared { pieces.item($0.json) }
            pieces.endList()
            pieces.member("before", .string(before.id))
            pieces.beginList("disappeared")
            try disappeared { pieces.item($0.json) }
            pieces.endList()
            pieces.member("filters", filter.json)
            pieces.member("selection", selection.json)
            pieces.member("summary", summaryJSON)
            pieces.finish()
        }
    }

    var summaryJSON: JSONValue {
        func tally(_ rows: [(key: String, appeared: Int, disappeared: Int)]) -> JSONValue {
            .object(JSONObject(rows.map { row in
                (row.key, .object(JSONObject([("appeared", .int(Int64(row.appeared))), ("disappeared", .int(Int64(row.disappeared)))])))
            }))
        }
        return .object(JSONObject([
            ("cases_judged", .int(Int64(casesJudged))), ("violations_before", .int(Int64(beforeCount))),
            ("violations_after", .int(Int64(afterCount))), ("appeared", .int(Int64(appearedCount))),
            ("disappeared", .int(Int64(disappearedCount))),
            ("by_rule", tally(byRule)), ("by_actor", tally(byActor)), ("by_case", tally(byCase)),
        ]))
    }
}

/// What changes when one rulebook replaces another: the summary, and the violations that appear
/// and disappear, each list in (case_id, seq, rule) order.
@dynamicMemberLookup
public struct ComplianceDiff: Sendable {
    public let summary: ComplianceDiffSummary
    public let appeared: [Violation]
    public let disappeared: [Violation]

    public subscript<T>(dynamicMember path: KeyPath<ComplianceDiffSummary, T>) -> T { summary[keyPath: path] }

    /// The same breach under two rulebooks: the contact, the rule and the limit it exceeded.
    struct Key: Hashable {
        let eventID: String
        let limit: RuleLimit
        init(_ v: Violation) {
            eventID = v.eventID
            limit = v.limit
        }
    }

    public var json: JSONValue {
        .object(JSONObject([
            ("before", .string(summary.before.id)), ("after", .string(summary.after.id)), ("selection", summary.selection.json),
            ("filters", summary.filter.json), ("summary", summary.summaryJSON),
            ("appeared", .array(appeared.map(\.json))), ("disappeared", .array(disappeared.map(\.json))),
        ]))
    }

    /// `CanonicalJSON.bytes(json)`, handed to `write` a piece at a time (see `ComplianceDiffSummary`).
    public func writeCanonicalJSON(pieceBytes: Int = 1 << 16, _ write: ([UInt8]) -> Void) {
        // Walking arrays throws nothing.
        try! summary.writeCanonicalJSON(pieceBytes: pieceBytes, appeared: { each in for v in appeared { try each(v) } },
                                        disappeared: { each in for v in disappeared { try each(v) } }, write)
    }
}

extension Ledger {
    /// The rule-change impact report: every case judged under `before` and under `after`, on the
    /// events `selection` keeps and the contacts `filter` admits, in one pass over one snapshot.
    /// With a `limit`, each list holds only its first `limit` violations (the summary counts them all).
    public func complianceDiff(before: Rulebook, after: Rulebook, selection: ReplayFilter = ReplayFilter(),
                               filter: ComplianceFilter = ComplianceFilter(), listing limit: Int? = nil) throws -> ComplianceDiff {
        try complianceDiff(before: before, after: after, selection: selection, filter: filter, listing: limit) { summary, forEachAppeared, forEachDisappeared in
            var appeared: [Violation] = [], disappeared: [Violation] = []
            try forEachAppeared { appeared.append($0) }
            try forEachDisappeared { disappeared.append($0) }
            return ComplianceDiff(summary: summary, appeared: appeared, disappeared: disappeared)
        }
    }

    /// The same report with its lists handed over as they are read, not held: `body` gets the
    /// summary and a function that walks each list in (case_id, seq, rule) order, valid only
    /// while `body` runs, and stopping after `limit` violations when one is given (the summary
    /// still counts them all). The lists wait in spills (`ViolationSpill`), so memory stays that
    /// of the fold however many violations a rule change makes appear or disappear.
    public func complianceDiff<T>(before: Rulebook, after: Rulebook, selection: ReplayFilter = ReplayFilter(),
                                  filter: ComplianceFilter = ComplianceFilter(), listing limit: Int? = nil,
                                  reading body: (ComplianceDiffSummary, _ appeared: ForEachViolation, _ disappeared: ForEachViolation) throws -> T) throws -> T {
        try database.read { db in
            try ViolationSpill.using { appearedSpill in
                try ViolationSpill.using { disappearedSpill in
                    // A violation belongs to one contact of one case, so each case is compared as it
                    // finishes and only what differs is kept, in the spills.
                    var judged = 0, beforeCount = 0, afterCount = 0
                    var changes = DiffTally()
                    var evaluator = SelectionEvaluator(selection)
                    // Without a selection every event is read, and parsed on a second thread.
                    let include: ((FeedRow) -> Bool)? = selection.isEmpty && filter.caseID == nil ? nil : { row in
                        (filter.caseID == nil || row.caseID == filter.caseID!)
                            && evaluator.keeps(seq: row.seq, caseID: row.caseID, occurredMicros: row.occurredMicros, recordedAt: row.recordedAt,
                                               openingZone: row.openingZone)
                    }
                    try Self.foldCompliance(db, include: include) { record in
                        guard filter.covers(region: record.region) else { return }
                        judged += 1
                        let was = ContactRules.judge(record, by: .given(before)).violations.filter { filter.admits(localTime: $0.localTime, actor: $0.actor) }
                        let now = ContactRules.judge(record, by: .given(after)).violations.filter { filter.admits(localTime: $0.localTime, actor: $0.actor) }
                        beforeCount += was.count
                        afterCount += now.count
                        let wasKeys = Set(was.map(ComplianceDiff.Key.init))
                        let nowKeys = Set(now.map(ComplianceDiff.Key.init))
                        for violation in now where !wasKeys.contains(ComplianceDiff.Key(violation)) {
                            try appearedSpill.add(violation)
                            changes.count(violation, appeared: true)
                        }
                        for violation in was where !nowKeys.contains(ComplianceDiff.Key(violation)) {
                            try disappearedSpill.add(violation)
                            changes.count(violation, appeared: false)
                        }
                    }
                    let summary = ComplianceDiffSummary(
                        before: before, after: after, selection: selection, filter: filter, casesJudged: judged,
                        beforeCount: beforeCount, afterCount: afterCount, appearedCount: changes.appeared, disappearedCount: changes.disappeared,
                        byRule: ComplianceDiffSummary.ranked(changes.byRule), byActor: ComplianceDiffSummary.ranked(changes.byActor),
                        byCase: ComplianceDiffSummary.ranked(changes.byCase))
                    // Within a contact, by rule, then as judged.
                    return try body(summary, { try appearedSpill.forEach(orderedBy: "case_id, seq, rule", limit: limit, $0) },
                                    { try disappearedSpill.forEach(orderedBy: "case_id, seq, rule", limit: limit, $0) })
                }
            }
        }
    }
}

/// A rule change's differences counted as they are found: how many appear and disappear, and
/// how many of each by rule, actor and case.
struct DiffTally {
    var appeared = 0, disappeared = 0
    var byRule: [String: (appeared: Int, disappeared: Int)] = [:]
    var byActor: [String: (appeared: Int, disappeared: Int)] = [:]
    var byCase: [String: (appeared: Int, disappeared: Int)] = [:]

    mutating func count(_ violation: Violation, appeared isAppeared: Bool) {
        func add(_ counts: inout [String: (appeared: Int, disappeared: Int)], _ key: String) {
            if isAppeared { counts[key, default: (0, 0)].appeared += 1 } else { counts[key, default: (0, 0)].disappeared += 1 }
        }
        if isAppeared { appeared += 1 } else { disappeared += 1 }
        add(&byRule, violation.rule.rawValue)
        add(&byActor, violation.actor)
        add(&byCase, violation.caseID)
    }
}
