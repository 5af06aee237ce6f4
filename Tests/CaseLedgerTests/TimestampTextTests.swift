import CaseLedgerCore
import Foundation
import XCTest

/// The ledger writes times itself (`recorded_at`, a violation's local time, a generated
/// portfolio's times): checked here against Foundation's ISO 8601 formatter, at instants across
/// the ledger's range of dates and at every kind of offset.
final class TimestampTextTests: XCTestCase {
    /// Instants from 1900 to 2200: the range's ends, leap days, and a seeded spread between.
    private var instants: [Int64] {
        let seconds: [Int64] = [-2_208_988_800, 0, 951_782_400, 1_709_164_799, 7_258_118_399]
        var generator = SeededRandom(seed: 7)
        let spread = (0..<400).map { _ in Int64.random(in: -2_208_988_800...7_258_118_399, using: &generator) }
        return (seconds + spread).flatMap { [$0 * 1_000_000, $0 * 1_000_000 + 123_456, $0 * 1_000_000 + 999_999] }
    }

    func testAnInstantWithAnOffsetReadsAsFoundationWritesIt() throws {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        for offset in [0, 60, -60, 330, 345, -210, 480, 840, -720] {
            formatter.timeZone = TimeZone(secondsFromGMT: offset * 60)
            for micros in instants {
                let text = Timestamp(epochMicros: micros).string(offsetMinutes: offset)
                let seconds = micros >= 0 ? micros / 1_000_000 : (micros - 999_999) / 1_000_000
                XCTAssertEqual(text, formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds))), "\(micros) at \(offset)")
                XCTAssertEqual(Timestamp(rfc3339: text)?.epochMicros, seconds * 1_000_000, text)
            }
        }
    }

    /// A fraction of a second before 1970 rounds down, to the second before and, just before
    /// midnight, to the day before: the ledger's first day is kept to its own.
    func testAFractionBefore1970StaysOnItsOwnSecondAndDay() throws {
        XCTAssertEqual(Timestamp(rfc3339: "1969-12-31T23:59:59.5Z")?.string(offsetMinutes: 0), "1969-12-31T23:59:59Z")
        XCTAssertEqual(Timestamp(rfc3339: "1969-12-31T23:59:59.5+01:00")?.string(offsetMinutes: 60), "1969-12-31T23:59:59+01:00")
        XCTAssertNil(Timestamp.problem(rfc3339: "1900-01-01T00:00:00.5Z"))
        let before = try XCTUnwrap(Timestamp.problem(rfc3339: "1899-12-31T23:59:59.5Z"))
        XCTAssertTrue(before.contains("outside the ledger's range"), before)
    }

    func testTheLedgerClocksTextIsFixedWidthUTCWithMicroseconds() throws {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(secondsFromGMT: 0)
        for micros in instants {
            let text = Timestamp(epochMicros: micros).utcString
            let seconds = micros >= 0 ? micros / 1_000_000 : (micros - 999_999) / 1_000_000
            let fraction = String(format: "%06lld", micros - seconds * 1_000_000)
            let whole = formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
            XCTAssertEqual(text, whole.dropLast() + "." + fraction + "Z")
            XCTAssertEqual(text.utf8.count, 27, text)
            XCTAssertEqual(Timestamp(rfc3339: text)?.epochMicros, micros, text)
        }
    }
}
