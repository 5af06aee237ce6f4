@testable import CaseLedgerCore
import Foundation
import XCTest

/// A case's contacts are judged on the debtor's clock. The offsets a clock finds are kept for
/// every clock of the same zone (`ZoneStretches`): whatever order the instants come in, and
/// however many clocks ask, each offset is the one Foundation gives.
final class ZoneClockTests: XCTestCase {
    func testEveryClockGivesFoundationsOffsetInAnyOrderAcrossTransitions() throws {
        let zones = ["America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Shanghai", "Pacific/Apia",
                     "America/Sao_Paulo", "Asia/Kolkata", "UTC"]
        var random = SeededRandom(seed: 23)
        for identifier in zones {
            let zone = try XCTUnwrap(TimeZone(identifier: identifier))
            // Each transition from 1980 to 2030 and the seconds around it, and instants between.
            var instants: [Int64] = []
            var from = Date(timeIntervalSince1970: 315_532_800)
            while let next = zone.nextDaylightSavingTimeTransition(after: from), next.timeIntervalSince1970 < 1_893_456_000 {
                let at = Int64(next.timeIntervalSince1970)
                instants += [at - 1, at, at + 1]
                from = next
            }
            instants += (0..<300).map { _ in Int64(random.int(315_532_800...1_893_456_000)) }
            instants.shuffle(using: &random)
            var clock = ZoneClock(zone)
            for (n, seconds) in instants.enumerated() {
                if n % 7 == 0 { clock = ZoneClock(zone) }  // a new case: its clock starts empty
                XCTAssertEqual(clock.offset(at: seconds), zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(seconds))),
                               "\(identifier) at \(seconds)")
            }
            XCTAssertGreaterThan(ZoneStretches.shared.count(of: zone.identifier), 0, identifier)
        }
    }

    /// Stretches of one offset that overlap or touch become one; stretches of two offsets stay
    /// apart when they touch, and one that overlaps another offset is not kept.
    func testStretchesJoinOnlyWhereTheyShareAnOffset() {
        typealias Stretch = ZoneStretches.Stretch
        let stretches = ZoneStretches()
        stretches.add(Stretch(start: 100, end: 200, offset: 3600), of: "Z")
        stretches.add(Stretch(start: 200, end: 300, offset: 7200), of: "Z")
        stretches.add(Stretch(start: 0, end: 100, offset: 7200), of: "Z")
        XCTAssertEqual(stretches.count(of: "Z"), 3)
        XCTAssertEqual(stretches.stretch(of: "Z", holding: 99)?.offset, 7200)
        XCTAssertEqual(stretches.stretch(of: "Z", holding: 100)?.offset, 3600)
        XCTAssertEqual(stretches.stretch(of: "Z", holding: 199)?.offset, 3600)
        XCTAssertEqual(stretches.stretch(of: "Z", holding: 200)?.offset, 7200)
        XCTAssertNil(stretches.stretch(of: "Z", holding: 300))
        XCTAssertNil(stretches.stretch(of: "Z", holding: -1))
        XCTAssertNil(stretches.stretch(of: "Y", holding: 150))

        stretches.add(Stretch(start: 150, end: 250, offset: 0), of: "Z")  // overlaps two others: not kept
        XCTAssertEqual(stretches.count(of: "Z"), 3)
        XCTAssertEqual(stretches.stretch(of: "Z", holding: 160)?.offset, 3600)

        stretches.add(Stretch(start: 300, end: 400, offset: 7200), of: "Z")  // touches 200..<300: joined
        stretches.add(Stretch(start: 250, end: 500, offset: 7200), of: "Z")  // overlaps it: joined
        XCTAssertEqual(stretches.count(of: "Z"), 3)
        XCTAssertEqual(stretches.stretch(of: "Z", holding: 499), Stretch(start: 200, end: 500, offset: 7200))
        stretches.add(Stretch(start: 600, end: 700, offset: 7200), of: "Z")  // apart
        stretches.add(Stretch(start: 500, end: 600, offset: 7200), of: "Z")  // fills the gap: three become one
        XCTAssertEqual(stretches.count(of: "Z"), 3)
        XCTAssertEqual(stretches.stretch(of: "Z", holding: 201), Stretch(start: 200, end: 700, offset: 7200))

        // A zone keeps at most so many stretches; one that joins another is still kept.
        for n in 0..<(ZoneStretches.maxStretchesPerZone + 10) {
            stretches.add(Stretch(start: Int64(10 * n), end: Int64(10 * n + 5), offset: n), of: "X")
        }
        XCTAssertEqual(stretches.count(of: "X"), ZoneStretches.maxStretchesPerZone)
        stretches.add(Stretch(start: 3, end: 8, offset: 0), of: "X")
        XCTAssertEqual(stretches.stretch(of: "X", holding: 7), Stretch(start: 0, end: 8, offset: 0))
    }
}
