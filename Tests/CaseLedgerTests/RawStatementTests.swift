@testable import CaseLedgerStore
import GRDB
import XCTest

/// `RawStatement` keeps the bytes of its text and blob parameters itself, so that SQLite reads
/// them in place: each value bound must be the one stored, whatever was bound before it (longer,
/// shorter, empty), and a parameter left unbound after a reset is NULL.
final class RawStatementTests: XCTestCase {
    func testEachRowHoldsTheValuesBoundForItWhateverWasBoundBefore() throws {
        let folder = try TemporaryFolder()
        let queue = try DatabaseQueue(path: folder.path("raw.sqlite"))
        let long = String(repeating: "长", count: 700)  // 2,100 bytes: outgrows the first buffer
        let texts = ["short", "", long, "a", String(long.prefix(100)) + "\ttail", "", "end"]
        let blobs: [[UInt8]] = [[1, 2, 3], Array(repeating: 0xAB, count: 5_000), [], [9]]
        let stored = try queue.write { db in
            try db.execute(sql: "CREATE TABLE t (n INTEGER, x TEXT, b BLOB, optional TEXT)")
            let insert = try RawStatement(db, "INSERT INTO t (n, x, b, optional) VALUES (?, ?, ?, ?)")
            for (n, text) in texts.enumerated() {
                insert.bind(1, Int64(n))
                if n % 2 == 0 { insert.bind(2, text) } else { insert.bind(2, utf8: Array(text.utf8)) }
                insert.bind(3, blob: blobs[n % blobs.count])
                if n == 2 { insert.bind(4, "only once") }
                _ = try insert.step()
                insert.reset()
            }
            // Binding a parameter the statement does not have changes nothing.
            insert.bind(9, "nowhere")
            return try Row.fetchAll(db, sql: "SELECT x, b, optional, typeof(x), typeof(b) FROM t ORDER BY n")
        }
        XCTAssertEqual(stored.count, texts.count)
        for (n, row) in stored.enumerated() {
            XCTAssertEqual(row[3] as String, "text", "row \(n): an empty string is text, not NULL")
            XCTAssertEqual(row[0] as String, texts[n], "row \(n)")
            XCTAssertEqual(row[4] as String, "blob", "row \(n): an empty blob is a blob, not NULL")
            XCTAssertEqual([UInt8]((row[1] as Data?) ?? Data()), blobs[n % blobs.count], "row \(n)")
            XCTAssertEqual(row[2] as String?, n == 2 ? "only once" : nil, "row \(n): unbound after a reset is NULL")
        }
    }
}
