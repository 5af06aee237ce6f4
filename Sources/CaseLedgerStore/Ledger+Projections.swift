import CaseLedgerCore
import Foundation
import GRDB

/// Every projection folded in memory from a stream of events: what a rebuild writes, what
/// `verify` compares with the stored tables, and what a replay writes into its output.
public struct ProjectionFold {
    public private(set) var cases: [String: CaseState] = [:]
    public private(set) var marks: [AuditProjection.VoidMark] = []
    public private(set) var events: Int64 = 0
    public private(set) var lastSeq: Int64 = 0

    public init() {}

    mutating func apply(_ event: CaseEvent, target: VoidTarget?, data: String) {
        var state = cases.removeValue(forKey: event.caseID)
        CaseStateProjection.apply(event, to: &state, target: target, data: data)
        cases[event.caseID] = state
        AuditProjection.apply(event, to: &marks, target: target, data: data)
        events += 1
        lastSeq = event.seq
    }
}

extension Ledger {
    /// Feeds the log's events, in `seq` order, as the projections fold them; `include` may skip
    /// events (replay's filters). Void targets are resolved from the same database.
    static func feedEvents(_ db: Database, include: (StoredEvent) -> Bool = { _ in true },
                           _ body: (StoredEvent, CaseEvent, VoidTarget?) throws -> Void) throws {
        let rows = try RawStatement(db, "SELECT \(eventColumns) FROM events ORDER BY seq")
        let lookup = try RawStatement(db, "SELECT case_id, type, data FROM events WHERE event_id = ?")
        defer { rows.reset() }
        while try rows.step() {
            let stored = storedEvent(rows)
            guard include(stored) else { continue }
            guard let type = EventType(rawValue: stored.type), let occurred = Timestamp(rfc3339: stored.occurredAt) else {
                throw LedgerError.verificationFailed(seq: stored.seq, reason: "unreadable type or occurred_at")
            }
            let fact: CaseFact
            if CaseFact.needsData(type) {
                guard case .object(let data) = try? JSONParser.parse(stored.data) else {
                    throw LedgerError.verificationFailed(seq: stored.seq, reason: "data is not a JSON object")
                }
                fact = CaseFact(type: type, data: data)
            } else {
                fact = type == .callPlaced ? .call : (type == .messageSent ? .message : .note)
            }
            var target: VoidTarget?
            if case .voided(let id) = fact {
                lookup.bind(1, id)
                if try lookup.step(), let targetType = EventType(rawValue: lookup.text(1)),
                    case .object(let targetData) = try? JSONParser.parse(lookup.text(2))
                {
                    target = VoidTarget(eventID: id, caseID: lookup.text(0), type: targetType, fact: CaseFact(type: targetType, data: targetData))
                }
                lookup.reset()
            }
            let event = CaseEvent(seq: stored.seq, eventID: stored.eventID, caseID: stored.caseID, type: type,
                                  occurredAt: stored.occurredAt, occurredMicros: occurred.epochMicros, actor: stored.actor, fact: fact)
            try body(stored, event, target)
        }
    }

    /// Folds every projection in memory from the log.
    static func foldProjections(_ db: Database, include: (StoredEvent) -> Bool = { _ in true }) throws -> ProjectionFold {
        var fold = ProjectionFold()
        try feedEvents(db, include: include) { stored, event, target in
            fold.apply(event, target: target, data: stored.data)
        }
        return fold
    }

    /// Writes a fold into freshly created projection tables and sets their versions and checkpoints.
    static func writeProjections(_ db: Database, _ fold: ProjectionFold, names: [String]) throws {
        for name in names {
            for table in ProjectionTables.tableNames[name] ?? [] { try db.execute(sql: "DROP TABLE IF EXISTS \(table)") }
            for statement in ProjectionTables.ddl[name] ?? [] { try db.execute(sql: statement) }
        }
        let writer = try ProjectionWriter(db)
        if names.contains(CaseStateProjection.name) {
            for caseID in fold.cases.keys.sorted() { try writer.save(fold.cases[caseID]!) }
        }
        if names.contains(AuditProjection.name) {
            for mark in fold.marks { try writer.save(mark) }
        }
        for (name, version) in Projections.all where names.contains(name) {
            try db.execute(sql: "INSERT OR REPLACE INTO projections (name, version, checkpoint_seq) VALUES (?, ?, ?)",
                           arguments: [name, version, fold.lastSeq])
        }
    }

