import CaseLedgerCore
import Foundation
import XCTest

/// The parsing thread and the appending one: every event reaches the consumer once, in line
/// order, whether the producer is still reading or has finished, and an error arrives in its
/// place, after every event before it.
final class SubmissionPipelineTests: XCTestCase {
    /// More lines than wait before the lock (`Limits.prefetchEvents`): the producer blocks on a
    /// full queue while the consumer works.
    func testEveryEventArrivesOnceInLineOrderPastTheQueuesCapacity() throws {
        let (lines, ids) = Self.calls(Limits.prefetchEvents + 3_000)
        var seen: [String] = []
        var numbers: [Int] = []
        try pipeline(lines).run { line, event, _ in
            numbers.append(line)
            seen.append(event.eventID)
        }
        XCTAssertEqual(seen, ids)
        XCTAssertEqual(numbers, Array(1...lines.count))
    }

    func testAFewEventsReadBeforeTheConsumerStartsArriveInOrder() throws {
        let (lines, ids) = Self.calls(700)
        let reader = try pipeline(lines)
        reader.waitUntilReady()  // the producer has read everything before the consumer starts
        var seen: [String] = []
        try reader.run { _, event, _ in seen.append(event.eventID) }
        XCTAssertEqual(seen, ids)
    }

    func testABadLineStopsTheConsumerInItsPlace() throws {
        let (good, ids) = Self.calls(Limits.prefetchEvents + 3_000)
        var lines = good
        let bad = Limits.prefetchEvents + 1_234
        lines[bad - 1] = #"{"event_id":"not json"#
        var seen: [String] = []
        XCTAssertThrowsError(try pipeline(lines).run { _, event, _ in seen.append(event.eventID) }) { error in
            guard case .invalidEvent(let line, _, _) = error as? LedgerError else { return XCTFail("\(error)") }
            XCTAssertEqual(line, bad)
        }
        XCTAssertEqual(seen, Array(ids.prefix(bad - 1)))
    }

    /// With a forecaster, every event still arrives once in line order, each with the forecast
    /// that follows from the one before it: `seq` and the case's `version` one more, chained from
    /// its hash.
    func testForecastsArriveWithTheirEventsChainedInOrder() throws {
        let (lines, ids) = Self.calls(Limits.prefetchEvents + 3_000)
        var asked: [String] = []
        let forecaster = ChainForecaster(seq: 41, previous: HashChain.genesis, recordedAt: "2024-03-05T10:00:00.000000Z") { caseID in
            asked.append(caseID)
            return 6
        }
        var seen: [String] = []
        var forecasts: [ChainForecast] = []
        try pipeline(lines).run(forecasting: forecaster) { _, event, forecast in
            seen.append(event.eventID)
            forecasts.append(try XCTUnwrap(forecast))
        }
        XCTAssertEqual(seen, ids)
        XCTAssertEqual(asked, ["C-1"], "a case's stored version is asked for once")
        XCTAssertEqual(forecasts.map(\.seq), Array(42..<Int64(42 + lines.count)))
        XCTAssertEqual(forecasts.map(\.version), Array(7..<Int64(7 + lines.count)))
        XCTAssertEqual(forecasts.first?.previous, HashChain.genesis)
        for (earlier, later) in zip(forecasts, forecasts.dropFirst()) {
            XCTAssertEqual(later.previous, earlier.hash)
        }
        XCTAssertEqual(Set(forecasts.map(\.hash)).count, lines.count)
        XCTAssertEqual(Set(forecasts.map(\.leafHash)).count, lines.count)
    }

    /// Once the consumer stops the forecasts, the events after come without one, the chunks
    /// already forecast included.
    func testNoForecastReachesTheConsumerAfterItStopsThem() throws {
        let (lines, _) = Self.calls(Limits.prefetchEvents + 3_000)
        let forecaster = ChainForecaster(seq: 0, previous: HashChain.genesis, recordedAt: "2024-03-05T10:00:00.000000Z") { _ in 0 }
        let reader = try pipeline(lines)
        var withForecast = 0
        var count = 0
        try reader.run(forecasting: forecaster) { _, _, forecast in
            count += 1
            if forecast != nil { withForecast += 1 }
            if count == 700 { reader.stopForecasting() }
        }
        XCTAssertEqual(count, lines.count)
        XCTAssertEqual(withForecast, 700)
    }

    /// A case whose stored version cannot be read stops the forecasts there, for every case.
    func testACaseWhoseVersionCannotBeReadEndsTheForecasts() throws {
        let lines = (0..<3_000).map { Events.call(caseID: "C-\($0 % 30)") }
        let forecaster = ChainForecaster(seq: 0, previous: HashChain.genesis, recordedAt: "2024-03-05T10:00:00.000000Z") { caseID in
            caseID == "C-12" ? nil : 3
        }
        let forecasts = try forecasts(of: lines, by: forecaster)
        XCTAssertEqual(forecasts.prefix(12).compactMap { $0?.version }, Array(repeating: 4, count: 12))
        XCTAssertTrue(forecasts.dropFirst(12).allSatisfy { $0 == nil })
    }

