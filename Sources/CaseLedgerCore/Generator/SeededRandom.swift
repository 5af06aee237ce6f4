/// SplitMix64: a small, fast, seeded generator. The same seed gives the same sequence on every
/// machine, so generated portfolios and tests are reproducible; never seeded from the clock.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// An integer in `range`.
    public mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.upperBound - range.lowerBound + 1))
    }

    /// True with probability `p`.
    public mutating func chance(_ p: Double) -> Bool {
        Double(next() >> 11) / Double(1 << 53) < p
    }

    public mutating func pick<T>(_ items: [T]) -> T { items[int(0...(items.count - 1))] }

    /// Picks by weight: `[("a", 3), ("b", 1)]` gives "a" three times as often.
    public mutating func weighted<T>(_ items: [(T, Int)]) -> T {
        var roll = int(0...(items.reduce(0) { $0 + $1.1 } - 1))
        for (item, weight) in items {
            if roll < weight { return item }
            roll -= weight
        }
        return items[items.count - 1].0
    }

    /// A version-4 (random) UUID drawn from this generator.
    public mutating func uuid() -> String {
        var bytes = (0..<2).flatMap { _ in withUnsafeBytes(of: next()) { Array($0) } }
        bytes[6] = (bytes[6] & 0x0F) | 0x40
        return Self.format(bytes)
    }

    /// A version-7 UUID (RFC 9562): 48 bits of Unix milliseconds, then random bits. Time-ordered
    /// ids keep the ledger's event_id index append-mostly.
    public mutating func uuidV7(unixMillis: Int64) -> String {
        var bytes = (0..<2).flatMap { _ in withUnsafeBytes(of: next()) { Array($0) } }
        for i in 0..<6 { bytes[i] = UInt8(truncatingIfNeeded: unixMillis >> (8 * (5 - i))) }
        bytes[6] = (bytes[6] & 0x0F) | 0x70
        return Self.format(bytes)
    }

    static func format(_ bytes: [UInt8]) -> String {
        var bytes = bytes
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        let hex = HashChain.hex(bytes)
        let u = Array(hex)
        return String(u[0..<8]) + "-" + String(u[8..<12]) + "-" + String(u[12..<16]) + "-" + String(u[16..<20]) + "-" + String(u[20..<32])
    }
}
