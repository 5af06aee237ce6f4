@testable import CaseLedgerCore
import XCTest

/// The contact rules' counts by day: the same answers as a dictionary by day, whatever order the
/// days come in (a zone that falls back at midnight repeats part of a day), with gaps between them.
final class DayCountsTests: XCTestCase {
    func testCountsAndSevenDayWindowsMatchADictionaryByDay() {
        var random = SeededRandom(seed: 11)
        for _ in 0..<200 {
            var counts = ContactRules.DayCounts()
            var model: [Int: Int] = [:]
            let start = random.int(-25_567...84_370)
            for _ in 0..<random.int(1...60) {
                // Mostly forward, now and then a day or a month back, now and then a long gap.
                let day = start + random.int(-40...400)
                model[day, default: 0] += 1
                XCTAssertEqual(counts.increment(day), model[day])
                let window = (day - 6)...day
                XCTAssertEqual(counts.sum(window), window.reduce(0) { $0 + (model[$1] ?? 0) }, "window ending \(day)")
            }
            let first = model.keys.min()!, last = model.keys.max()!
            XCTAssertEqual(counts.sum((first - 10)...(last + 10)), model.values.reduce(0, +))
            XCTAssertEqual(counts.sum((last + 1)...(last + 7)), 0)
            XCTAssertEqual(counts.sum((first - 7)...(first - 1)), 0)
        }
    }
}
