@testable import CaseLedgerStore
import CaseLedgerCore
import GRDB
import XCTest

/// A whole-log replay copies the source's pages when the source has this release's schema, and
/// otherwise copies the events by SQLite's transfer inside its transaction: rows the source
/// gained after the replay's snapshot are cut, and the log's guards are back before it commits.
/// Driven in-process where no command can reach between the snapshot and the copy.
final class ReplayCopyTests: XCTestCase {
    /// The two ways give the same file, row for row; the page copy keeps none of what a replay
    /// does not carry (tokens, the access log, what was deleted from the source's free pages),
    /// not even in its free space.
    func testAPageCopyEqualsARowCopyAndKeepsNoTraceOfTokensOrTheAccessLog() throws {
        let folder = try TemporaryFolder()
        let source = try makeLedger(folder)
        let generated = try CLI.run(["generate", "--db", source, "--cases", "40", "--seed", "7"])
        XCTAssertEqual(generated.exitCode, 0, generated.stderr)
        let marker = "replay-marker-token"
        let token = try CLI.run(["token", "create", "--db", source, "--role", "reader", "--name", marker])
        XCTAssertEqual(token.exitCode, 0, token.stderr)
        // Free pages that keep what was deleted (the marker, in rows of a dropped table, in the
        // pages and their overflow pages): the page copy must wipe them.
        let deleted = "replay-marker-deleted"
        try DatabaseQueue(path: source).writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA secure_delete = OFF; CREATE TABLE scratch (x); INSERT INTO scratch SELECT ? || randomblob(20000) || ? FROM events LIMIT 3; DROP TABLE scratch",
                           arguments: [deleted, deleted])
            let free = try Int.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0, pages = try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0
            XCTAssertTrue(free > 2 && free * 10 <= pages, "\(free) free pages of \(pages)")
        }
        // The same ledger with a table of another release's schema, or mostly free pages: copied row by row.
        let other = folder.path("other.sqlite"), bloated = folder.path("bloated.sqlite")
        for (copy, sql) in [(other, "CREATE TABLE another_release (x)"),
                            (bloated, "CREATE TABLE scratch (x); INSERT INTO scratch SELECT zeroblob(4000) FROM events; DROP TABLE scratch")] {
            XCTAssertEqual(try CLI.run(["backup", "--db", source, "--out", copy]).exitCode, 0)
            try DatabaseQueue(path: copy).writeWithoutTransaction { db in try db.execute(sql: sql) }
        }
        let fresh = try Ledger(path: folder.path("fresh.sqlite"), mode: .create)
        for (file, copiesPages) in [(source, true), (other, false), (bloated, false)] {
            try Ledger(path: file, mode: .readOnly).database.read { src in
                try fresh.database.read { db in XCTAssertEqual(try Replay.canCopyPages(from: src, into: db), copiesPages, file) }
            }
        }
        let pages = folder.path("pages.sqlite"), rows = folder.path("rows.sqlite")
        for (from, to) in [(source, pages), (other, rows)] {
            let replay = try CLI.run(["replay", "--db", from, "--out", to, "--quiet"])
            XCTAssertEqual(replay.exitCode, 0, replay.stderr)
            let verify = try CLI.run(["verify", "--db", to])
            XCTAssertEqual(verify.exitCode, 0, verify.stdout + verify.stderr)
        }
        let byPages = try DatabaseQueue(path: pages), byRows = try DatabaseQueue(path: rows)
        let tables = try byPages.read { db in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name") }
        XCTAssertEqual(try byRows.read { db in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name") }, tables)
        for table in tables {
            // Every column in the order, so that rows equal in all are compared whatever their rowids.
            let columns = try byPages.read { db in try db.columns(in: table).count }
            let query = table == "ledger_meta"
                ? "SELECT key, iif(key IN ('created_at', 'replay_info'), NULL, value) FROM ledger_meta ORDER BY key"
                : "SELECT * FROM \(table.quotedDatabaseIdentifier) ORDER BY \((1...columns).map(String.init).joined(separator: ", "))"
            let left = try byPages.read { db in try Row.fetchAll(db, sql: query) }
            XCTAssertEqual(left, try byRows.read { db in try Row.fetchAll(db, sql: query) }, table)
            if ["tokens", "access_log", "access_log_cases"].contains(table) { XCTAssertEqual(left, [], table) }
            if table == "events" { XCTAssertEqual(left.count, Int(try Ledger(path: source, mode: .readOnly).head().seq)) }
        }
        // The markers were in the source's file (or its WAL), and are nowhere in the page copy's.
        func bytes(_ path: String) -> Data { FileManager.default.contents(atPath: path) ?? Data() }
        for text in [marker, deleted] {
            XCTAssertNotNil((bytes(source) + bytes(source + "-wal")).range(of: Data(text.utf8)), text)
            XCTAssertNil(bytes(pages).range(of: Data(text.utf8)), text)
        }
    }

    /// Ctrl-C (the `cancelled` hook) stops a replay however it copies, page by page or row by
    /// row, with a clear error and nothing left behind, neither the output nor its partial file.
    func testAnInterruptedReplayLeavesNoFileWhicheverWayItCopies() throws {
        let folder = try TemporaryFolder()
        let source = try makeLedger(folder)
        let generated = try CLI.run(["generate", "--db", source, "--cases", "6", "--seed", "2"])
        XCTAssertEqual(generated.exitCode, 0, generated.stderr)
        for (name, filter) in [("pages", ReplayFilter()), ("rows", ReplayFilter(until: .instant(Timestamp(epochMicros: 4_102_444_800_000_000))))] {
            let output = folder.path("\(name).sqlite")
            XCTAssertThrowsError(try Replay.run(source: source, output: output, filter: filter, cancelled: { true }), name) {
                XCTAssertTrue("\($0)".contains("replay interrupted; no output written"), "\(name): \($0)")
            }
            let left = try FileManager.default.contentsOfDirectory(atPath: folder.url.path).filter { $0.hasPrefix(name) }
            XCTAssertEqual(left, [String](), name)
        }
    }

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