    /// The forecasts keep at most so many cases' versions: the next case ends them.
    func testTheForecastsEndAtTheirLimitOfCases() throws {
        let lines = (0..<3_000).map { Events.call(caseID: "C-\($0 % 300)") }
        let forecaster = ChainForecaster(seq: 0, previous: HashChain.genesis, recordedAt: "2024-03-05T10:00:00.000000Z",
                                         caseLimit: 250) { _ in 2 }
        let forecasts = try forecasts(of: lines, by: forecaster)
        XCTAssertEqual(forecasts.prefix(250).compactMap { $0?.version }, Array(repeating: 3, count: 250))
        XCTAssertTrue(forecasts.dropFirst(250).allSatisfy { $0 == nil })
    }

    /// The consumer fails while the producer still waits for input that never ends (a pipe held
    /// open): the failure comes back at once, and the forecasting thread is gone by then.
    func testAFailingConsumerReturnsWhileTheInputIsStillOpen() throws {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        // The writer may still be blocked on the full pipe when the read end closes: it gets
        // EPIPE rather than the signal.
        signal(SIGPIPE, SIG_IGN)
        defer { close(fds[0]); close(fds[1]) }
        let bytes = Array(((0..<5_000).map { _ in Events.call() }.joined(separator: "\n") + "\n").utf8)
        let writeEnd = fds[1]
        let writer = Thread {
            // More than the pipe holds at once; the write end stays open.
            bytes.withUnsafeBytes { buffer in
                var offset = 0
                while offset < buffer.count {
                    let written = write(writeEnd, buffer.baseAddress! + offset, buffer.count - offset)
                    if written <= 0 { return }
                    offset += written
                }
            }
        }
        writer.start()
        // `run` on a thread of its own, so that a hang fails the test rather than stopping the suite.
        final class Consumer: @unchecked Sendable {
            let reader: SubmissionPipeline
            weak var forecaster: ChainForecaster?
            var count = 0
            var error: Error?
            let done = DispatchSemaphore(value: 0)
            init(_ reader: SubmissionPipeline) { self.reader = reader }
        }
        struct Stop: Error {}
        let consumer = Consumer(SubmissionPipeline(fileDescriptor: fds[0]))
        Thread {
            do {
                let forecaster = ChainForecaster(seq: 0, previous: HashChain.genesis, recordedAt: "2024-03-05T10:00:00.000000Z") { _ in 0 }
                consumer.forecaster = forecaster
                try consumer.reader.run(forecasting: forecaster) { _, _, _ in
                    consumer.count += 1
                    if consumer.count == 600 { throw Stop() }
                }
            } catch {
                consumer.error = error
            }
            consumer.done.signal()
        }.start()
        guard consumer.done.wait(timeout: .now() + 30) == .success else {
            return XCTFail("run did not return within 30 s of its consumer's failure")
        }
        XCTAssertTrue(consumer.error is Stop, "\(String(describing: consumer.error))")
        XCTAssertEqual(consumer.count, 600)
        // The thread's closure goes with the thread, a moment after it said it ended.
        let deadline = Date().addingTimeInterval(10)
        while consumer.forecaster != nil && Date() < deadline { usleep(1_000) }
        XCTAssertNil(consumer.forecaster, "the forecasting thread still holds the forecaster")
    }

    /// What a run over `lines` hands the consumer with each event, one for each line.
    private func forecasts(of lines: [String], by forecaster: ChainForecaster) throws -> [ChainForecast?] {
        var forecasts: [ChainForecast?] = []
        try pipeline(lines).run(forecasting: forecaster) { _, _, forecast in forecasts.append(forecast) }
        XCTAssertEqual(forecasts.count, lines.count)
        return forecasts
    }

    /// `count` call lines for one case, and their event ids.
    private static func calls(_ count: Int) -> (lines: [String], ids: [String]) {
        let ids = (0..<count).map { _ in UUID().uuidString.lowercased() }
        return (ids.map { Events.call(id: $0) }, ids)
    }

    /// A pipeline reading `lines` from a file, closed when the test ends (by then the
    /// producer has read to the end, or stopped at the bad line).
    private func pipeline(_ lines: [String]) throws -> SubmissionPipeline {
        let folder = try TemporaryFolder()
        let path = try folder.write("batch.ndjson", lines.joined(separator: "\n") + "\n")
        let descriptor = open(path, O_RDONLY)
        XCTAssertGreaterThanOrEqual(descriptor, 0)
        addTeardownBlock { close(descriptor); _ = folder }
        return SubmissionPipeline(fileDescriptor: descriptor)
    }
}
