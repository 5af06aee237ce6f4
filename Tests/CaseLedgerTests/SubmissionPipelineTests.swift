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
        try pipeline(lines).run { line, event in
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
        try reader.run { _, event in seen.append(event.eventID) }
        XCTAssertEqual(seen, ids)
    }

    func testABadLineStopsTheConsumerInItsPlace() throws {
        let (good, ids) = Self.calls(Limits.prefetchEvents + 3_000)
        var lines = good
        let bad = Limits.prefetchEvents + 1_234
        lines[bad - 1] = #"{"event_id":"not json"#
        var seen: [String] = []
        XCTAssertThrowsError(try pipeline(lines).run { _, event in seen.append(event.eventID) }) { error in
            guard case .invalidEvent(let line, _, _) = error as? LedgerError else { return XCTFail("\(error)") }
            XCTAssertEqual(line, bad)
        }
        XCTAssertEqual(seen, Array(ids.prefix(bad - 1)))
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
