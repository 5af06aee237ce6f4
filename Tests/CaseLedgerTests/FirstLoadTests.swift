@testable import CaseLedgerStore
import Foundation
import GRDB
import XCTest

/// A big first batch into an empty ledger is written with a rollback journal, each page once
/// (`Ledger.beginFirstLoad`); the ledger is a WAL ledger again afterwards, whether the batch
/// committed, was refused or was killed.
final class FirstLoadTests: XCTestCase {
    func testABigFirstLoadIsWrittenWithARollbackJournalAndLeavesAWALLedger() throws {
        let folder = try TemporaryFolder()
        let lines = try portfolio(in: folder)
        let db = try makeLedger(folder)
        let first = try appendInProcess(Array(lines[..<(lines.count / 2)]), to: db, in: folder)
        XCTAssertTrue(first.rollbackJournal)
        XCTAssertEqual(first.summary.appended, lines.count / 2)
        try assertWALLedger(db, events: lines.count / 2)
        // The log is no longer empty: the next batch goes through the WAL.
        let second = try appendInProcess(Array(lines[(lines.count / 2)...]), to: db, in: folder)
        XCTAssertFalse(second.rollbackJournal)
        try assertWALLedger(db, events: lines.count)
    }

    /// Another connection holds the file open (a server, a reader): the file cannot leave WAL
    /// mode, and the batch is written through the WAL at once, without waiting for the lock the
    /// switch would need (`Ledger.lockWaitSeconds`, 60 s).
    func testAFirstLoadGoesThroughTheWALWhileAnotherConnectionHasTheFileOpen() throws {
        let folder = try TemporaryFolder()
        let lines = try portfolio(in: folder)
        let db = try makeLedger(folder)
        var configuration = Configuration()
        configuration.readonly = true
        let reader = try DatabaseQueue(path: db, configuration: configuration)
        XCTAssertEqual(try reader.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM events") }, 0)
        let started = Date()
        let batch = try appendInProcess(lines, to: db, in: folder)
        XCTAssertLessThan(Date().timeIntervalSince(started), Double(Ledger.lockWaitSeconds) / 2, "the append waited for the other connection")
        XCTAssertFalse(batch.rollbackJournal)
        XCTAssertEqual(try reader.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM events") }, lines.count)
        try reader.close()
        try assertWALLedger(db, events: lines.count)
    }

    func testARefusedFirstLoadWritesNothingAndLeavesAWALLedger() throws {
        let folder = try TemporaryFolder()
        let lines = try portfolio(in: folder)
        let db = try makeLedger(folder)
        let refused = try append(lines + [#"{"not":"an event"}"#], to: db, json: false)
        XCTAssertEqual(refused.exitCode, 1, refused.stdout)
        XCTAssertTrue(refused.stderr.contains("line \(lines.count + 1):"), refused.stderr)
        try assertWALLedger(db, events: 0)
        // The same events then go in whole.
        XCTAssertEqual(try append(lines, to: db).exitCode, 0)
        try assertWALLedger(db, events: lines.count)
    }

    /// A portfolio of more events than a first load needs to be written with a rollback journal.
    private func portfolio(in folder: TemporaryFolder) throws -> [String] {
        let path = folder.path("portfolio.ndjson")
        let generated = try CLI.run(["generate", "--cases", "700", "--seed", "8", "--out", path])
        XCTAssertEqual(generated.exitCode, 0, generated.stderr)
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
        XCTAssertGreaterThan(lines.count / 2, Ledger.firstLoadEvents)
        XCTAssertLessThan(lines.count, 40_000)
        return lines
    }

    /// The file is in WAL mode with no journal beside it, holds `events` events, and verifies.
    private func assertWALLedger(_ db: String, events: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertFalse(FileManager.default.fileExists(atPath: db + "-journal"), "a rollback journal was left", file: file, line: line)
        var readOnly = Configuration()
        readOnly.readonly = true
        let mode = try DatabaseQueue(path: db, configuration: readOnly).read { try String.fetchOne($0, sql: "PRAGMA journal_mode") }
        XCTAssertEqual(mode, "wal", file: file, line: line)
        let verify = try CLI.run(["verify", "--db", db])
        XCTAssertEqual(verify.exitCode, 0, verify.stdout + verify.stderr, file: file, line: line)
        XCTAssertTrue(verify.stdout.hasPrefix("ok: \(events) events,"), verify.stdout, file: file, line: line)
    }
}
