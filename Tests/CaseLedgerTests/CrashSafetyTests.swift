import CaseLedgerCore
import Foundation
import XCTest

/// A durable append survives SIGKILL at any point: after restart the ledger opens, verifies, and
/// holds the batch wholly or not at all.
final class CrashSafetyTests: XCTestCase {
    func testSigkillDuringALargeAppendLeavesTheBatchWhollyThereOrWhollyAbsent() throws {
        let folder = try TemporaryFolder()
        let batch = folder.path("batch.ndjson")
        let generated = try CLI.run(["generate", "--cases", "500", "--seed", "11", "--out", batch])
        XCTAssertEqual(generated.exitCode, 0, generated.stderr)
        let batchEvents = try String(contentsOfFile: batch, encoding: .utf8).split(separator: "\n").count
        XCTAssertGreaterThan(batchEvents, 10_000)

        // The base ledger: a few events of its own, so "wholly absent" is not just "empty".
        let base = try makeLedger(folder, name: "base.sqlite")
        XCTAssertEqual(try append([Events.opened(caseID: "BASE-1"), Events.call(caseID: "BASE-1")], to: base).exitCode, 0)
        let baseEvents = 2

        // How long a whole append takes here, so the kills land throughout it.
        let timing = folder.path("timing.sqlite")
        try FileManager.default.copyItem(atPath: base, toPath: timing)
        let started = Date()
        XCTAssertEqual(try CLI.run(["append", "--db", timing, batch]).exitCode, 0)
        let fullMicros = UInt64(Date().timeIntervalSince(started) * 1_000_000)

        var random = SeededRandom(seed: 20_241_123)
        var outcomes: [String: Int] = [:]
        for attempt in 0..<12 {
            let db = folder.path("crash-\(attempt).sqlite")
            try FileManager.default.copyItem(atPath: base, toPath: db)
            let process = Process()
            process.executableURL = CLI.binary
            process.arguments = ["append", "--db", db, batch]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            usleep(UInt32(random.next() % (fullMicros * 11 / 10)))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()

            let verify = try CLI.run(["verify", "--db", db])
            XCTAssertEqual(verify.exitCode, 0, "attempt \(attempt): \(verify.stderr)")
            let count = try XCTUnwrap(Int(verify.stdout.split(separator: " ")[1]), verify.stdout)
            XCTAssertTrue(count == baseEvents || count == baseEvents + batchEvents,
                          "attempt \(attempt): \(count) events: a partial batch survived the crash")
            outcomes[count == baseEvents ? "absent" : "present", default: 0] += 1
        }
        XCTAssertGreaterThan(outcomes["absent", default: 0], 0, "no kill landed before the commit: \(outcomes)")
    }

    /// A big first load into an empty ledger is written with a rollback journal (`Ledger.append`).
    /// Killed once SQLite has written some of its pages into the file, it leaves a journal that
    /// must be played back before the file can be read, and a read-only connection cannot.
    /// `verify`, which writes nothing, says so and leaves the file and its journal as they are; a
    /// command that may write (`case list`) rolls the load back first. The ledger is then empty,
    /// in WAL mode, with no journal left, and takes the batch again.
    func testSigkillDuringAFirstLoadLeavesTheLedgerEmptyAndReadable() throws {
        let folder = try TemporaryFolder()
        let batch = folder.path("batch.ndjson")
        // Enough events that the load's pages outgrow its page cache and go to the file early.
        let generated = try CLI.run(["generate", "--cases", "3333", "--seed", "12", "--out", batch])
        XCTAssertEqual(generated.exitCode, 0, generated.stderr)
        let lines = try String(contentsOfFile: batch, encoding: .utf8).split(separator: "\n")
        XCTAssertGreaterThan(lines.count, 90_000)

        for attempt in 0..<2 {
            let db = try makeLedger(folder, name: "first-\(attempt).sqlite")
            let emptySize = try fileSize(db)
            // The input stays open, so the append holds its transaction (and the journal) after
            // the lines it has, until it is killed.
            let process = Process()
            process.executableURL = CLI.binary
            process.arguments = ["append", "--db", db]
            let input = Pipe()
            process.standardInput = input
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            input.fileHandleForWriting.write(Data((lines.dropLast(1_000 * (attempt + 1)).joined(separator: "\n") + "\n").utf8))
            let deadline = Date().addingTimeInterval(120)
            while try fileSize(db) <= emptySize, Date() < deadline { usleep(10_000) }
            XCTAssertTrue(FileManager.default.fileExists(atPath: db + "-journal"), "attempt \(attempt): no rollback journal while the first load ran")
            XCTAssertGreaterThan(try fileSize(db), emptySize, "attempt \(attempt): no page of the load reached the file")
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            try? input.fileHandleForWriting.close()

            let killedSize = try fileSize(db)
            let journal = try fileBytes(db + "-journal")
            let refused = try CLI.run(["verify", "--db", db])
            XCTAssertEqual(refused.exitCode, 1, "attempt \(attempt): \(refused.stdout)")
            XCTAssertTrue(refused.stderr.contains("a load interrupted by a crash left \(db)-journal"), "attempt \(attempt): \(refused.stderr)")
            XCTAssertEqual(try fileSize(db), killedSize, "attempt \(attempt): verify changed the file")
            XCTAssertEqual(try fileBytes(db + "-journal"), journal, "attempt \(attempt): verify changed the journal")

            let list = try CLI.run(["case", "list", "--db", db, "--json"])
            XCTAssertEqual(list.exitCode, 0, "attempt \(attempt): \(list.stderr)")
            XCTAssertEqual(list.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "[]", "attempt \(attempt)")
            let verify = try CLI.run(["verify", "--db", db])
            XCTAssertEqual(verify.exitCode, 0, "attempt \(attempt): \(verify.stderr)")
            XCTAssertTrue(verify.stdout.hasPrefix("ok: 0 events,"), "attempt \(attempt): \(verify.stdout)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: db + "-journal"), "attempt \(attempt): the journal was left")
            XCTAssertEqual(try fileSize(db), emptySize, "attempt \(attempt): the load's pages were left in the file")
            XCTAssertEqual(try CLI.run(["append", "--db", db, batch]).exitCode, 0)
            let whole = try CLI.run(["verify", "--db", db])
            XCTAssertTrue(whole.stdout.hasPrefix("ok: \(lines.count) events,"), "attempt \(attempt): \(whole.stdout)")
        }
    }

    private func fileSize(_ path: String) throws -> Int {
        try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
    }
}
