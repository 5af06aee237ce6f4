import CaseLedgerCore
import GRDB

/// `audit_voids`: the audit trail's one derived fact, which events were voided, by which event,
/// who, when and why. The entries themselves are the log, read through its indexes.
final class AuditTable: StoredProjection {
    static let name = AuditProjection.name
    static let version = AuditProjection.version
    static let tables = ["audit_voids"]
    static let recordsEvents = true
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

    /// The marks a rebuild makes, each compared with the stored row of the event it voids as it
    /// is made (a lookup by the primary key), so that memory does not grow with the log's voids.
    func verifyRecord(_ event: CaseEvent, target: VoidTarget?, data: String) throws {
        guard target != nil else { return }
        var marks: [AuditProjection.VoidMark] = []
        AuditProjection.apply(event, to: &marks, target: target, data: data)
        for mark in marks {
            let held = try storedMark(of: mark.voidedEventID)
            guard held != mark else {
                marksMatched += 1
                continue
            }
            let field = held == nil ? "missing" : held!.voidingEventID != mark.voidingEventID ? "voiding_event_id"
                : held!.voidingSeq != mark.voidingSeq ? "voiding_seq" : held!.actor != mark.actor ? "actor"
                : held!.occurredAt != mark.occurredAt ? "occurred_at" : "reason"
            throw LedgerError.verificationFailed(seq: mark.voidingSeq, reason: "projection audit: the void of \(mark.voidedEventID) differs from a rebuild (\(field))")
        }
    }

    /// Every mark a rebuild makes matched a stored row of its own (the voided event is the key),
    /// so a stored row beyond that count is one the log does not account for: found by deriving
    /// each stored row again from the event it names as voiding (only when the counts differ).
    func verifyFinish(_ fold: ProjectionFold) throws {
        let stored = try Int.fetchOne(db, sql: "SELECT count(*) FROM audit_voids") ?? 0
        guard stored != marksMatched else { return }
        let voiding = try RawStatement(db, "SELECT type, data, schema_version FROM events WHERE event_id = ?")
        let target = try RawStatement(db, "SELECT 1 FROM events WHERE event_id = ?")
        var extra: AuditProjection.VoidMark?
        try Ledger.forEachVoidMark(db) { mark in
            guard extra == nil else { return }
            voiding.bind(1, mark.voidingEventID)
            defer { voiding.reset() }
            var voids: String?
            if try voiding.step(), let type = EventType(rawValue: voiding.text(0)),
                case .object(let data) = try? JSONParser.parse(voiding.text(1)),
                case .voided(let id) = CaseFact(type: type, data: Upcasters.upcast(type, from: Int(voiding.int64(2)), data))
            {
                voids = id
            }
            target.bind(1, mark.voidedEventID)
            defer { target.reset() }
            let targetExists = try target.step()
            if voids != mark.voidedEventID || !targetExists { extra = mark }
        }
        if let extra {
            throw LedgerError.verificationFailed(seq: extra.voidingSeq, reason: "projection audit: a void of \(extra.voidedEventID) is stored but not in the log")
        }
        throw LedgerError.verificationFailed(seq: nil, reason: "projection audit: \(stored) voids are stored, but a rebuild makes \(marksMatched)")
    }

    private var marksMatched = 0
    private lazy var findMark = try? RawStatement(db, """
        SELECT voiding_event_id, voiding_seq, actor, occurred_at, reason FROM audit_voids WHERE voided_event_id = ?
        """)

    private func storedMark(of voidedEventID: String) throws -> AuditProjection.VoidMark? {
        guard let find = findMark else {
            throw LedgerError.verificationFailed(seq: nil, reason: "projection audit: the table audit_voids cannot be read")
        }
        find.bind(1, voidedEventID)
        defer { find.reset() }
        guard try find.step() else { return nil }
        return AuditProjection.VoidMark(voidedEventID: voidedEventID, voidingEventID: find.text(0), voidingSeq: find.int64(1),
                                        actor: find.text(2), occurredAt: find.text(3), reason: find.text(4))
    }
}
