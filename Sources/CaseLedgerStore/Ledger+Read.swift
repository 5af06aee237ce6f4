import CaseLedgerCore
import GRDB

/// Which events to read from the log.
public struct LogQuery: Sendable {
    public var caseID: String?
    public var fromSeq: Int64
    public var limit: Int?
    /// Only events of cases in this scope (a regulator's feed).
    public var scope: ReadScope

    public init(caseID: String? = nil, fromSeq: Int64 = 1, limit: Int? = nil, scope: ReadScope = .everything) {
        self.caseID = caseID
        self.fromSeq = fromSeq
        self.limit = limit
        self.scope = scope
    }
}

extension Ledger {
    static let eventColumns = "seq, event_id, case_id, version, type, schema_version, occurred_at, recorded_at, actor, data, hash"

    /// Streams the stored events that `query` selects, in `seq` order, without loading them all.
    ///
    /// ```swift
    /// try ledger.forEachEvent(LogQuery(caseID: "C-1")) { event in print(event.type) }
    /// ```
    public func forEachEvent(_ query: LogQuery = LogQuery(), cacheKiB: Int? = nil, _ body: (StoredEvent) throws -> Void) throws {
        try database.read { db in try Self.forEachEvent(db, query, cacheKiB: cacheKiB, body) }
    }

    /// The same, inside a read the caller holds (one snapshot for several reads).
    static func forEachEvent(_ db: Database, _ query: LogQuery = LogQuery(), cacheKiB: Int? = nil, _ body: (StoredEvent) throws -> Void) throws {
        if let cacheKiB { try db.execute(sql: "PRAGMA cache_size = -\(cacheKiB)") }
        defer { if cacheKiB != nil { try? db.execute(sql: "PRAGMA cache_size = -\(Self.cacheKiB)") } }
        var filter = query.caseID == nil ? "" : " AND case_id = ?"
        let (inScope, scoped) = query.scope.condition(on: "case_id")
        if !query.scope.isEverything { filter += " AND \(inScope)" }
        let statement = try RawStatement(db, "SELECT \(Self.eventColumns) FROM events WHERE seq >= ?\(filter) ORDER BY seq LIMIT ?")
        var position: Int32 = 1
        statement.bind(position, query.fromSeq)
        if let caseID = query.caseID {
            position += 1
            statement.bind(position, caseID)
        }
        for argument in scoped {
            position += 1
            statement.bind(position, argument)
        }
        statement.bind(position + 1, Int64(query.limit ?? -1))
        defer { statement.reset() }
        while try statement.step() {
            try body(Self.storedEvent(statement))
        }
    }

    static func storedEvent(_ row: RawStatement) -> StoredEvent {
        StoredEvent(seq: row.int64(0), eventID: row.text(1), caseID: row.text(2), version: row.int64(3), type: row.text(4),
                    schemaVersion: row.int64(5), occurredAt: row.text(6), recordedAt: row.text(7), actor: row.text(8),
                    data: row.text(9), hash: row.text(10))
    }

    /// Counts the events that `query` selects.
    public func count(caseID: String? = nil) throws -> Int {
        try database.read { db in
            if let caseID {
                return try Int.fetchOne(db, sql: "SELECT count(*) FROM events WHERE case_id = ?", arguments: [caseID]) ?? 0
            }
            return try Int.fetchOne(db, sql: "SELECT count(*) FROM events") ?? 0
        }
    }
}
