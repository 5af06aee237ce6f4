import CaseLedgerCore
import GRDB

/// `audit_voids`: the audit trail's one derived fact, which events were voided, by which event,
/// who, when and why. The entries themselves are the log, read through its indexes.
final class AuditTable: StoredProjection {
    static let name = AuditProjection.name
    static let version = AuditProjection.version
    static let tables = ["audit_voids"]
    static let schema = [
        """
        CREATE TABLE audit_voids (
            voided_event_id TEXT PRIMARY KEY,
            voiding_event_id TEXT NOT NULL,
            voiding_seq INTEGER NOT NULL,
            actor TEXT NOT NULL,
            occurred_at TEXT NOT NULL,
            reason TEXT NOT NULL
        ) WITHOUT ROWID
        """
    ]

    private let insert: RawStatement
    private let db: Database

    init(_ db: Database, rules: RulebookChoice) throws {
        self.db = db
        insert = try RawStatement(db, """
            INSERT INTO audit_voids (voided_event_id, voiding_event_id, voiding_seq, actor, occurred_at, reason) VALUES (?, ?, ?, ?, ?, ?)
            """)
    }

    func record(_ event: CaseEvent, target: VoidTarget?, data: String) throws {
        guard target != nil else { return }
        var marks: [AuditProjection.VoidMark] = []
        AuditProjection.apply(event, to: &marks, target: target, data: data)
        for mark in marks {
            insert.bind(1, mark.voidedEventID)
            insert.bind(2, mark.voidingEventID)
            insert.bind(3, mark.voidingSeq)
            insert.bind(4, mark.actor)
            insert.bind(5, mark.occurredAt)
            insert.bind(6, mark.reason)
            defer { insert.reset() }
            _ = try insert.step()
        }
    }

    func save(_ box: CaseBox) throws {}

    func verify(_ box: CaseBox) throws {}

    func verifyFinish(_ fold: ProjectionFold) throws {
        var stored: [String: AuditProjection.VoidMark] = [:]
        try Ledger.forEachVoidMark(db) { stored[$0.voidedEventID] = $0 }
        for mark in fold.marks {
            let held = stored.removeValue(forKey: mark.voidedEventID)
            guard held != mark else { continue }
            let field = held == nil ? "missing" : held!.voidingEventID != mark.voidingEventID ? "voiding_event_id"
                : held!.voidingSeq != mark.voidingSeq ? "voiding_seq" : held!.actor != mark.actor ? "actor"
                : held!.occurredAt != mark.occurredAt ? "occurred_at" : "reason"
            throw LedgerError.verificationFailed(seq: mark.voidingSeq, reason: "projection audit: the void of \(mark.voidedEventID) differs from a rebuild (\(field))")
        }
        if let extra = stored.values.first {
            throw LedgerError.verificationFailed(seq: extra.voidingSeq, reason: "projection audit: a void of \(extra.voidedEventID) is stored but not in the log")
        }
    }
}
