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
}
