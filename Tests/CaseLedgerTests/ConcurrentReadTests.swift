@testable import CaseLedgerStore
import GRDB
import XCTest

/// `verify` compares the projections on a second connection: that connection checks it sees
/// the log the first one sees (the same head); when it does not, it runs nothing and says so,
/// and verify compares on its own connection.
final class ConcurrentReadTests: XCTestCase {
    func testAConcurrentReadRunsOnlyOnTheLogItWasPromised() throws {
        let folder = try TemporaryFolder()
        let db = try makeLedger(folder)
        let appended = try CLI.run(["append", "--db", db],
                                   stdin: [Events.opened(caseID: "C-1"), Events.call(caseID: "C-1"), Events.payment(caseID: "C-1")]
                                       .joined(separator: "\n"))
        XCTAssertEqual(appended.exitCode, 0, appended.stderr)
        let head = try Ledger(path: db, mode: .readOnly).head()
        XCTAssertEqual(head.seq, 3)

        let same = ConcurrentRead(path: db, head: head) { db in try Int64.fetchOne(db, sql: "SELECT count(*) FROM events") ?? -1 }
        XCTAssertEqual(try same.result(), 3)

        for other in [Ledger.Head(seq: 2, hash: head.hash, recordedAt: head.recordedAt),
                      Ledger.Head(seq: 3, hash: String(repeating: "0", count: 64), recordedAt: head.recordedAt)] {
            let moved = ConcurrentRead(path: db, head: other) { _ -> Int64 in
                XCTFail("ran on another log than the one promised")
                return -1
            }
            XCTAssertNil(try moved.result())
        }

        let missing = ConcurrentRead(path: folder.path("none.sqlite"), head: head) { _ in Int64(0) }
        XCTAssertThrowsError(try missing.result())
    }
}
