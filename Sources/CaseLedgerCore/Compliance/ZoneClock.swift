import Foundation

/// UTC offsets of one IANA zone, looked up once per stretch between daylight-saving transitions:
/// the offset is constant from one transition to the next, so a run of contacts in time order
/// asks Foundation once or twice, not once per contact. Exact for every zone.
///
/// The stretches found are shared by every clock of the same zone (`ZoneStretches`): the judge
/// makes a clock for each case, and thousands of cases in a few zones each asked Foundation
/// again for the same transitions (about 1,900 instructions a transition, 5 % of the judge's
/// work in a rebuild).
struct ZoneClock: Sendable {
    let zone: TimeZone
    /// The stretch [start, end) (Unix seconds) where `offset` holds.
    private var stretch = ZoneStretches.Stretch(start: 1, end: 0, offset: 0)

    init(_ zone: TimeZone) { self.zone = zone }

    /// Seconds east of UTC at `seconds` (Unix time).
    mutating func offset(at seconds: Int64) -> Int {
        if stretch.holds(seconds) { return stretch.offset }
        if let known = ZoneStretches.shared.stretch(of: zone.identifier, holding: seconds) {
            stretch = known
            return known.offset
        }
        stretch = Self.lookUp(zone, at: seconds)
        ZoneStretches.shared.add(stretch, of: zone.identifier)
        return stretch.offset
    }

    /// Asks Foundation: the offset at `seconds`, from the last transition at or before it (or a
    /// year back) to the next one (or a year on).
    static func lookUp(_ zone: TimeZone, at seconds: Int64) -> ZoneStretches.Stretch {
        let instant = Date(timeIntervalSince1970: TimeInterval(seconds))
        let offset = zone.secondsFromGMT(for: instant)
        var from = Date(timeIntervalSince1970: TimeInterval(seconds - 366 * 86_400))
        while let next = zone.nextDaylightSavingTimeTransition(after: from), next <= instant { from = next }
        var start = Int64(from.timeIntervalSince1970.rounded(.down))
        let end: Int64
        if let next = zone.nextDaylightSavingTimeTransition(after: instant) {
            end = Int64(next.timeIntervalSince1970.rounded(.down))
        } else {
            end = seconds + 366 * 86_400
        }
        if start > seconds { start = seconds }
        return ZoneStretches.Stretch(start: start, end: end, offset: offset)
    }
}

/// The stretches of constant offset found so far, by zone, for every clock in the process.
final class ZoneStretches: @unchecked Sendable {
    struct Stretch: Sendable, Equatable {
        var start: Int64
        var end: Int64
        var offset: Int

        func holds(_ seconds: Int64) -> Bool { seconds >= start && seconds < end }
    }

    static let shared = ZoneStretches()

    /// At most this many stretches a zone (a few hundred years of twice-yearly transitions):
    /// past it, new ones are not kept.
    static let maxStretchesPerZone = 1024

    private let lock = NSLock()
    /// By zone identifier: disjoint stretches in ascending order.
    private var byZone: [String: [Stretch]] = [:]

    func stretch(of zone: String, holding seconds: Int64) -> Stretch? {
        lock.lock()
        defer { lock.unlock() }
        guard let stretches = byZone[zone] else { return nil }
        let index = Self.firstEnding(after: seconds, in: stretches)
        return index < stretches.count && stretches[index].holds(seconds) ? stretches[index] : nil
    }

    /// Keeps `stretch`, joined to those it overlaps or touches with the same offset (their union
    /// keeps that offset throughout). One that overlaps another offset is not kept: it cannot
    /// happen for stretches Foundation gave.
    func add(_ stretch: Stretch, of zone: String) {
        lock.lock()
        defer { lock.unlock() }
        var stretches = byZone.removeValue(forKey: zone) ?? []
        defer { byZone[zone] = stretches }
        // From the first that ends at or after the new one's start to the last that starts at
        // or before its end: those it overlaps or touches.
        var low = Self.firstEnding(after: stretch.start - 1, in: stretches)
        var high = low
        var joined = stretch
        while high < stretches.count, stretches[high].start <= stretch.end {
            let other = stretches[high]
            if other.offset != stretch.offset {
                if other.end > stretch.start && other.start < stretch.end { return }
                if other.end == stretch.start {
                    // The neighbour before, touching it: left as it is.
                    low += 1
                    high += 1
                    continue
                }
                break  // the neighbour after, touching it
            }
            joined.start = min(joined.start, other.start)
            joined.end = max(joined.end, other.end)
            high += 1
        }
        if low == high && stretches.count >= Self.maxStretchesPerZone { return }
        stretches.replaceSubrange(low..<high, with: [joined])
    }

    /// How many stretches a zone has: for tests.
    func count(of zone: String) -> Int {
        lock.lock()
        defer { lock.unlock() }
        return byZone[zone]?.count ?? 0
    }

    /// The position of the first stretch whose end is after `seconds` (binary search: the
    /// stretches are disjoint and in order, so their ends ascend too).
    private static func firstEnding(after seconds: Int64, in stretches: [Stretch]) -> Int {
        var low = 0, high = stretches.count
        while low < high {
            let middle = (low + high) / 2
            if stretches[middle].end > seconds { high = middle } else { low = middle + 1 }
        }
        return low
    }
}
