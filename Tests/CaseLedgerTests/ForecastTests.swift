@testable import CaseLedgerCore
@testable import CaseLedgerStore
import Foundation
import XCTest

/// A big batch's hashes worked out ahead on another thread (`ChainForecaster`): the appender
/// takes a forecast only where it holds, so the log is the one it would have written alone, and
/// `verify` (which works every hash out again from the stored rows) passes.
final class ForecastTests: XCTestCase {
    func testEveryEventOfANewLedgersBatchTakesItsForecast() throws {
        let folder = try TemporaryFolder()
        let lines = try portfolio(cases: 120, in: folder)
        let db = try makeLedger(folder)
        let batch = try appendInProcess(lines, to: db, in: folder)
        XCTAssertEqual(batch.summary.appended, lines.count)
        XCTAssertEqual(batch.forecastsTaken, lines.count)
        XCTAssertEqual(batch.forecastsRefused, 0)
        try assertVerifies(db)
    }

    /// The second half continues the first half's cases: their versions before the batch are
    /// read from the log.
    func testCasesAlreadyInTheLogAreForecastFromTheirStoredVersions() throws {
        let folder = try TemporaryFolder()
        let lines = try portfolio(cases: 200, in: folder)
        let db = try makeLedger(folder)
        let half = lines.count / 2
        XCTAssertGreaterThan(lines.count - half, Ledger.forecastingEvents)
        let first = try appendInProcess(Array(lines[..<half]), to: db, in: folder)
        let second = try appendInProcess(Array(lines[half...]), to: db, in: folder)
        XCTAssertEqual(first.forecastsTaken, half)
        XCTAssertEqual(second.summary.appended, lines.count - half)
        XCTAssertEqual(second.forecastsTaken, lines.count - half)
        XCTAssertEqual(second.forecastsRefused, 0)
        try assertVerifies(db)
    }

    /// Repeats in the middle of a batch take no `seq`: the forecasts after them are wrong, the
    /// first is refused, and the events after it are hashed on the appending thread.
    func testARepeatStopsTheForecastsAndTheLogStillVerifies() throws {
        let folder = try TemporaryFolder()
        let lines = try portfolio(cases: 150, in: folder)
        let db = try makeLedger(folder)
        _ = try appendInProcess(Array(lines[..<1_000]), to: db, in: folder)
        let batch = Array(lines[1_000..<3_500]) + Array(lines[500..<1_000]) + Array(lines[3_500...])
        let second = try appendInProcess(batch, to: db, in: folder)
        XCTAssertEqual(second.summary.duplicates, 500)
        XCTAssertEqual(second.summary.appended, lines.count - 1_000)
        XCTAssertEqual(second.forecastsTaken, 2_500)
        XCTAssertEqual(second.forecastsRefused, 1)
        try assertVerifies(db)
    }

    /// One repeat, and the event after it belongs to another case, whose version the forecast
    /// has right: its `seq` and the hash before it are what the appender refuses it for.
    func testTheEventAfterARepeatIsRefusedForItsPlaceInTheChain() throws {
        let folder = try TemporaryFolder()
        let lines = try portfolio(cases: 150, in: folder)
        let db = try makeLedger(folder)
        _ = try appendInProcess(Array(lines[..<1_000]), to: db, in: folder)
        let next = lines[3_000]
        let repeated = try XCTUnwrap(lines[..<1_000].lastIndex { caseID(of: $0) != caseID(of: next) })
        let batch = Array(lines[1_000..<3_000]) + [lines[repeated]] + Array(lines[3_000...])
        let second = try appendInProcess(batch, to: db, in: folder)
        XCTAssertEqual(second.summary.duplicates, 1)
        XCTAssertEqual(second.forecastsTaken, 2_000)
        XCTAssertEqual(second.forecastsRefused, 1)
        try assertVerifies(db)
    }

    /// A forecast holds only where all four things it assumed are what the appender has.
    func testAForecastHoldsOnlyWhereSeqVersionClockAndPreviousHashAllAgree() {
        let previous = [UInt8](repeating: 7, count: 32)
        let forecast = ChainForecast(seq: 10, version: 3, recordedAt: "2024-03-05T10:00:00.000000Z", previous: previous,
                                     hash: [UInt8](repeating: 8, count: 32), leafHash: [UInt8](repeating: 9, count: 32))
        XCTAssertTrue(forecast.holds(seq: 10, version: 3, recordedAt: "2024-03-05T10:00:00.000000Z", previous: previous))
        XCTAssertFalse(forecast.holds(seq: 11, version: 3, recordedAt: "2024-03-05T10:00:00.000000Z", previous: previous))
        XCTAssertFalse(forecast.holds(seq: 10, version: 4, recordedAt: "2024-03-05T10:00:00.000000Z", previous: previous))
        XCTAssertFalse(forecast.holds(seq: 10, version: 3, recordedAt: "2024-03-05T10:00:00.000001Z", previous: previous))
        XCTAssertFalse(forecast.holds(seq: 10, version: 3, recordedAt: "2024-03-05T10:00:00.000000Z",
                                      previous: [UInt8](repeating: 7, count: 31) + [6]))
    }

    /// The same events with and without forecasts give the same projections; only `recorded_at`
    /// (the clock) and so the hashes differ.
    func testForecastsChangeNothingButWhereTheHashesAreWorkedOut() throws {
        let folder = try TemporaryFolder()
        let lines = try portfolio(cases: 120, in: folder)
        let with = try makeLedger(folder, name: "with.sqlite")
        let without = try makeLedger(folder, name: "without.sqlite")
        let forecast = try appendInProcess(lines, to: with, in: folder)
        let alone = try appendInProcess(lines, to: without, in: folder, forecasting: false)
        XCTAssertEqual(forecast.forecastsTaken, lines.count)
        XCTAssertEqual(alone.forecastsTaken + alone.forecastsRefused, 0)
        for db in [with, without] { try assertVerifies(db) }
        for command in [["case", "list", "--json"], ["compliance", "report", "--json"]] {
            let a = try CLI.run(command + ["--db", with])
            let b = try CLI.run(command + ["--db", without])
            XCTAssertEqual(a.exitCode, 0, a.stderr)
            XCTAssertEqual(a.stdout, b.stdout, command.joined(separator: " "))
        }
    }

    private func caseID(of line: String) -> String? {
        let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        return object?["case_id"] as? String
    }

    private func portfolio(cases: Int, in folder: TemporaryFolder) throws -> [String] {
        let path = folder.path("portfolio-\(cases).ndjson")
        let generated = try CLI.run(["generate", "--cases", "\(cases)", "--seed", "4", "--out", path])
        XCTAssertEqual(generated.exitCode, 0, generated.stderr)
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
        XCTAssertGreaterThan(lines.count, 3_000)
        return lines
    }

    private func assertVerifies(_ db: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let verify = try CLI.run(["verify", "--db", db])
        XCTAssertEqual(verify.exitCode, 0, verify.stdout + verify.stderr, file: file, line: line)
    }
}
