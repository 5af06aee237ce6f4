import Foundation

/// UTC offsets of one IANA zone, looked up once per stretch between daylight-saving transitions:
/// the offset is constant from one transition to the next, so a run of contacts in time order
/// asks Foundation once or twice, not once per contact. Exact for every zone.
struct ZoneClock: Sendable {
    let zone: TimeZone
    /// The stretch [start, end) (Unix seconds) where `offset` holds.
    private var start: Int64 = 1
    private var end: Int64 = 0
    private var offset = 0

    init(_ zone: TimeZone) { self.zone = zone }

    /// Seconds east of UTC at `seconds` (Unix time).
    mutating func offset(at seconds: Int64) -> Int {
        if seconds >= start, seconds < end { return offset }
        let instant = Date(timeIntervalSince1970: TimeInterval(seconds))
        offset = zone.secondsFromGMT(for: instant)
        let previous = Date(timeIntervalSince1970: TimeInterval(seconds - 366 * 86_400))
        var from = previous
        // The last transition at or before `seconds` (or a year back), and the next one after it.
        while let next = zone.nextDaylightSavingTimeTransition(after: from), next <= instant { from = next }
        start = Int64(from.timeIntervalSince1970.rounded(.down))
        if let next = zone.nextDaylightSavingTimeTransition(after: instant) {
            end = Int64(next.timeIntervalSince1970.rounded(.down))
        } else {
            end = seconds + 366 * 86_400
        }
        if start > seconds { start = seconds }
        return offset
    }
}
