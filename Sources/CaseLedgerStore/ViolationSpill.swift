import CaseLedgerCore
import GRDB

/// Violations judged on the fly (a what-if report) kept out of memory until they are written:
/// in a `violations` table of the same shape as the compliance projection's, in a private
/// temporary SQLite database whose file SQLite unlinks as soon as it has opened it (nothing is
/// left behind, even by a process that dies). Held as Swift values, the 104,059 violations of a
/// 10^6-event portfolio took about 82 MiB, and 10^7 events have about a million; here memory stays
/// that of a small page cache and of SQLite's sort when they are read back in report order.
struct ViolationSpill {
    private let db: Database
    private let insert: RawStatement

    /// The temporary database's page cache: it spills to its file beyond this.
    private static let cacheKiB = 4_096

    /// Runs `body` with an empty spill; the spill and its file are gone when it returns.
    static func using<T>(_ body: (ViolationSpill) throws -> T) throws -> T {
        // An empty path: SQLite's own temporary database, created under SQLITE_TMPDIR or TMPDIR
        // (or /var/tmp, /tmp) and removed on close.
        let queue = try DatabaseQueue(path: "")
        return try queue.inDatabase { db in
            try db.execute(sql: "PRAGMA cache_size = -\(cacheKiB)")
            try db.execute(sql: ComplianceTable.violationsTable)
            // One transaction for every row, left to roll back: nothing of it is ever kept.
            try db.execute(sql: "BEGIN")
            defer { try? db.execute(sql: "ROLLBACK") }
            return try body(ViolationSpill(db: db, insert: RawStatement(db, ComplianceTable.insertViolation)))
        }
    }

    func add(_ violation: Violation) throws {
        ComplianceTable.bind(violation, to: insert)
        _ = try insert.step()
        insert.reset()
    }

    /// The violations in the order of `columns` (of the `violations` table), then as added. By
    /// default the stored report's order: by case, then seq. With a `limit`, only the first
    /// `limit` of them: SQLite keeps that many while it reads the rest, and sorts no more.
    func forEach(orderedBy columns: String = "case_id, seq", limit: Int? = nil, _ body: (Violation) throws -> Void) throws {
        let rows = try RawStatement(db, "SELECT \(ComplianceTable.violationColumns) FROM violations ORDER BY \(columns), rowid LIMIT ?")
        defer { rows.reset() }
        rows.bind(1, Int64(limit ?? -1))
        while try rows.step() { try body(ComplianceTable.violation(rows)) }
    }

    /// How many distinct contacts have a violation dated, on the debtor's clock, before `day`
    /// (`YYYY-MM-DD`): a rulebook applied before its `effective_from`.
    func contacts(before day: String) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT count(DISTINCT event_id) FROM violations WHERE substr(local_time, 1, 10) < ?", arguments: [day]) ?? 0
    }
}
