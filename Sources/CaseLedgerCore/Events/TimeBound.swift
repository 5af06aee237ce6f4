import Foundation

/// A time a person gives (`--from`, `--to`, `--until`, `--known-at`): an RFC 3339 instant with
/// an offset, or a date alone, which means that day *in each debtor's own time zone*: "until
/// 2024-12-31" keeps a New York evening of 31 December and a Shanghai morning of the same date.
///
/// ```swift
/// TimeBound("2025-01-01")                        // .localDate: the whole of that day, debtor-local
/// TimeBound("2025-01-01T00:00:00+08:00")         // .instant
/// ```
public enum TimeBound: Sendable, Equatable {
    case instant(Timestamp)
    /// Days since 1970-01-01 of a debtor-local date.
    case localDate(Int)

    public init?(_ text: String) {
        if let day = CalendarDate.days(text) {
            self = .localDate(day)
        } else if let time = Timestamp(rfc3339: text) {
            self = .instant(time)
        } else {
            return nil
        }
    }

    /// Why `text` is not a bound, for a person.
    public static func problem(_ text: String, option: String) -> String {
        "\(option) takes an RFC 3339 time with an offset (2024-03-01T00:00:00+08:00) or a date alone (2024-03-01, that day in each debtor's time zone); got \(JSONText.quoted(text))"
    }

    /// True when a moment (its instant, and its day on the debtor's clock) is at or after this bound.
    public func admitsFrom(micros: Int64, localDay: Int) -> Bool {
        switch self {
        case .instant(let time): micros >= time.epochMicros
        case .localDate(let day): localDay >= day
        }
    }

    /// True when a moment is at or before this bound (a date covers its whole day).
    public func admitsUntil(micros: Int64, localDay: Int) -> Bool {
        switch self {
        case .instant(let time): micros <= time.epochMicros
        case .localDate(let day): localDay <= day
        }
    }

    public var json: JSONValue {
        switch self {
        case .instant(let time): .string(time.utcString)
        case .localDate(let day): .string(CalendarDate.string(days: day) + " (debtor-local)")
        }
    }
}

/// Debtor-local days of instants, per time zone, with the zone's offsets looked up once per
/// daylight-saving stretch.
public struct LocalDays: Sendable {
    private var clocks: [String: ZoneClock] = [:]

    public init() {}

    public mutating func day(of micros: Int64, zone: String) -> Int {
        if clocks[zone] == nil { clocks[zone] = ZoneClock(TimeZoneCache.zone(zone) ?? TimeZone(identifier: "UTC")!) }
        let seconds = micros >= 0 ? micros / 1_000_000 : (micros - 999_999) / 1_000_000
        let local = seconds + Int64(clocks[zone]!.offset(at: seconds))
        return Int(local >= 0 ? local / 86_400 : (local - 86_399) / 86_400)
    }
}

/// Times rewritten on a debtor's clock, and said for a person: the one place that does it, for
/// every command, the evidence page, the API and the console.
public enum LocalClock {
    /// An RFC 3339 time rewritten with the debtor's offset at that instant (`zone`: IANA).
    public static func rewrite(_ rfc3339: String, zone: String) -> String {
        guard let time = Timestamp(rfc3339: rfc3339), let timeZone = TimeZoneCache.zone(zone) else { return rfc3339 }
        let offset = timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(time.epochMicros / 1_000_000)))
        return time.string(offsetMinutes: offset / 60)
    }

    /// "Tue 5 Mar 2024 22:30" from a local RFC 3339 time.
    public static func readable(_ local: String) -> String {
        guard let days = CalendarDate.days(String(local.prefix(10))), local.count >= 16 else { return local }
        let (year, month, day) = CalendarDate.civilFromDays(days)
        let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][((days % 7) + 7) % 7]
        let monthName = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][month - 1]
        return "\(weekday) \(day) \(monthName) \(year) \(local.dropFirst(11).prefix(5))"
    }
}
