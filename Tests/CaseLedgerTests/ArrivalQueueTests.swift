@testable import CaseLedgerCore
import Foundation
import XCTest

/// The generator's waiting events beyond the memory they may use: written out in sorted runs to
/// a temporary file and merged back, they come out as they would from memory.
final class ArrivalQueueTests: XCTestCase {
    /// Entries added in chunks of random keys (each chunk's keys later than a moving floor, as a
    /// chunk's arrivals are), taken back up to a rising watermark: the same order as one sort of
    /// them all, through several runs, their texts intact, whatever the buffer boundaries.
    func testSpilledRunsMergeBackInKeyOrder() throws {
        let folder = try TemporaryFolder()
        var random = SeededRandom(seed: 42)
        var queue = ArrivalQueue(memoryBytes: 40_000, folder: folder.url.path)
        var all: [ArrivalQueue.Entry] = []
        var taken: [(Int64, [UInt8])] = []
        var floor: Int64 = 0
        for chunk in 0..<60 {
            var entries: [ArrivalQueue.Entry] = []
            for position in 0..<random.int(1...120) {
                let key = floor + Int64(random.int(0...5_000))
                // Texts of every length up to 150 KiB (past twice a run's read buffer), a few empty.
                let length = position % 97 == 5 ? 150_000 + chunk : random.int(0...300)
                entries.append((key, chunk * 10_000 + position, (0..<length).map { UInt8(truncatingIfNeeded: $0 &+ chunk &* 7 &+ position) }))
            }
            all += entries
            try queue.add(entries)
            floor += 400
            try queue.takeBefore(floor) { text, key in taken.append((key, Array(text))) }
        }
        try queue.takeBefore(.max) { text, key in taken.append((key, Array(text))) }
        XCTAssertGreaterThan(queue.runsWritten, 5, "the test must make the queue spill, many times")
        let expected = all.sorted { ($0.key, $0.order) < ($1.key, $1.order) }
        XCTAssertEqual(taken.count, expected.count)
        XCTAssertTrue(taken.map(\.0) == expected.map(\.key), "keys out of order")
        XCTAssertTrue(taken.map(\.1) == expected.map(\.text), "texts changed on the way")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.url.path), [], "the spill file is removed from its folder at once")
    }

    /// A portfolio generated with a few KiB of memory for what waits is, byte for byte, the one
    /// generated with no limit; and where no spill file can be made, the events wait in memory.
    func testAPortfolioSpilledOrNotIsTheSame() throws {
        let folder = try TemporaryFolder()
        let generator = PortfolioGenerator(cases: 600, seed: 9)
        func text(waitingBytes: Int, folder: String) throws -> [UInt8] {
            var bytes: [UInt8] = []
            var lastKey = Int64.min
            try generator.forEachCanonicalArrival(waitingBytes: waitingBytes, spillFolder: folder) { text, key in
                XCTAssertGreaterThanOrEqual(key, lastKey)
                lastKey = key
                bytes += text
                bytes.append(0x0A)
            }
            return bytes
        }
        let inMemory = try text(waitingBytes: .max, folder: folder.url.path)
        XCTAssertGreaterThan(inMemory.count, 2_000_000)
        XCTAssertTrue(try text(waitingBytes: 50_000, folder: folder.url.path) == inMemory)
        XCTAssertTrue(try text(waitingBytes: 50_000, folder: folder.path("no such folder")) == inMemory)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.url.path), [])
    }
}
