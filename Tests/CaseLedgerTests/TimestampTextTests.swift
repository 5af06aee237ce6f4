@testable import CaseLedgerCore
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

    /// Every byte value at every position of a few instants: the reader accepts exactly what
    /// RFC 3339's grammar (as the ledger reads it) and the ranges of its fields accept, and reads
    /// the instant Foundation's calendar computes from the same fields.
    func testEveryByteAtEveryPositionIsReadAsTheGrammarSays() throws {
        let grammar = try NSRegularExpression(pattern: #"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:[Zz]|([+-])(\d{2}):(\d{2}))$"#)
        var utc = Calendar(identifier: .gregorian)
        utc.timeZone = TimeZone(identifier: "UTC")!
        func expected(_ text: String) -> Int64? {
            let whole = NSRange(text.startIndex..., in: text)
            guard let match = grammar.firstMatch(in: text, range: whole) else { return nil }
            func field(_ group: Int) -> String? {
                Range(match.range(at: group), in: text).map { String(text[$0]) }
            }
            func number(_ group: Int) -> Int { field(group).flatMap { Int($0) } ?? 0 }
            let (year, month, day, hour, minute, second) = (number(1), number(2), number(3), number(4), number(5), number(6))
            let (offsetHours, offsetMinutes) = (number(9), number(10))
            guard (1...9999).contains(year), (1...12).contains(month), hour <= 23, minute <= 59, second <= 59, offsetHours <= 23, offsetMinutes <= 59,
                let date = utc.date(from: DateComponents(year: year, month: month, day: day, hour: hour, minute: minute, second: second)),
                utc.component(.day, from: date) == day  // no 30 February rolled over into March
            else { return nil }
            let fraction = field(7).map { String($0.dropFirst().prefix(6)).padding(toLength: 6, withPad: "0", startingAt: 0) }
            let offset = (offsetHours * 60 + offsetMinutes) * (field(8) == "-" ? -1 : 1)
            return (Int64(date.timeIntervalSince1970) - Int64(offset * 60)) * 1_000_000 + Int64(fraction.flatMap { Int($0) } ?? 0)
        }
        for instant in ["2024-03-05T10:00:00+08:00", "2024-02-29T23:59:59.123456Z", "1999-12-31t00:00:00.5-05:30", "2023-02-28T00:00:00.1234567z"] {
            XCTAssertNotNil(expected(instant), instant)
            for position in instant.utf8.indices {
                for byte in UInt8(0)...UInt8(0x7F) {
                    var bytes = Array(instant.utf8)
                    bytes[instant.utf8.distance(from: instant.utf8.startIndex, to: position)] = byte
                    let text = String(decoding: bytes, as: UTF8.self)
                    // Foundation's calendar is Julian before 1582; the ledger's is Gregorian throughout.
                    if let year = Int(text.prefix(4)), year < 1600 { continue }
                    XCTAssertEqual(Timestamp(rfc3339: text)?.epochMicros, expected(text), text.debugDescription)
                }
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

    /// A day's text, as findings and generated portfolios write it: every day from 1900 to 2200
    /// as Foundation's calendar names it, and each reads back as the same day.
    func testEveryDayOfTheLedgersRangeIsWrittenAsFoundationWritesIt() throws {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.calendar = Calendar(identifier: .gregorian)
        formatter.timeZone = TimeZone(identifier: "UTC")!
        formatter.dateFormat = "yyyy-MM-dd"
        for day in Limits.earliestDay...Limits.latestDay {
            let text = CalendarDate.string(days: day)
            XCTAssertEqual(text, formatter.string(from: Date(timeIntervalSince1970: TimeInterval(day) * 86_400)), "day \(day)")
            XCTAssertEqual(CalendarDate.days(text), day, text)
        }
        // A year past four digits keeps its own width.
        XCTAssertEqual(CalendarDate.string(days: CalendarDate.daysFromCivil(year: 10_000, month: 1, day: 2)), "10000-01-02")
        XCTAssertEqual(CalendarDate.string(days: CalendarDate.daysFromCivil(year: 9999, month: 12, day: 31)), "9999-12-31")
        XCTAssertEqual(CalendarDate.string(days: CalendarDate.daysFromCivil(year: 0, month: 3, day: 1)), "0000-03-01")
    }

    /// Every minute of a day as a finding names it (`HH:MM`), and the end of a day.
    func testEveryMinuteOfADayIsWrittenAsTwoPairsOfDigits() {
        for minute in 0..<1440 {
            XCTAssertEqual(Rulebook.clock(minute), String(format: "%02d:%02d", minute / 60, minute % 60))
        }
        XCTAssertEqual(Rulebook.clock(1440), "24:00")
    }
}
