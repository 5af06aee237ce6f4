@testable import CaseLedgerStore
import GRDB
import XCTest

/// A whole-log replay copies the events by SQLite's transfer inside its transaction: rows the
/// source gained after the replay's snapshot are cut, and the log's guards are back before it
/// commits. Driven in-process, since no command can append between the snapshot and the copy.
final class ReplayCopyTests: XCTestCase {
    func testRowsBeyondTheSnapshotsHeadAreCutAndTheGuardsAreBack() throws {
        let folder = try TemporaryFolder()
        let source = try makeLedger(folder)
        let generated = try CLI.run(["generate", "--db", source, "--cases", "10", "--seed", "4"])
        XCTAssertEqual(generated.exitCode, 0, generated.stderr)
        let events = try Ledger(path: source, mode: .readOnly).head().seq
        XCTAssertGreaterThan(events, 10)
        let output = try Ledger(path: folder.path("out.sqlite"), mode: .create)
        try output.database.writeWithoutTransaction { db in
            try db.execute(sql: "ATTACH DATABASE ? AS source", arguments: [source])
            defer { try? db.execute(sql: "DETACH DATABASE source") }
            try db.inTransaction {
                // The snapshot's head three events short of the source's: the three are appends that came after it.
                XCTAssertEqual(try Replay.copyWholeLog(db, upTo: events - 3), events - 3)
                XCTAssertEqual(try Int64.fetchOne(db, sql: "SELECT max(seq) FROM main.events"), events - 3)
                let same = "SELECT count(*) FROM main.events m JOIN source.events s USING (seq) WHERE m.event_id = s.event_id AND m.data = s.data AND m.hash = s.hash"
                XCTAssertEqual(try Int64.fetchOne(db, sql: same), events - 3)
                let guards = "SELECT name FROM main.sqlite_master WHERE type = 'trigger' AND tbl_name = 'events' ORDER BY name"
                XCTAssertEqual(try String.fetchAll(db, sql: guards), ["events_no_delete", "events_no_update"])
                for edit in ["DELETE FROM main.events WHERE seq = 1", "UPDATE main.events SET actor = 'collector:x' WHERE seq = 1"] {
                    XCTAssertThrowsError(try db.execute(sql: edit)) { XCTAssertTrue("\($0)".contains("append-only"), "\($0)") }
                }
                return .rollback
            }
        }
    }
}