    /// Projections whose stored version or checkpoint does not match this code and this log.
    static func staleProjections(_ db: Database) throws -> [(name: String, stored: Int?, current: Int)] {
        let head = try head(db).seq
        var stale: [(String, Int?, Int)] = []
        for (name, version) in Projections.all {
            let row = try Row.fetchOne(db, sql: "SELECT version, checkpoint_seq FROM projections WHERE name = ?", arguments: [name])
            let storedVersion: Int? = row?["version"]
            let checkpoint: Int64? = row?["checkpoint_seq"]
            if storedVersion != version || checkpoint != head { stale.append((name, storedVersion, version)) }
        }
        return stale
    }

    /// Rebuilds the stale projections: drop, replay the log, new checkpoint. Says so through `report`.
    static func rebuildStaleProjections(_ db: Database, report: (String) -> Void) throws {
        let stale = try staleProjections(db)
        guard !stale.isEmpty else { return }
        for projection in stale {
            report("rebuilding projection \(projection.name) (stored version \(projection.stored.map(String.init) ?? "none"), code version \(projection.current))…")
        }
        let started = Date()
        let fold = try foldProjections(db)
        try writeProjections(db, fold, names: stale.map(\.name))
        report(String(format: "rebuilt %@ from %lld events in %.2f s", stale.map(\.name).joined(separator: ", "), fold.events,
                      Date().timeIntervalSince(started)))
    }

    /// Rebuilds every projection from the log now, whatever their versions.
    public func rebuildProjections() throws -> Int64 {
        try database.write { db in
            let fold = try Self.foldProjections(db)
            try Self.writeProjections(db, fold, names: Projections.all.map(\.name))
            return fold.events
        }
    }

    /// Rebuilds every projection in memory and compares it with what is stored; throws
    /// `verificationFailed` naming the projection and the first case (or event) that differs.
    public func verifyProjections() throws {
        try database.read { db in
            if let stale = try Self.staleProjections(db).first {
                throw LedgerError.verificationFailed(seq: nil, reason: "projection \(stale.name): its version or checkpoint does not match the code and the log")
            }
            let fold = try Self.foldProjections(db)

            let rows = try RawStatement(db, "SELECT case_id, version, status, escalation, last_seq, state, view FROM case_state ORDER BY case_id")
            defer { rows.reset() }
            var seen = 0
            let expected = fold.cases.keys.sorted()
            while try rows.step() {
                let stored = ProjectionWriter.CaseRow(
                    caseID: rows.text(0), version: rows.int64(1), status: rows.text(2), escalation: rows.isNull(3) ? nil : rows.text(3),
                    lastSeq: rows.int64(4), state: Array(rows.text(5).utf8), view: Array(rows.text(6).utf8))
                guard seen < expected.count, expected[seen] == stored.caseID else {
                    let missing = seen < expected.count && expected[seen] < stored.caseID
                    throw LedgerError.verificationFailed(seq: nil, reason: "projection case_state: case \(missing ? expected[seen] : stored.caseID) is \(missing ? "missing" : "stored but not in the log")")
                }
                let rebuilt = ProjectionWriter.CaseRow(fold.cases[stored.caseID]!)
                if rebuilt != stored {
                    let field = rebuilt.status != stored.status ? "status" : rebuilt.version != stored.version ? "version"
                        : rebuilt.escalation != stored.escalation ? "escalation" : rebuilt.lastSeq != stored.lastSeq ? "last_seq"
                        : rebuilt.view != stored.view ? "view" : "state"
                    throw LedgerError.verificationFailed(seq: nil, reason: "projection case_state differs from a rebuild for case \(stored.caseID) (\(field))")
                }
                seen += 1
            }
            if seen < expected.count {
                throw LedgerError.verificationFailed(seq: nil, reason: "projection case_state: case \(expected[seen]) is missing")
            }

            var storedMarks: [String: AuditProjection.VoidMark] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT * FROM audit_voids") {
                let mark = AuditProjection.VoidMark(voidedEventID: row["voided_event_id"], voidingEventID: row["voiding_event_id"],
                                                    voidingSeq: row["voiding_seq"], actor: row["actor"], occurredAt: row["occurred_at"],
                                                    reason: row["reason"])
                storedMarks[mark.voidedEventID] = mark
            }
            for mark in fold.marks where storedMarks.removeValue(forKey: mark.voidedEventID) != mark {
                throw LedgerError.verificationFailed(seq: mark.voidingSeq, reason: "projection audit: the void of \(mark.voidedEventID) differs from a rebuild")
            }
            if let extra = storedMarks.values.first {
                throw LedgerError.verificationFailed(seq: extra.voidingSeq, reason: "projection audit: a void of \(extra.voidedEventID) is stored but not in the log")
            }
        }
    }
}
